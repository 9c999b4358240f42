package auth

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"
)

// The trailer keepalived 2.4 appends after the VRRP message
// (draft-cassen-vrrp-auth-hmac), 28 bytes:
//
//	1 byte:   type, 1 = HMAC-SHA256-128
//	1 byte:   key id, 1..255
//	2 bytes:  reserved, zero
//	4 bytes:  seconds (Unix time, UTC)
//	2 bytes:  sub-seconds (1/65536 s)
//	2 bytes:  counter (tie breaker within one time stamp)
//	16 bytes: HMAC-SHA256 truncated to 128 bits
//
// The HMAC is keyed with the key the id names and covers, in this order: a
// 20-byte pseudo-header (1 byte IP version 4 or 6, 1 byte VRRP version,
// 1 byte VRID, 1 zero byte, the IP source address, an IPv4 one followed by
// 12 zero bytes), the VRRP message with its checksum field read as zero,
// and the trailer with its HMAC field read as zero. The IP header and the
// destination are not covered: the copies of one advert sent to several
// unicast peers carry one trailer, and the checksum is written after the
// trailer is sealed.
const (
	// TrailerLen is the size of the trailer on the wire.
	TrailerLen = 28
	// TrailerTypeHMACSHA256 is the only trailer type: HMAC-SHA256-128.
	TrailerTypeHMACSHA256 = 1

	hmacLen      = 16
	pseudoLen    = 20
	trailerFixed = TrailerLen - hmacLen // what precedes the HMAC
	msgMinLen    = 8                    // a VRRP header: the checksum is at 6..7
)

// Seq is a trailer's 64-bit sequence: the seconds in the high 32 bits,
// the sub-seconds in the next 16, the counter in the low 16. Senders take
// it from the wall clock (SeqAt) and count up when the clock has not moved
// on; receivers order it with serial-number arithmetic (RFC 1982), so it
// survives the seconds field's wrap in 2106.
type Seq uint64

// SeqAt is the sequence of a clock reading t, with the counter zero: the
// Unix seconds (mod 2^32) and the fraction of a second in 1/65536 s,
// rounded down — as keepalived 2.4.3 stamps its adverts.
func SeqAt(t time.Time) Seq {
	sub := uint64(t.Nanosecond()) << 16 / uint64(time.Second)
	return Seq(uint64(uint32(t.Unix()))<<32 | sub<<16)
}

// MakeSeq assembles a sequence from its three fields.
func MakeSeq(seconds uint32, subSeconds, counter uint16) Seq {
	return Seq(uint64(seconds)<<32 | uint64(subSeconds)<<16 | uint64(counter))
}

// Seconds is the time stamp's Unix seconds (mod 2^32).
func (s Seq) Seconds() uint32 { return uint32(s >> 32) }

// SubSeconds is the time stamp's fraction of a second, in 1/65536 s.
func (s Seq) SubSeconds() uint16 { return uint16(s >> 16) }

// Counter is the tie breaker within one time stamp.
func (s Seq) Counter() uint16 { return uint16(s) }

// After reports whether s is newer than o in serial-number arithmetic:
// s − o, as a signed 64-bit number, is positive.
func (s Seq) After(o Seq) bool { return int64(s-o) > 0 }

// Skew is how far the time stamp is behind now, in whole seconds, as the
// freshness window measures it (negative: ahead of now).
func (s Seq) Skew(now time.Time) time.Duration {
	return time.Duration(secondsBehind(now, s.Seconds())) * time.Second
}

// secondsBehind is now's Unix seconds minus sec, in 32-bit serial
// arithmetic.
func secondsBehind(now time.Time, sec uint32) int32 {
	return int32(uint32(now.Unix()) - sec)
}

// String shows the fields, e.g. "1796172843.7345/0" (seconds, sub-seconds,
// counter).
func (s Seq) String() string {
	return strconv.FormatUint(uint64(s.Seconds()), 10) + "." + strconv.Itoa(int(s.SubSeconds())) + "/" + strconv.Itoa(int(s.Counter()))
}

// Trailer is a decoded trailer.
type Trailer struct {
	Type  uint8 // TrailerTypeHMACSHA256
	KeyID uint8 // the key that sealed it
	Seq   Seq
	HMAC  [hmacLen]byte
}

// ParseTrailer decodes the 28 bytes b. It checks the layout only (length,
// type, reserved bits: ErrTrailerMalformed), not the HMAC.
func ParseTrailer(b []byte) (Trailer, error) {
	if len(b) != TrailerLen {
		return Trailer{}, ErrTrailerMalformed
	}
	tr := Trailer{
		Type:  b[0],
		KeyID: b[1],
		Seq:   Seq(binary.BigEndian.Uint64(b[4:12])),
		HMAC:  [hmacLen]byte(b[trailerFixed:]),
	}
	if tr.Type != TrailerTypeHMACSHA256 || b[2] != 0 || b[3] != 0 {
		return tr, ErrTrailerMalformed
	}
	return tr, nil
}

// putTrailerFixed writes the trailer's first 12 bytes and zeroes its HMAC.
func putTrailerFixed(b []byte, keyID uint8, seq Seq) {
	b[0] = TrailerTypeHMACSHA256
	b[1] = keyID
	b[2], b[3] = 0, 0
	binary.BigEndian.PutUint64(b[4:12], uint64(seq))
	clear(b[trailerFixed:TrailerLen])
}

// putPseudo writes the HMAC's pseudo-header for msg sent from src into p.
// src must be a valid address; msg at least a VRRP header.
func putPseudo(p *[pseudoLen]byte, msg []byte, src netip.Addr) {
	*p = [pseudoLen]byte{}
	p[1] = msg[0] >> 4 // VRRP version
	p[2] = msg[1]      // VRID
	if src.Is4() {
		p[0] = 4
		a := src.As4()
		copy(p[4:], a[:])
	} else {
		p[0] = 6
		a := src.As16()
		copy(p[4:], a[:])
	}
}
