package advert

import (
	"errors"
	"net/netip"
	"os"
)

// Config names what a Conn is opened for.
type Config struct {
	// Interface is the name of the interface adverts are sent and received
	// on (keepalived's "interface"). Required.
	Interface string
	// IPv6 selects the address family: false for IPv4 (IP protocol 112,
	// RFC 5798 §5.1.1), true for IPv6 (next header 112, §5.1.2).
	IPv6 bool
	// Group is the multicast group joined on Interface and sent to when a
	// packet names no destination. Zero means GroupIPv4 (224.0.0.18) or
	// GroupIPv6 (ff02::12) (RFC 5798 §5.1.1.2, §5.1.2.2; keepalived's
	// vrrp_mcast_group4 / vrrp_mcast_group6).
	Group netip.Addr
	// AH also receives IP protocol 51 (IPsec AH, keepalived's
	// "auth_type AH"; VRRPv2 over IPv4 only). Sending AH needs no option:
	// a Packet with a Sealer is sent as AH.
	AH bool
	// Netns is the network namespace to open the sockets in; nil means the
	// calling thread's. Listen opens there from any goroutine.
	Netns *os.File
}

// Stats counts what a Conn did. Packets dropped here never reach Receive's
// caller; everything else is returned, valid or not, for the protocol to
// judge and count.
type Stats struct {
	Received uint64 // packets returned by Receive
	Sent     uint64 // packets sent (one per destination)
	// Truncated counts packets longer than the buffer given to Receive.
	Truncated uint64
	// Malformed counts packets whose IP or AH framing could not be read:
	// an IPv4 header or AH header cut short, or AH whose next header is
	// not VRRP.
	Malformed uint64
	// OtherInterface counts packets that arrived on another interface
	// (the kernel's device binding should make it stay zero).
	OtherInterface uint64
}

// ErrInterfaceGone is returned by Receive once the Conn's interface has
// been deleted or renamed, and by Listen when no interface has the name.
// An interface may come back under the name with a new index: a new Conn
// (Listen) binds to it.
var ErrInterfaceGone = errors.New("advert: interface deleted")
