package advert

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

const (
	codecEncode = "encode"
	codecDecode = "decode"
)

// v3IntervalUnit is the unit of the VRRPv3 interval field.
const v3IntervalUnit = 10 * time.Millisecond

// Append appends the wire form of a to b, with the checksum computed for a
// message carried from src to dst in mode. src and dst are the IP source
// and destination: they give the address family and, for VRRPv3, the
// pseudo-header. It allocates nothing when b has room.
//
// It rejects what a receiver would reject, and what cannot be encoded
// exactly: a v2 interval that is not a whole number of seconds in 1 s..255 s,
// a v3 interval that is not a whole number of centiseconds in
// 10 ms..40.95 s, more than 255 addresses, addresses not of the family of
// src and dst, VRRPv2 over IPv6, authentication fields on a VRRPv3 advert,
// ChecksumEither, and ChecksumNoPseudoHeader over IPv6. A zero Type means
// TypeAdvertisement, the only type there is. IPv6 zones are not sent.
func (a *Advert) Append(b []byte, src, dst netip.Addr, mode ChecksumMode) ([]byte, error) {
	ipv6, err := ipFamilyOf(codecEncode, src, dst)
	if err != nil {
		return b, err
	}
	if mode >= ChecksumEither {
		return b, newWireError(codecEncode, ErrChecksumMode, "checksum mode %v can only be used to decode", mode)
	}
	return a.appendMsg(b, ipv6, mode, src, dst, true)
}

// Decode parses the VRRP message b (the IP payload after any AH header),
// carried from src to dst, into a. It reuses a.Addrs' capacity, so that a
// steady-state receive loop allocates nothing. It verifies the checksum in
// mode and returns the mode that matched: with ChecksumEither, a VRRPv3
// message over IPv4 is accepted with or without the pseudo-header, and the
// result says which; over IPv6 and for VRRPv2 the result is ChecksumStandard.
//
// Every field is validated (RFC 5798 §7.1, RFC 3768 §7.1): version 2 or 3
// (2 only over IPv4), type advertisement, VRID 1..255, interval not zero,
// v2 auth type 0..2, the length exactly what the address count requires,
// then the checksum. The v3 reserved bits are ignored (RFC 5798 §5.2.6).
// On error a is left unchanged; the error wraps one of the sentinels
// (ErrTruncated, ErrVersion, ...) and names the field and its value.
// Decode does not check the IP TTL / hop limit, the VRID against a
// configured one, or the password: those are the caller's.
func (a *Advert) Decode(b []byte, src, dst netip.Addr, mode ChecksumMode) (ChecksumMode, error) {
	ipv6, err := ipFamilyOf(codecDecode, src, dst)
	if err != nil {
		return mode, err
	}
	switch {
	case mode > ChecksumEither:
		return mode, newWireError(codecDecode, ErrChecksumMode, "unknown checksum mode %d", uint8(mode))
	case mode == ChecksumNoPseudoHeader && ipv6:
		return mode, newWireError(codecDecode, ErrChecksumMode, "checksum mode %v is IPv4 only; %v → %v is IPv6", mode, src, dst)
	}
	h, err := parseMsgHeader(codecDecode, b, ipv6)
	if err != nil {
		return mode, err
	}
	matched, err := verifyMsgChecksum(b, h.version, ipv6, src, dst, mode)
	if err != nil {
		return mode, err
	}
	a.fill(b, h)
	return matched, nil
}

// AppendBinary appends the wire form of a to b without knowing the IP
// addresses it will travel between. The family is that of the addresses
// (IPv4 when there are none). A VRRPv2 message gets its complete checksum,
// which never involves the IP addresses; a VRRPv3 message gets a zero
// checksum field, because its checksum covers the IP pseudo-header: use
// Append to produce a VRRPv3 message that can be sent. Validation is as in
// Append.
func (a *Advert) AppendBinary(b []byte) ([]byte, error) {
	ipv6 := len(a.Addrs) > 0 && a.Addrs[0].Is6()
	return a.appendMsg(b, ipv6, ChecksumStandard, netip.Addr{}, netip.Addr{}, false)
}

