package advert

import (
	"encoding/binary"
	"net/netip"
)

// TrailerLen is the size of the auth_hmac trailer keepalived 2.4 appends
// after the VRRP message (draft-cassen-vrrp-auth-hmac; package auth seals
// and verifies it). The IP payload of a signed advert is the message
// followed by the trailer; the message's own length follows from its
// version, address count and family.
//
// The checksum is the message's as without a trailer, except over IPv6:
// keepalived 2.4.3 leaves it to the kernel (IPV6_CHECKSUM), which sums the
// whole payload, trailer included, under a pseudo-header of the payload's
// length. Over IPv4 (VRRPv2, VRRPv3 with or without the pseudo-header) it
// covers the message alone and the pseudo-header counts the message's
// length. The trailer's HMAC reads the checksum field as zero, so a sender
// encodes the message, seals it, and writes the checksum last (per
// destination: VRRPv3's pseudo-header names it) with WriteChecksum.
const TrailerLen = 28

const opSplit = "split"

// MessageLen reports the length of the VRRP message at the start of an IP
// payload as its header says: 8 bytes, the addresses (count × 4 over IPv4,
// × 16 over IPv6), and for VRRPv2 over IPv4 the 8 bytes of authentication
// data. keepalived sends VRRPv2 over IPv6 (which Decode refuses) without
// authentication data, and MessageLen counts it so. It validates only what
// it reads: ErrTruncated for a payload shorter than the header or than the
// length, ErrVersion for a version other than 2 and 3.
func MessageLen(payload []byte, ipv6 bool) (int, error) {
	if len(payload) < HeaderLen {
		return 0, newWireError(opSplit, ErrTruncated, "%d bytes, the header needs %d", len(payload), HeaderLen)
	}
	v := payload[0] >> 4
	if v != 2 && v != 3 {
		return 0, newWireError(opSplit, ErrVersion, "version %d, want 2 or 3", v)
	}
	n := HeaderLen + int(payload[3])*4
	switch {
	case ipv6:
		n = HeaderLen + int(payload[3])*16
	case v == 2:
		n += AuthDataLen
	}
	if len(payload) < n {
		return 0, newWireError2(opSplit, ErrTruncated, ErrAddrCount, "%d bytes, count %d of %s addresses needs %d",
			len(payload), payload[3], ipFamilyName(ipv6), n)
	}
	return n, nil
}

// SplitTrailer splits a received IP payload into the VRRP message and the
// trailer after it: nil when the payload is the message alone, the
// TrailerLen bytes after it otherwise. A payload of any other length is
// ErrAddrCount (or ErrTruncated, see MessageLen). It does not look into the
// trailer: package auth does.
func SplitTrailer(payload []byte, ipv6 bool) (msg, trailer []byte, err error) {
	n, err := MessageLen(payload, ipv6)
	if err != nil {
		return nil, nil, err
	}
	switch len(payload) - n {
	case 0:
		return payload, nil, nil
	case TrailerLen:
		return payload[:n], payload[n:], nil
	}
	return nil, nil, newWireError(opSplit, ErrAddrCount, "%d bytes after a %d-byte message with %d addresses: neither none nor a %d-byte trailer",
		len(payload)-n, n, payload[3], TrailerLen)
}

// DecodePayload decodes a received IP payload — a VRRP message, with or
// without an auth_hmac trailer — carried from src to dst, into a, and
// returns the trailer (nil when there is none) for package auth to verify.
// The checksum is verified in mode as keepalived 2.4.3 computes it (see
// TrailerLen); all else is as in Decode, which a payload without a
// trailer gets exactly. It allocates nothing when a.Addrs has room.
func (a *Advert) DecodePayload(payload []byte, src, dst netip.Addr, mode ChecksumMode) (trailer []byte, matched ChecksumMode, err error) {
	ipv6, err := ipFamilyOf(codecDecode, src, dst)
	if err != nil {
		return nil, mode, err
	}
	msg, trailer, err := SplitTrailer(payload, ipv6)
	if err != nil {
		return nil, mode, err
	}
	if trailer == nil || !ipv6 {
		matched, err = a.Decode(msg, src, dst, mode)
		return trailer, matched, err
	}
	switch {
	case mode > ChecksumEither:
		return nil, mode, newWireError(codecDecode, ErrChecksumMode, "unknown checksum mode %d", uint8(mode))
	case mode == ChecksumNoPseudoHeader:
		return nil, mode, newWireError(codecDecode, ErrChecksumMode, "checksum mode %v is IPv4 only; %v → %v is IPv6", mode, src, dst)
	}
	h, err := parseMsgHeader(codecDecode, msg, ipv6)
	if err != nil {
		return nil, mode, err
	}
	// Over IPv6 the checksum covers the trailer too.
	if matched, err = verifyMsgChecksum(payload, h.version, ipv6, src, dst, mode); err != nil {
		return nil, mode, err
	}
	a.fill(msg, h)
	return trailer, matched, nil
}

// WriteChecksum writes the checksum of payload — a VRRP message as Append
// encodes it, with or without an auth_hmac trailer after it — for a packet
// from src to dst in mode, as keepalived 2.4.3 computes it (see
// TrailerLen). Call it after sealing, and again for each destination of a
// VRRPv3 advert: the pseudo-header names the destination. The family and
// mode rules are Append's.
func WriteChecksum(payload []byte, src, dst netip.Addr, mode ChecksumMode) error {
	ipv6, err := ipFamilyOf(codecEncode, src, dst)
	if err != nil {
		return err
	}
	if mode >= ChecksumEither {
		return newWireError(codecEncode, ErrChecksumMode, "checksum mode %v can only be used to decode", mode)
	}
	msg, trailer, err := SplitTrailer(payload, ipv6)
	if err != nil {
		return err
	}
	v := msg[0] >> 4
	switch {
	case v == 2 && ipv6:
		return newWireError(codecEncode, ErrVersion, "version 2 over IPv6 (VRRPv2 is IPv4 only)")
	case ipv6 && mode == ChecksumNoPseudoHeader:
		return newWireError(codecEncode, ErrChecksumMode, "checksum mode %v is IPv4 only; %v → %v is IPv6", mode, src, dst)
	}
	covered := msg
	if ipv6 && trailer != nil {
		covered = payload
	}
	var sum uint64
	if v == 3 && mode == ChecksumStandard {
		sum = pseudoHeaderSum(src, dst, len(covered))
	}
	binary.BigEndian.PutUint16(msg[6:8], csumFinish(sum+messageSum(covered)))
	return nil
}
