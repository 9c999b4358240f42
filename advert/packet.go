package advert

import (
	"net/netip"
	"time"
)

// Packet is a VRRP message with the IP-level facts around it: what a
// transport sends and receives. The message is kept in wire form so that
// authentication can be checked before it is decoded.
type Packet struct {
	Src      netip.Addr // IP source address
	Dst      netip.Addr // IP destination: a multicast group or a unicast address
	HopLimit uint8      // receive: IPv4 TTL or IPv6 hop limit as received; send: always 255
	Ifindex  int        // receive: index of the interface it arrived on
	// Msg is the IP payload: the VRRP message (see Advert), followed, when
	// keepalived 2.4's auth_hmac signs it, by its trailer (see
	// SplitTrailer, DecodePayload).
	Msg []byte
	// Age, on receive, is how long before Receive returned the kernel
	// received the packet (its SO_TIMESTAMPNS stamp): the time it waited
	// in the socket while the reader was busy. The receiver's clock may
	// differ from the wall clock the kernel stamps with, so it is given as
	// a duration: arrival is the receiver's now minus Age. Zero when the
	// transport does not know.
	Age time.Duration

	// IPv4 with IPsec AH (IP protocol 51) only.

	// IPHeader, on receive, is the IPv4 header as received; the AH ICV covers it.
	IPHeader []byte
	// AH, on receive, is the 24-byte AH header that preceded Msg.
	AH []byte
	// Sealer, on send, wraps Msg in an AH header it seals; nil sends plain
	// VRRP (protocol 112).
	Sealer AHSealer
	// Seq, on send with a Sealer, is the AH sequence number. One advert sent
	// to several unicast peers carries the same number, as keepalived does.
	Seq uint32
}

// AHSealer computes the IPsec AH header of an outgoing IPv4 packet. The
// socket calls it with the 24-byte AH header to fill (next header, length,
// SPI, seq set by the sealer, ICV last), the IPv4 header exactly as it will
// be sent, and the VRRP message. auth.AH implements it.
type AHSealer interface {
	SealAH(ah, ipHeader, msg []byte, seq uint32) error
}