// MarshalBinary returns the wire form of a as AppendBinary does: the
// checksum of a VRRPv3 message is left zero.
func (a *Advert) MarshalBinary() ([]byte, error) {
	n := HeaderLen + len(a.Addrs)*16 + AuthDataLen
	return a.AppendBinary(make([]byte, 0, n))
}

// UnmarshalBinary decodes the VRRP message b without knowing the IP
// addresses it travelled between, reusing a.Addrs' capacity. The family is
// inferred from the length: a VRRPv3 message whose length fits its count of
// 16-byte addresses is IPv6, anything else IPv4 (VRRPv2 is IPv4 only). The
// checksum of a VRRPv2 message is verified; that of a VRRPv3 message is not,
// because it covers the IP pseudo-header: use Decode on received packets.
// All other validation is as in Decode.
func (a *Advert) UnmarshalBinary(b []byte) error {
	ipv6 := false
	if len(b) >= HeaderLen && b[0]>>4 == 3 && b[3] > 0 && len(b) == HeaderLen+int(b[3])*16 {
		ipv6 = true
	}
	h, err := parseMsgHeader(codecDecode, b, ipv6)
	if err != nil {
		return err
	}
	if h.version == 2 {
		if _, err := verifyMsgChecksum(b, 2, false, netip.Addr{}, netip.Addr{}, ChecksumStandard); err != nil {
			return err
		}
	}
	a.fill(b, h)
	return nil
}

// msgHeader is the validated fixed part of a message.
type msgHeader struct {
	version  uint8
	count    int
	addrLen  int
	interval time.Duration
}

// parseMsgHeader validates everything but the checksum.
func parseMsgHeader(op string, b []byte, ipv6 bool) (msgHeader, error) {
	if len(b) < HeaderLen {
		return msgHeader{}, newWireError(op, ErrTruncated, "%d bytes, the header needs %d", len(b), HeaderLen)
	}
	h := msgHeader{version: b[0] >> 4, count: int(b[3]), addrLen: 4}
	if ipv6 {
		h.addrLen = 16
	}
	switch {
	case h.version != 2 && h.version != 3:
		return msgHeader{}, newWireError(op, ErrVersion, "version %d, want 2 or 3", h.version)
	case h.version == 2 && ipv6:
		return msgHeader{}, newWireError(op, ErrVersion, "version 2 over IPv6 (VRRPv2 is IPv4 only)")
	}
	if t := b[0] & 0x0f; t != TypeAdvertisement {
		return msgHeader{}, newWireError(op, ErrType, "type %d, want %d (advertisement)", t, TypeAdvertisement)
	}
	if b[1] == 0 {
		return msgHeader{}, newWireError(op, ErrVRID, "VRID 0, want 1..255")
	}
	want := HeaderLen + h.count*h.addrLen
	if h.version == 2 {
		want += AuthDataLen
	}
	if len(b) != want {
		fam := ipFamilyName(ipv6)
		if len(b) < want {
			return msgHeader{}, newWireError2(op, ErrTruncated, ErrAddrCount,
				"%d bytes, count %d of %s addresses needs %d", len(b), h.count, fam, want)
		}
		return msgHeader{}, newWireError(op, ErrAddrCount,
			"%d bytes, count %d of %s addresses needs %d", len(b), h.count, fam, want)
	}
	if h.version == 2 {
		if at := AuthType(b[4]); at > AuthAH {
			return msgHeader{}, newWireError(op, ErrAuthType, "VRRPv2 auth type %d, want 0..2", b[4])
		}
		if b[5] == 0 {
			return msgHeader{}, newWireError(op, ErrInterval, "VRRPv2 interval 0 s, want 1..255")
		}
		h.interval = time.Duration(b[5]) * time.Second
	} else {
		cs := binary.BigEndian.Uint16(b[4:6]) & 0x0fff
		if cs == 0 {
			return msgHeader{}, newWireError(op, ErrInterval, "VRRPv3 interval 0 cs, want 1..4095")
		}
		h.interval = time.Duration(cs) * v3IntervalUnit
	}
	return h, nil
}

