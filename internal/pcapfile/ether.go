package pcapfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// EtherTypes of the payloads tests look at.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd
)

// ErrShortFrame means a frame is too short for the header being parsed.
var ErrShortFrame = errors.New("pcapfile: frame too short")

// Ether splits an Ethernet II frame into its EtherType and payload,
// skipping 802.1Q / 802.1ad VLAN tags. The payload may carry Ethernet
// padding: trim it with the IP header's length.
func (f Frame) Ether() (etherType uint16, payload []byte, err error) {
	b := f.Data
	if len(b) < 14 {
		return 0, nil, fmt.Errorf("%w: %d bytes, Ethernet header needs 14", ErrShortFrame, len(b))
	}
	off := 12
	et := binary.BigEndian.Uint16(b[off:])
	for et == 0x8100 || et == 0x88a8 {
		off += 4
		if len(b) < off+2 {
			return 0, nil, fmt.Errorf("%w: %d bytes inside a VLAN tag", ErrShortFrame, len(b))
		}
		et = binary.BigEndian.Uint16(b[off:])
	}
	return et, b[off+2:], nil
}

// IPPacket is the IP packet an Ethernet frame carries.
type IPPacket struct {
	Src, Dst netip.Addr
	Protocol uint8  // IPv4 protocol, or the IPv6 next header (extension headers are not followed)
	TTL      uint8  // IPv4 TTL or IPv6 hop limit
	Header   []byte // the IP header, options included
	Payload  []byte // what follows the header, Ethernet padding removed
}

// ErrNotIP means the frame carries neither IPv4 nor IPv6.
var ErrNotIP = errors.New("pcapfile: not an IP packet")

// IP parses the IPv4 or IPv6 packet in the frame. The slices point into
// f.Data.
func (f Frame) IP() (IPPacket, error) {
	et, b, err := f.Ether()
	if err != nil {
		return IPPacket{}, err
	}
	switch et {
	case EtherTypeIPv4:
		if len(b) < 20 || b[0]>>4 != 4 {
			return IPPacket{}, fmt.Errorf("%w: IPv4 header of %d bytes", ErrShortFrame, len(b))
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:4]))
		if ihl < 20 || total < ihl || total > len(b) {
			return IPPacket{}, fmt.Errorf("%w: IPv4 header length %d, total length %d, %d bytes captured", ErrShortFrame, ihl, total, len(b))
		}
		return IPPacket{
			Src:      netip.AddrFrom4([4]byte(b[12:16])),
			Dst:      netip.AddrFrom4([4]byte(b[16:20])),
			Protocol: b[9],
			TTL:      b[8],
			Header:   b[:ihl],
			Payload:  b[ihl:total],
		}, nil
	case EtherTypeIPv6:
		if len(b) < 40 || b[0]>>4 != 6 {
			return IPPacket{}, fmt.Errorf("%w: IPv6 header of %d bytes", ErrShortFrame, len(b))
		}
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		if 40+plen > len(b) {
			return IPPacket{}, fmt.Errorf("%w: IPv6 payload length %d, %d bytes captured", ErrShortFrame, plen, len(b)-40)
		}
		return IPPacket{
			Src:      netip.AddrFrom16([16]byte(b[8:24])),
			Dst:      netip.AddrFrom16([16]byte(b[24:40])),
			Protocol: b[6],
			TTL:      b[7],
			Header:   b[:40],
			Payload:  b[40 : 40+plen],
		}, nil
	}
	return IPPacket{}, fmt.Errorf("%w: EtherType %#04x", ErrNotIP, et)
}
