package advert

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func sameAdvert(x, y *Advert) bool {
	return x.Version == y.Version && x.Type == y.Type && x.VRID == y.VRID && x.Priority == y.Priority &&
		x.Interval == y.Interval && x.AuthType == y.AuthType && x.AuthData == y.AuthData && slices.Equal(x.Addrs, y.Addrs)
}

// isClassified reports whether err wraps one of the sentinels.
func isClassified(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzDecode: no input panics; every rejection is classified; whatever
// decodes re-encodes to the same bytes (the v3 reserved bits aside) and
// decodes to the same value (decode → encode → decode). With fix set, the
// checksum is corrected first so that the fuzzer gets past it to the other
// checks.
func FuzzDecode(f *testing.F) {
	for _, c := range allCaptures {
		for _, p := range readAdverts(f, c.name) {
			f.Add(p.Msg, p.IP.Src.Is6(), uint8(ChecksumEither), false)
			f.Add(p.Msg, p.IP.Src.Is6(), uint8(ChecksumStandard), true)
		}
	}
	f.Add([]byte{0x31, 1, 100, 0, 0, 100, 0, 0}, false, uint8(0), true)
	f.Fuzz(func(t *testing.T, msg []byte, ipv6 bool, modeSel uint8, fix bool) {
		src, dst := h1v4, GroupIPv4
		if ipv6 {
			src, dst = h1ll, GroupIPv6
		}
		msg = slices.Clone(msg)
		if fix && len(msg) >= HeaderLen {
			fixChecksum(msg, src, dst)
		}
		mode := ChecksumMode(modeSel % 4)
		var a Advert
		matched, err := a.Decode(msg, src, dst, mode)
		if err != nil {
			if !isClassified(err) || !strings.HasPrefix(err.Error(), "advert: decode: ") {
				t.Fatalf("unclassified error %q", err)
			}
		} else {
			out, err := a.Append(nil, src, dst, matched)
			if err != nil {
				t.Fatalf("decoded %v but cannot encode it: %v", &a, err)
			}
			if len(out) != len(msg) {
				t.Fatalf("re-encoded %d bytes from %d:\n% x\n% x", len(out), len(msg), out, msg)
			}
			reserved := a.Version == 3 && msg[4]&0xf0 != 0
			if !reserved && (!bytes.Equal(out[:6], msg[:6]) || !bytes.Equal(out[8:], msg[8:]) ||
				!csumEqual(uint16(out[6])<<8|uint16(out[7]), uint16(msg[6])<<8|uint16(msg[7]))) {
				t.Fatalf("re-encoded\n% x\nfrom\n% x", out, msg)
			}
			var b Advert
			if m2, err := b.Decode(out, src, dst, matched); err != nil || m2 != matched || !sameAdvert(&a, &b) {
				t.Fatalf("round trip: %v (%v) → %v (%v, %v)", &a, matched, &b, m2, err)
			}
		}

		var u Advert
		if err := u.UnmarshalBinary(msg); err != nil {
			if !isClassified(err) {
				t.Fatalf("UnmarshalBinary: unclassified error %q", err)
			}
			return
		}
		mb, err := u.MarshalBinary()
		if err != nil {
			t.Fatalf("UnmarshalBinary gave %v, which MarshalBinary rejects: %v", &u, err)
		}
		var u2 Advert
		if err := u2.UnmarshalBinary(mb); err != nil || !sameAdvert(&u, &u2) {
			t.Fatalf("binary round trip: %v → %v, %v", &u, &u2, err)
		}
	})
}

// FuzzAppend: any Advert either encodes to something Decode gives back
// unchanged, or is rejected with a classified error.
func FuzzAppend(f *testing.F) {
	f.Add(uint8(2), uint8(1), uint8(51), uint8(200), int64(1e9), uint8(1), []byte("secret12"), []byte{10, 0, 0, 100, 10, 0, 0, 101}, false, uint8(0))
	f.Add(uint8(3), uint8(0), uint8(51), uint8(200), int64(5e8), uint8(0), []byte{}, []byte{10, 0, 0, 100}, false, uint8(1))
	f.Add(uint8(3), uint8(1), uint8(51), uint8(0), int64(1e7), uint8(0), []byte{}, bytes.Repeat([]byte{0xfd, 1}, 16), true, uint8(0))
	f.Fuzz(func(t *testing.T, version, typ, vrid, prio uint8, interval int64, auth uint8, authData, addrBytes []byte, ipv6 bool, modeSel uint8) {
		a := Advert{Version: version, Type: typ, VRID: vrid, Priority: prio, Interval: time.Duration(interval), AuthType: AuthType(auth)}
		copy(a.AuthData[:], authData)
		n := 4
		src, dst := h1v4, GroupIPv4
		if ipv6 {
			n = 16
			src, dst = h1ll, GroupIPv6
		}
		for len(addrBytes) >= n {
			if ipv6 {
				a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte(addrBytes)))
			} else {
				a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(addrBytes)))
			}
			addrBytes = addrBytes[n:]
		}
		mode := ChecksumMode(modeSel % 4)
		out, err := a.Append(nil, src, dst, mode)
		if err != nil {
			if !isClassified(err) || !strings.HasPrefix(err.Error(), "advert: encode: ") {
				t.Fatalf("unclassified error %q", err)
			}
			return
		}
		var d Advert
		got, err := d.Decode(out, src, dst, ChecksumEither)
		if err != nil {
			t.Fatalf("encoded %v as % x, which does not decode: %v", &a, out, err)
		}
		if a.Type == 0 {
			a.Type = TypeAdvertisement
		}
		if !sameAdvert(&a, &d) {
			t.Fatalf("encoded %v, decoded %v", &a, &d)
		}
		if a.Version == 3 && !ipv6 && got != mode {
			t.Fatalf("encoded in mode %v, decoded as %v", mode, got)
		}
	})
}

