package pcapfile

import (
	"encoding/binary"
	"errors"
	"fmt"
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
