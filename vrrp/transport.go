package vrrp

import (
	"context"
	"net/netip"

	"github.com/vrrpkit/vrrpkit/advert"
)

// Transport carries VRRP packets for every router on one interface and
// address family. advert's sockets implement it on real networks and
// vrrptest's in-memory LAN in tests. A Transport is shared: the routers on
// it are told apart by VRID.
type Transport interface {
	// Send transmits one packet. p.Src zero means LocalAddr. Send must not
	// block for long; it may be called from the event loop.
	Send(p *advert.Packet) error
	// Receive blocks until a packet arrives and fills p, pointing its slices
	// into buf. It returns an error once the transport is closed, or when
	// the socket fails (the caller then faults its routers and reopens).
	// Packets this host sent itself are never returned.
	Receive(p *advert.Packet, buf []byte) error
	// LocalAddr is the address adverts go out from when a router has no
	// unicast source configured: the interface's primary IPv4 address, or
	// its IPv6 link-local address. Zero means there is none (the router
	// stays in Fault until there is).
	LocalAddr() netip.Addr
	Close() error
}

// Endpoint names what a Transport is opened for.
type Endpoint struct {
	Interface string     // interface name, e.g. "eth0"
	IPv6      bool       // address family
	Group     netip.Addr // multicast group to join; zero means advert.GroupIPv4 / GroupIPv6
	AH        bool       // also receive and send IP protocol 51 (IPsec AH, IPv4 only)
}

// Network opens transports. advert provides the Linux one; vrrptest.LAN
// hands out in-memory ones.
type Network interface {
	Open(ctx context.Context, ep Endpoint) (Transport, error)
}

// LinkMonitor is implemented by transports that watch their interface's
// link and addresses. The loop puts the routers on the interface in Fault
// while the link is not up and running (keepalived tracks an instance's own
// interface the same way), and reads LocalAddr again whenever the channel
// closes: a router in Fault for want of a source address leaves it as soon
// as one appears. Transports without it have LocalAddr polled every second
// while a router has none.
type LinkMonitor interface {
	// Link reports whether the interface is up and running, and a channel
	// that is closed at the next change of link state or local address
	// (LocalAddr's result).
	Link() (up bool, changed <-chan struct{})
}
