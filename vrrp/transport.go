package vrrp

import (
	"context"
	"net/netip"

	"github.com/vrrpkit/vrrpkit/advert"
)

// Transport carries VRRP packets for every router on one interface and
// address family. advert.Conn implements it on real networks and
// vrrptest's in-memory LAN in tests. A Transport is shared: the routers on
// it are told apart by VRID.
//
// The Node reads a Transport in batches from its one protocol loop: a
// goroutine of the Node only waits (WaitReceive), and the loop reads what
// waits (ReceiveBatch) without blocking. A wrapper (a packet log, a
// filter) implements the same methods and keeps that path.
type Transport interface {
	// SendBatch transmits ps in order (a packet's Src zero means
	// LocalAddr). It returns how many went out before the first that did
	// not, and why ps[n] did not (nil when all went out); the Node then
	// goes on with ps[n+1:]. It must not block: it is called from the
	// protocol loop, with every advert one step of it sends on the
	// transport. SendEach builds it from a one-packet send.
	SendBatch(ps []advert.Packet) (n int, err error)
	// WaitReceive blocks until packets may be waiting for ReceiveBatch and
	// returns nil. It wakes once: packets that arrive after it returned
	// wake nobody until it is called again, so that a reader working
	// through a burst is not woken for every packet. It may return when
	// the packets it woke for were read already. It returns an error once
	// the transport is closed or failed.
	WaitReceive() error
	// ReceiveBatch reads the packets waiting, without blocking: it fills
	// ps[:n], pointing their slices into bufs (one buffer per packet), and
	// n is 0 when none waits. Packets this host sent itself are never
	// returned. An error means the transport failed: the Node faults its
	// routers, closes it and opens a new one. Packets read before an error
	// are returned with it.
	ReceiveBatch(ps []advert.Packet, bufs [][]byte) (n int, err error)
	// LocalAddr is the address adverts go out from when a router has no
	// unicast source configured: the interface's primary IPv4 address, or
	// its IPv6 link-local address. Zero means there is none (the router
	// stays in Fault until there is).
	LocalAddr() netip.Addr
	// Link reports whether the interface is up and running, and a channel
	// that is closed at the next change of link state or of LocalAddr. The
	// Node puts the routers on the interface in Fault while the link is
	// not up (keepalived tracks an instance's own interface the same way)
	// and reads LocalAddr again whenever the channel closes. A transport
	// that cannot watch its interface returns true and a nil channel: the
	// Node then asks LocalAddr again every second.
	Link() (up bool, changed <-chan struct{})
	Close() error
}

// Endpoint names what a Transport is opened for.
type Endpoint struct {
	Interface string     // interface name, e.g. "eth0"
	IPv6      bool       // address family
	Group     netip.Addr // multicast group to join; zero means advert.GroupIPv4 / GroupIPv6
	AH        bool       // also receive and send IP protocol 51 (IPsec AH, IPv4 only)
}

// Network opens transports. NewSocketNetwork returns the real one (raw
// sockets, advert.Conn); vrrptest.LAN's hosts hand out in-memory ones.
type Network interface {
	Open(ctx context.Context, ep Endpoint) (Transport, error)
}

// SendEach is SendBatch for a transport that sends one packet at a time.
func SendEach(ps []advert.Packet, send func(p *advert.Packet) error) (int, error) {
	for i := range ps {
		if err := send(&ps[i]); err != nil {
			return i, err
		}
	}
	return len(ps), nil
}