// verifyMsgChecksum checks the checksum of b, a message whose header has been
// validated, in mode, and returns the mode that matched.
func verifyMsgChecksum(b []byte, version uint8, ipv6 bool, src, dst netip.Addr, mode ChecksumMode) (ChecksumMode, error) {
	got := binary.BigEndian.Uint16(b[6:8])
	rest := messageSum(b)
	if version == 2 {
		if want := csumFinish(rest); !csumEqual(got, want) {
			return mode, newWireError(codecDecode, ErrChecksum, "VRRPv2 checksum %#04x, want %#04x", got, want)
		}
		if mode == ChecksumEither {
			return ChecksumStandard, nil
		}
		return mode, nil
	}
	std := csumFinish(rest + pseudoHeaderSum(src, dst, len(b)))
	if mode != ChecksumNoPseudoHeader && csumEqual(got, std) {
		return ChecksumStandard, nil
	}
	if ipv6 {
		return mode, newWireError(codecDecode, ErrChecksum, "VRRPv3 checksum %#04x, want %#04x with the IPv6 pseudo-header %v → %v",
			got, std, src, dst)
	}
	nop := csumFinish(rest)
	if mode != ChecksumStandard && csumEqual(got, nop) {
		return ChecksumNoPseudoHeader, nil
	}
	switch mode {
	case ChecksumStandard:
		return mode, newWireError(codecDecode, ErrChecksum, "VRRPv3 checksum %#04x, want %#04x with the IPv4 pseudo-header %v → %v",
			got, std, src, dst)
	case ChecksumNoPseudoHeader:
		return mode, newWireError(codecDecode, ErrChecksum, "VRRPv3 checksum %#04x, want %#04x without pseudo-header", got, nop)
	default:
		return mode, newWireError(codecDecode, ErrChecksum,
			"VRRPv3 checksum %#04x, want %#04x with the IPv4 pseudo-header %v → %v or %#04x without", got, std, src, dst, nop)
	}
}

// fill stores the message b, validated as h, into a.
func (a *Advert) fill(b []byte, h msgHeader) {
	a.Version = h.version
	a.Type = b[0] & 0x0f
	a.VRID = b[1]
	a.Priority = b[2]
	a.Interval = h.interval
	a.AuthType = 0
	a.AuthData = [8]byte{}
	addrs := a.Addrs[:0]
	p := b[HeaderLen:]
	for range h.count {
		if h.addrLen == 4 {
			addrs = append(addrs, netip.AddrFrom4([4]byte(p[:4])))
		} else {
			addrs = append(addrs, netip.AddrFrom16([16]byte(p[:16])))
		}
		p = p[h.addrLen:]
	}
	a.Addrs = addrs
	if h.version == 2 {
		a.AuthType = AuthType(b[4])
		a.AuthData = [8]byte(p[:AuthDataLen])
	}
}

