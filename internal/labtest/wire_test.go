package labtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// IP protocol numbers.
const (
	protoAH     = 51
	protoICMPv6 = 58
	ahLen       = 24 // keepalived's AH header: 12 bytes + 96-bit ICV
)

// wireAdvert is a VRRP advertisement seen on the bridge.
type wireAdvert struct {
	Time     time.Time
	EthSrc   net.HardwareAddr
	EthDst   net.HardwareAddr
	IP       pcapfile.IPPacket
	AH       []byte // IPv4 with IPsec AH: the AH header
	Msg      []byte // the VRRP message
	Priority uint8  // read without decoding, for finding frames
	VRID     uint8
}

// parseAdvert recognises a VRRP advert (plain or inside AH) in a frame.
// It reads only what it needs to find the frame; checkAdvert validates.
func parseAdvert(f netlab.Frame) (wireAdvert, bool) {
	if len(f.Data) < 14 {
		return wireAdvert{}, false
	}
	ip, err := pcapfile.Frame{Time: f.Time, Data: f.Data}.IP()
	if err != nil {
		return wireAdvert{}, false
	}
	w := wireAdvert{Time: f.Time, EthDst: f.Data[0:6], EthSrc: f.Data[6:12], IP: ip}
	switch ip.Protocol {
	case advert.ProtocolNumber:
		w.Msg = ip.Payload
	case protoAH:
		if !ip.Src.Is4() || len(ip.Payload) < ahLen || ip.Payload[0] != advert.ProtocolNumber {
			return wireAdvert{}, false
		}
		w.AH, w.Msg = ip.Payload[:ahLen], ip.Payload[ahLen:]
	default:
		return wireAdvert{}, false
	}
	if len(w.Msg) < 4 {
		return wireAdvert{}, false
	}
	w.VRID, w.Priority = w.Msg[1], w.Msg[2]
	return w, true
}

// announcement is a gratuitous ARP or an unsolicited neighbor
// advertisement seen on the bridge.
type announcement struct {
	Time   time.Time
	EthSrc net.HardwareAddr
	Addr   netip.Addr
	Frame  []byte
}

// parseAnnouncement recognises a gratuitous ARP (an ARP request whose
// sender and target protocol addresses are equal) or a neighbor
// advertisement with the Solicited flag clear (RFC 4861 §4.4: an
// unsolicited one; the kernel's answers to the hosts' own neighbor
// solicitations, in unicast mode, have it set). announcementFields
// validates.
func parseAnnouncement(f netlab.Frame) (announcement, bool) {
	d := f.Data
	if len(d) < 14 {
		return announcement{}, false
	}
	a := announcement{Time: f.Time, EthSrc: d[6:12], Frame: d}
	switch binary.BigEndian.Uint16(d[12:14]) {
	case pcapfile.EtherTypeARP:
		if len(d) < 42 || binary.BigEndian.Uint16(d[20:22]) != 1 {
			return announcement{}, false
		}
		spa, tpa := netip.AddrFrom4([4]byte(d[28:32])), netip.AddrFrom4([4]byte(d[38:42]))
		if spa != tpa {
			return announcement{}, false
		}
		a.Addr = spa
		return a, true
	case pcapfile.EtherTypeIPv6:
		ip, err := pcapfile.Frame{Data: d}.IP()
		if err != nil || ip.Protocol != protoICMPv6 || len(ip.Payload) < 24 || ip.Payload[0] != 136 || ip.Payload[4]&0x40 != 0 {
			return announcement{}, false
		}
		a.Addr = netip.AddrFrom16([16]byte(ip.Payload[8:24]))
		return a, true
	}
	return announcement{}, false
}

// wire is what a capture holds, sorted out.
type wire struct {
	frames   []netlab.Frame
	adverts  []wireAdvert
	announce []announcement
}

func readWire(c *netlab.Capture) *wire {
	w := &wire{frames: c.Frames()}
	for _, f := range w.frames {
		if a, ok := parseAdvert(f); ok {
			w.adverts = append(w.adverts, a)
		} else if n, ok := parseAnnouncement(f); ok {
			w.announce = append(w.announce, n)
		}
	}
	return w
}

// lastAdvert returns the last advert from mac before t (zero t: any).
func (w *wire) lastAdvert(mac net.HardwareAddr, before time.Time) (wireAdvert, bool) {
	for i := len(w.adverts) - 1; i >= 0; i-- {
		a := w.adverts[i]
		if bytes.Equal(a.EthSrc, mac) && (before.IsZero() || a.Time.Before(before)) {
			return a, true
		}
	}
	return wireAdvert{}, false
}

// firstAdvert returns the first advert from mac at or after t that match
// accepts.
func (w *wire) firstAdvert(mac net.HardwareAddr, after time.Time, match func(wireAdvert) bool) (wireAdvert, bool) {
	for _, a := range w.adverts {
		if bytes.Equal(a.EthSrc, mac) && !a.Time.Before(after) && (match == nil || match(a)) {
			return a, true
		}
	}
	return wireAdvert{}, false
}

// announcements returns the announcements from mac in [from, to) (zero to:
// no end).
func (w *wire) announcements(mac net.HardwareAddr, from, to time.Time) []announcement {
	var out []announcement
	for _, a := range w.announce {
		if bytes.Equal(a.EthSrc, mac) && !a.Time.Before(from) && (to.IsZero() || a.Time.Before(to)) {
			out = append(out, a)
		}
	}
	return out
}

// isAdvertFrom matches a captured advert from mac with a priority other
// than 0 (or 0 exactly, with zero set).
func isAdvertFrom(mac net.HardwareAddr, zero bool) func(netlab.Frame) bool {
	return func(f netlab.Frame) bool {
		a, ok := parseAdvert(f)
		return ok && bytes.Equal(a.EthSrc, mac) && (a.Priority == 0) == zero
	}
}

// ipv4HeaderOK verifies an IPv4 header checksum.
func ipv4HeaderOK(h []byte) bool {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

// icmpv6ChecksumOK verifies an ICMPv6 checksum over the IPv6 pseudo-header
// (RFC 4443 §2.3).
func icmpv6ChecksumOK(src, dst netip.Addr, msg []byte) bool {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i < len(b); i += 2 {
			if i+1 < len(b) {
				sum += uint32(binary.BigEndian.Uint16(b[i:]))
			} else {
				sum += uint32(b[i]) << 8
			}
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	sum += uint32(len(msg))
	sum += protoICMPv6
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

func (a wireAdvert) String() string {
	return fmt.Sprintf("%s %v→%v prio %d", a.Time.Format("15:04:05.000000"), a.IP.Src, a.IP.Dst, a.Priority)
}
