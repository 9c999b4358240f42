package auth

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

var hmacSentinels = []error{ErrTrailerMalformed, ErrUnknownKeyID, ErrTrailerHMAC, ErrTrailerStale, ErrTrailerReplay}

func isHMACSentinel(err error) bool {
	for _, s := range hmacSentinels {
		if err == s {
			return true
		}
	}
	return false
}

// FuzzHMACVerify: arbitrary bytes split as a receiver splits a payload (the
// message, then the rest as the trailer), from an arbitrary source at an
// arbitrary time, under the key of the recordings: Verify never panics,
// never modifies its input, and rejects with exactly one of its
// sentinels. An advert it accepts is a replay the second time.
func FuzzHMACVerify(f *testing.F) {
	for _, m := range recordedModes {
		for _, p := range readSigned(f, m.name) {
			f.Add(bytes.Clone(p.payload), len(p.msg), p.src.AsSlice(), p.time.Unix(), m.name == "v3-ipv4-mcast")
		}
	}
	cfg := recordedConfig(f, "v2-ipv4-mcast")
	key7 := recordedConfig(f, "v3-ipv4-mcast")
	f.Fuzz(func(t *testing.T, payload []byte, msgLen int, srcBytes []byte, unix int64, useKey7 bool) {
		if msgLen < 0 || msgLen > len(payload) {
			return
		}
		src, ok := netip.AddrFromSlice(srcBytes)
		if !ok {
			return
		}
		c := cfg
		if useKey7 {
			c = key7
		}
		rx := mustHMAC(t, c)
		in := bytes.Clone(payload)
		now := time.Unix(unix, 0)
		msg, tr := payload[:msgLen], payload[msgLen:]
		got, err := rx.Verify(msg, tr, src, now)
		if !bytes.Equal(in, payload) {
			t.Fatal("Verify modified its input")
		}
		if err != nil {
			if !isHMACSentinel(err) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if got.Seq != Seq(binary.BigEndian.Uint64(tr[4:12])) || got.KeyID != tr[1] {
			t.Fatalf("decoded %+v from % x", got, tr)
		}
		if _, err := rx.Verify(msg, tr, src, now); err != ErrTrailerReplay {
			t.Fatalf("the same advert twice: %v, want ErrTrailerReplay", err)
		}
	})
}

// FuzzHMACSealVerify: whatever a sender seals — any message, key, key id,
// source, sequence — a receiver with the same key verifies, once, at the
// time of the sequence; the trailer decodes to what was sealed; the
// checksum field may change on the way; a change to any other byte, of
// the message, the trailer or the source, is refused.
func FuzzHMACSealVerify(f *testing.F) {
	for _, m := range recordedModes {
		for _, p := range readSigned(f, m.name)[:1] {
			tr, _ := ParseTrailer(p.trailer)
			f.Add(bytes.Clone(p.msg), []byte("0123456789abcdef0123456789abcdef"), uint8(1), p.src.AsSlice(), uint64(tr.Seq), uint16(3), uint16(0x1234))
		}
	}
	f.Fuzz(func(t *testing.T, msg, secret []byte, id uint8, srcBytes []byte, seq uint64, flip, csum uint16) {
		src, ok := netip.AddrFromSlice(srcBytes)
		if !ok || len(msg) < 8 || len(msg) > 1400 {
			return
		}
		key, err := NewKey(int(id), secret)
		if err != nil {
			return
		}
		cfg := HMACConfig{Keys: []Key{key}, ActiveKey: int(id), AntiReplay: AntiReplayMonotonic}
		tx := mustHMAC(t, cfg)
		b, err := tx.AppendTrailer(bytes.Clone(msg), msg, src, Seq(seq))
		if err != nil {
			t.Fatal(err)
		}
		m, trailer := b[:len(msg)], b[len(msg):]
		tr, err := ParseTrailer(trailer)
		if err != nil || tr.KeyID != id || tr.Seq != Seq(seq) || tr.Type != TrailerTypeHMACSHA256 {
			t.Fatalf("decoded %+v, %v; sealed key %d seq %d", tr, err, id, seq)
		}
		binary.BigEndian.PutUint16(m[6:8], csum) // the checksum is written after sealing
		now := time.Unix(int64(Seq(seq).Seconds()), 0)
		rx := mustHMAC(t, cfg)
		if _, err := rx.Verify(m, trailer, src, now); err != nil {
			t.Fatalf("sealed advert refused: %v", err)
		}
		if _, err := rx.Verify(m, trailer, src, now); err != ErrTrailerReplay {
			t.Fatalf("replay: %v", err)
		}
		// Flip one covered bit: any byte but the checksum, or the source.
		covered := len(m) - 2 + TrailerLen + len(srcBytes)
		pos, bit := int(flip)%covered, byte(1)<<(flip%8)
		m2, tr2, src2 := bytes.Clone(m), bytes.Clone(trailer), bytes.Clone(srcBytes)
		switch {
		case pos < 6:
			m2[pos] ^= bit
		case pos < len(m)-2:
			m2[pos+2] ^= bit
		case pos < len(m)-2+TrailerLen:
			tr2[pos-(len(m)-2)] ^= bit
		default:
			src2[pos-(len(m)-2)-TrailerLen] ^= bit
		}
		s2, _ := netip.AddrFromSlice(src2)
		if _, err := mustHMAC(t, cfg).Verify(m2, tr2, s2, now); err == nil {
			t.Fatalf("verified with covered byte %d changed", pos)
		} else if !isHMACSentinel(err) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}

// FuzzParseTrailer: any 28 bytes either decode to a Trailer that encodes
// back to the same bytes, or are ErrTrailerMalformed; other lengths are
// always malformed.
func FuzzParseTrailer(f *testing.F) {
	for _, m := range recordedModes {
		f.Add(bytes.Clone(readSigned(f, m.name)[0].trailer))
	}
	f.Add(make([]byte, TrailerLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTrailer(b)
		if err != nil {
			if err != ErrTrailerMalformed {
				t.Fatalf("unclassified error %v", err)
			}
			if len(b) == TrailerLen && b[0] == TrailerTypeHMACSHA256 && b[2] == 0 && b[3] == 0 {
				t.Fatalf("refused a well-formed trailer % x", b)
			}
			return
		}
		out := make([]byte, TrailerLen)
		putTrailerFixed(out, tr.KeyID, tr.Seq)
		copy(out[trailerFixed:], tr.HMAC[:])
		if !bytes.Equal(out, b) {
			t.Fatalf("decoded %+v from\n% x\nencodes to\n% x", tr, b, out)
		}
	})
}