// FuzzDecodePayload: a payload with or without a trailer never panics;
// every rejection is classified; what decodes re-encodes (Append, the
// trailer as received, WriteChecksum) to the same bytes, v3 reserved bits
// aside, and decodes to the same value and trailer. With fix set, the
// checksum is corrected first so that the fuzzer gets past it.
func FuzzDecodePayload(f *testing.F) {
	for _, r := range hmacRecordings {
		for _, p := range readAdverts(f, "hmac/"+r.name) {
			f.Add(p.Msg, p.IP.Src.Is6(), uint8(ChecksumEither), false)
		}
	}
	f.Add(append([]byte{0x31, 1, 100, 1, 0, 100, 0, 0, 10, 0, 0, 1}, make([]byte, TrailerLen)...), false, uint8(0), true)
	f.Fuzz(func(t *testing.T, payload []byte, ipv6 bool, modeSel uint8, fix bool) {
		src, dst := h1v4, GroupIPv4
		if ipv6 {
			src, dst = h1ll, GroupIPv6
		}
		payload = slices.Clone(payload)
		mode := ChecksumMode(modeSel % 4)
		if fix {
			fixMode := mode
			if fixMode == ChecksumEither {
				fixMode = ChecksumStandard
			}
			_ = WriteChecksum(payload, src, dst, fixMode)
		}
		in := slices.Clone(payload)
		var a Advert
		trailer, matched, err := a.DecodePayload(payload, src, dst, mode)
		if !bytes.Equal(in, payload) {
			t.Fatal("DecodePayload modified its input")
		}
		if err != nil {
			if !isClassified(err) {
				t.Fatalf("unclassified error %q", err)
			}
			return
		}
		if len(trailer) != 0 && len(trailer) != TrailerLen {
			t.Fatalf("a %d-byte trailer", len(trailer))
		}
		out, err := a.Append(nil, src, dst, matched)
		if err != nil {
			t.Fatalf("decoded %v but cannot encode it: %v", &a, err)
		}
		out = append(out, trailer...)
		if err := WriteChecksum(out, src, dst, matched); err != nil {
			t.Fatal(err)
		}
		reserved := a.Version == 3 && payload[4]&0xf0 != 0
		if !reserved && (!bytes.Equal(out[:6], payload[:6]) || !bytes.Equal(out[8:], payload[8:]) ||
			!csumEqual(uint16(out[6])<<8|uint16(out[7]), uint16(payload[6])<<8|uint16(payload[7]))) {
			t.Fatalf("re-encoded\n% x\nfrom\n% x", out, payload)
		}
		var b Advert
		tr2, m2, err := b.DecodePayload(out, src, dst, matched)
		if err != nil || m2 != matched || !sameAdvert(&a, &b) || !bytes.Equal(tr2, trailer) {
			t.Fatalf("round trip: %v (%v) → %v (%v, %v)", &a, matched, &b, m2, err)
		}
	})
}
