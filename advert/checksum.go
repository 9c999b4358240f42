package advert

import (
	"encoding/binary"
	"net/netip"
)

// The Internet checksum (RFC 1071) of VRRP: v2 over the message alone
// (RFC 3768 §5.3.8); v3 over the message and the IPv4 or IPv6 pseudo-header
// (RFC 5798 §5.2.8, the pseudo-headers of RFC 768 and RFC 8200 §8.1).

// csumAdd adds b to the running one's-complement sum acc as big-endian
// 16-bit words, a trailing odd byte padded with zero. Adding 32-bit words
// into 64 bits and folding later gives the same sum (RFC 1071 §2(B)).
func csumAdd(acc uint64, b []byte) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// csumFinish folds the sum to 16 bits and complements it: the value that
// goes into the checksum field.
func csumFinish(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// csumEqual compares checksums in one's-complement arithmetic, where 0x0000
// and 0xffff are both zero: incremental updates (RFC 1624), which keepalived
// uses when it changes the priority, may produce either.
func csumEqual(got, want uint16) bool {
	return got == want || got|want == 0xffff && (got == 0 || want == 0)
}

// pseudoHeaderSum is the sum of the pseudo-header of a VRRP message of
// length n from src to dst. src and dst are of one family (checked by the
// callers).
func pseudoHeaderSum(src, dst netip.Addr, n int) uint64 {
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		// src, dst, zero, protocol, length
		return uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:])) +
			ProtocolNumber + uint64(n)
	}
	s, d := src.As16(), dst.As16()
	// src, dst, 32-bit length, 3 zero bytes, next header
	return sum16(&s) + sum16(&d) + uint64(n) + ProtocolNumber
}

// messageSum is the sum of message b with its checksum field left out.
func messageSum(b []byte) uint64 {
	return csumAdd(csumAdd(0, b[:6]), b[8:])
}

// sum16 adds the 16 bytes of an IPv6 address as four 32-bit words.
func sum16(a *[16]byte) uint64 {
	return uint64(binary.BigEndian.Uint32(a[0:])) + uint64(binary.BigEndian.Uint32(a[4:])) +
		uint64(binary.BigEndian.Uint32(a[8:])) + uint64(binary.BigEndian.Uint32(a[12:]))
}
