package vrrp

import (
	"context"
	"fmt"
	"os"

	"github.com/vrrpkit/vrrpkit/advert"
)

// The real transports are advert's raw sockets; advert does not import
// vrrp, so these assertions keep the two in step.
var (
	_ Transport = (*advert.Conn)(nil)
	_ Network   = (*SocketNetwork)(nil)
)

// SocketNetwork opens real transports: raw VRRP sockets (advert.Conn) in
// one network namespace, with their interface's link state and source
// address kept current from rtnetlink.
//
// The zero value opens in the namespace of the calling thread at each
// Open. NewSocketNetwork instead remembers the namespace it is called in,
// so that Open — also a later one that replaces a failed transport — lands
// there from any goroutine.
//
// A Node replaces a transport that failed by closing it and opening a new
// one, which binds to the interface now carrying the configured name.
type SocketNetwork struct {
	ns *os.File // nil: the calling thread's namespace
}

// NewSocketNetwork returns a SocketNetwork that opens its transports in
// the network namespace of the calling thread. Close releases the handle.
func NewSocketNetwork() (*SocketNetwork, error) {
	ns, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("vrrp: socket network: open network namespace: %w", err)
	}
	return &SocketNetwork{ns: ns}, nil
}

// Open opens the sockets for ep: IP protocol 112 (and 51 with ep.AH) on
// ep.Interface, joined to ep.Group (zero: 224.0.0.18 or ff02::12).
func (n *SocketNetwork) Open(ctx context.Context, ep Endpoint) (Transport, error) {
	c, err := advert.Listen(ctx, advert.Config{
		Interface: ep.Interface,
		IPv6:      ep.IPv6,
		Group:     ep.Group,
		AH:        ep.AH,
		Netns:     n.ns,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Close releases the namespace handle; open transports are not affected.
func (n *SocketNetwork) Close() error {
	if n.ns == nil {
		return nil
	}
	return n.ns.Close()
}