// appendMsg validates a and appends its wire form for family ipv6 to b. With
// pseudo false (AppendBinary), a VRRPv3 checksum is left zero.
func (a *Advert) appendMsg(b []byte, ipv6 bool, mode ChecksumMode, src, dst netip.Addr, pseudo bool) ([]byte, error) {
	switch {
	case a.Version != 2 && a.Version != 3:
		return b, newWireError(codecEncode, ErrVersion, "version %d, want 2 or 3", a.Version)
	case a.Version == 2 && ipv6:
		return b, newWireError(codecEncode, ErrVersion, "version 2 over IPv6 (VRRPv2 is IPv4 only)")
	case a.Version == 3 && ipv6 && mode == ChecksumNoPseudoHeader:
		return b, newWireError(codecEncode, ErrChecksumMode, "checksum mode %v is IPv4 only; %v → %v is IPv6", mode, src, dst)
	case a.Type != 0 && a.Type != TypeAdvertisement:
		return b, newWireError(codecEncode, ErrType, "type %d, want %d (advertisement)", a.Type, TypeAdvertisement)
	case a.VRID == 0:
		return b, newWireError(codecEncode, ErrVRID, "VRID 0, want 1..255")
	case len(a.Addrs) > MaxAddrCount:
		return b, newWireError(codecEncode, ErrTooManyAddrs, "%d addresses, the count field holds at most %d", len(a.Addrs), MaxAddrCount)
	}
	var ivField uint16
	if a.Version == 2 {
		if a.Interval < MinIntervalV2 || a.Interval > MaxIntervalV2 || a.Interval%time.Second != 0 {
			return b, newWireError(codecEncode, ErrInterval, "VRRPv2 interval %v, want whole seconds 1s..255s", a.Interval)
		}
		if a.AuthType > AuthAH {
			return b, newWireError(codecEncode, ErrAuthType, "VRRPv2 auth type %d, want 0..2", uint8(a.AuthType))
		}
		ivField = uint16(a.AuthType)<<8 | uint16(a.Interval/time.Second)
	} else {
		if a.Interval < MinIntervalV3 || a.Interval > MaxIntervalV3 || a.Interval%v3IntervalUnit != 0 {
			return b, newWireError(codecEncode, ErrInterval, "VRRPv3 interval %v, want whole centiseconds 10ms..40.95s", a.Interval)
		}
		if a.AuthType != AuthNone || a.AuthData != [8]byte{} {
			return b, newWireError(codecEncode, ErrAuthType, "VRRPv3 has no authentication (RFC 5798 §9), auth type %v set", a.AuthType)
		}
		ivField = uint16(a.Interval / v3IntervalUnit)
	}
	for i, ad := range a.Addrs {
		if !ad.IsValid() || ad.Is6() != ipv6 {
			return b, newWireError(codecEncode, ErrFamily, "address %d (%v) in an %s advert", i, ad, ipFamilyName(ipv6))
		}
	}

	addrLen := 4
	if ipv6 {
		addrLen = 16
	}
	n := HeaderLen + len(a.Addrs)*addrLen
	if a.Version == 2 {
		n += AuthDataLen
	}
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	m := b[start:]
	m[0] = a.Version<<4 | TypeAdvertisement
	m[1] = a.VRID
	m[2] = a.Priority
	m[3] = uint8(len(a.Addrs))
	binary.BigEndian.PutUint16(m[4:6], ivField)
	m[6], m[7] = 0, 0
	p := m[HeaderLen:]
	for _, ad := range a.Addrs {
		if ipv6 {
			*(*[16]byte)(p) = ad.As16()
		} else {
			*(*[4]byte)(p) = ad.As4()
		}
		p = p[addrLen:]
	}
	if a.Version == 2 {
		copy(p, a.AuthData[:])
	}

	var sum uint64
	switch {
	case a.Version == 3 && !pseudo:
		return b, nil // AppendBinary: the checksum needs the IP addresses
	case a.Version == 3 && mode == ChecksumStandard:
		sum = pseudoHeaderSum(src, dst, n)
	}
	binary.BigEndian.PutUint16(m[6:8], csumFinish(csumAdd(sum, m)))
	return b, nil
}

// ipFamilyOf checks that src and dst are valid addresses of one family and
// reports whether it is IPv6.
func ipFamilyOf(op string, src, dst netip.Addr) (ipv6 bool, err error) {
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return false, newWireError(op, ErrFamily, "IP source %v and destination %v are not valid addresses of one family", src, dst)
	}
	return src.Is6(), nil
}

func ipFamilyName(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

// wireError is a rejection by the codec: what was wrong, in words, and the
// sentinel classes it belongs to.
type wireError struct {
	op    string
	msg   string
	class []error
}

func (e *wireError) Error() string   { return "advert: " + e.op + ": " + e.msg }
func (e *wireError) Unwrap() []error { return e.class }

func newWireError(op string, class error, format string, args ...any) error {
	return &wireError{op: op, msg: fmt.Sprintf(format, args...), class: []error{class}}
}

func newWireError2(op string, class1, class2 error, format string, args ...any) error {
	return &wireError{op: op, msg: fmt.Sprintf(format, args...), class: []error{class1, class2}}
}
