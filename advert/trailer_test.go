package advert

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// hmacRecordings are keepalived 2.4.3's signed adverts in testdata/hmac:
// one address (10.0.0.100 or fd00::100), VRID 51, 1 s, priority 200 and a
// last advert at priority 0; the checksum mode keepalived used.
var hmacRecordings = []struct {
	name string
	mode ChecksumMode
}{
	{"v2-ipv4-mcast", ChecksumStandard},
	{"v2-ipv4-unicast", ChecksumStandard},
	{"v2-ipv6-mcast", ChecksumStandard},
	{"v2-ipv6-unicast", ChecksumStandard},
	{"v3-ipv4-mcast", ChecksumStandard},
	{"v3-ipv4-mcast-csum-as-v2", ChecksumNoPseudoHeader},
	{"v3-ipv4-unicast", ChecksumStandard},
	{"v3-ipv6-mcast", ChecksumStandard},
	{"v3-ipv6-unicast", ChecksumStandard},
}

func TestSplitTrailer(t *testing.T) {
	v3 := []byte{0x31, 51, 200, 1, 0, 100, 0, 0, 10, 0, 0, 100}
	v2 := append([]byte{0x21, 51, 200, 1, 0, 1, 0, 0, 10, 0, 0, 100}, make([]byte, 8)...)
	v3six := append([]byte{0x31, 51, 200, 1, 0, 100, 0, 0}, make([]byte, 16)...)
	v2six := append([]byte{0x21, 51, 200, 1, 0, 1, 0, 0}, make([]byte, 16)...) // keepalived: no auth data
	tr := bytes.Repeat([]byte{0xee}, TrailerLen)
	for _, c := range []struct {
		name    string
		payload []byte
		ipv6    bool
		msgLen  int
		trailer bool
		err     []error
	}{
		{"v3 alone", v3, false, 12, false, nil},
		{"v3 and a trailer", append(bytes.Clone(v3), tr...), false, 12, true, nil},
		{"v2 with its auth data and a trailer", append(bytes.Clone(v2), tr...), false, 20, true, nil},
		{"v3 over IPv6 and a trailer", append(bytes.Clone(v3six), tr...), true, 24, true, nil},
		{"v2 over IPv6 and a trailer", append(bytes.Clone(v2six), tr...), true, 24, true, nil},
		{"one byte short of a trailer", append(bytes.Clone(v3), tr[1:]...), false, 0, false, []error{ErrAddrCount}},
		{"one byte more than a trailer", append(bytes.Clone(v3), append(tr, 0)...), false, 0, false, []error{ErrAddrCount}},
		{"an address short", v3[:11], false, 0, false, []error{ErrTruncated, ErrAddrCount}},
		{"a header short", v3[:7], false, 0, false, []error{ErrTruncated}},
		{"version 4", append([]byte{0x41}, v3[1:]...), false, 0, false, []error{ErrVersion}},
	} {
		msg, trailer, err := SplitTrailer(c.payload, c.ipv6)
		if c.err != nil {
			for _, e := range c.err {
				if !errors.Is(err, e) {
					t.Errorf("%s: %v, want %v", c.name, err, e)
				}
			}
			continue
		}
		if err != nil || len(msg) != c.msgLen || (trailer != nil) != c.trailer || (c.trailer && !bytes.Equal(trailer, tr)) {
			t.Errorf("%s: message of %d bytes, trailer % x, %v; want %d bytes, trailer %v", c.name, len(msg), trailer, err, c.msgLen, c.trailer)
		}
	}
}

// Every signed advert keepalived 2.4.3 sent decodes, with its checksum
// verified as keepalived computes it (over IPv6, trailer included), and
// hands back its 28-byte trailer. keepalived sends VRRPv2 over IPv6 too;
// the codec refuses it, as Decode does.
func TestDecodePayloadOfSignedRecordings(t *testing.T) {
	for _, r := range hmacRecordings {
		t.Run(r.name, func(t *testing.T) {
			pkts := readAdverts(t, "hmac/"+r.name)
			if len(pkts) < 5 {
				t.Fatalf("%d adverts", len(pkts))
			}
			for i, p := range pkts {
				var a Advert
				trailer, matched, err := a.DecodePayload(p.Msg, p.IP.Src, p.IP.Dst, ChecksumEither)
				if p.Msg[0]>>4 == 2 && p.IP.Src.Is6() {
					if !errors.Is(err, ErrVersion) {
						t.Fatalf("advert %d: VRRPv2 over IPv6: %v, want ErrVersion", i, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("advert %d: %v", i, err)
				}
				if matched != r.mode || len(trailer) != TrailerLen || trailer[0] != 1 {
					t.Errorf("advert %d: checksum %v, trailer % x; want %v and a type-1 trailer", i, matched, trailer, r.mode)
				}
				vip := vip100
				if p.IP.Src.Is6() {
					vip = vip6100
				}
				if a.VRID != 51 || a.Interval != time.Second || len(a.Addrs) != 1 || a.Addrs[0] != vip {
					t.Errorf("advert %d: %v", i, &a)
				}
				// The message alone does not verify over IPv6: the checksum
				// covers the trailer.
				if _, err := a.Decode(p.Msg[:len(p.Msg)-TrailerLen], p.IP.Src, p.IP.Dst, ChecksumEither); p.IP.Src.Is6() != errors.Is(err, ErrChecksum) {
					t.Errorf("advert %d: the message without its trailer: %v", i, err)
				}
				// Decode, which knows no trailer, refuses the payload as before.
				if _, err := a.Decode(p.Msg, p.IP.Src, p.IP.Dst, ChecksumEither); !errors.Is(err, ErrAddrCount) {
					t.Errorf("advert %d: Decode of message and trailer: %v, want ErrAddrCount", i, err)
				}
			}
		})
	}
}

// WriteChecksum writes keepalived 2.4.3's checksum for every recorded
// signed advert, to each destination (the VRRPv3 pseudo-header names it).
func TestWriteChecksumMatchesSignedRecordings(t *testing.T) {
	for _, r := range hmacRecordings {
		t.Run(r.name, func(t *testing.T) {
			for i, p := range readAdverts(t, "hmac/"+r.name) {
				b := bytes.Clone(p.Msg)
				b[6], b[7] = 0x5a, 0xa5
				err := WriteChecksum(b, p.IP.Src, p.IP.Dst, r.mode)
				if p.Msg[0]>>4 == 2 && p.IP.Src.Is6() {
					if !errors.Is(err, ErrVersion) {
						t.Fatalf("advert %d: VRRPv2 over IPv6: %v, want ErrVersion", i, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(b, p.Msg) {
					t.Errorf("advert %d: checksum % x, %v; keepalived's % x", i, b[6:8], err, p.Msg[6:8])
				}
			}
		})
	}
}

// A payload without a trailer gets from WriteChecksum what Append writes,
// and decodes through DecodePayload exactly as through Decode.
func TestUnsignedPayloadUnchanged(t *testing.T) {
	for _, c := range allCaptures {
		for i, p := range readAdverts(t, c.name) {
			if p.AH != nil {
				continue
			}
			var a, b Advert
			if _, err := a.Decode(p.Msg, p.IP.Src, p.IP.Dst, ChecksumEither); err != nil {
				t.Fatalf("%s advert %d: %v", c.name, i, err)
			}
			tr, _, err := b.DecodePayload(p.Msg, p.IP.Src, p.IP.Dst, ChecksumEither)
			if err != nil || tr != nil || !sameAdvert(&a, &b) {
				t.Errorf("%s advert %d: DecodePayload %v, trailer % x, %v; Decode %v", c.name, i, &b, tr, err, &a)
			}
			m := bytes.Clone(p.Msg)
			m[6], m[7] = 0, 0
			if err := WriteChecksum(m, p.IP.Src, p.IP.Dst, ChecksumStandard); err != nil || !bytes.Equal(m, p.Msg) {
				t.Errorf("%s advert %d: WriteChecksum % x, %v; want % x", c.name, i, m[6:8], err, p.Msg[6:8])
			}
		}
	}
}

func TestWriteChecksumRefuses(t *testing.T) {
	v3 := append([]byte{0x31, 51, 200, 1, 0, 100, 0, 0}, make([]byte, 16)...)
	for _, c := range []struct {
		name     string
		payload  []byte
		src, dst netip.Addr
		mode     ChecksumMode
		err      error
	}{
		{"families differ", v3, h1v4, GroupIPv6, ChecksumStandard, ErrFamily},
		{"no pseudo-header over IPv6", v3, h1ll, GroupIPv6, ChecksumNoPseudoHeader, ErrChecksumMode},
		{"ChecksumEither", v3, h1ll, GroupIPv6, ChecksumEither, ErrChecksumMode},
		{"a length that is no message", v3[:20], h1ll, GroupIPv6, ChecksumStandard, ErrAddrCount},
	} {
		if err := WriteChecksum(bytes.Clone(c.payload), c.src, c.dst, c.mode); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
}

// DecodePayload and WriteChecksum allocate nothing.
func TestTrailerCodecAllocatesNothing(t *testing.T) {
	p := readAdverts(t, "hmac/v3-ipv6-unicast")[0]
	b := bytes.Clone(p.Msg)
	a := Advert{Addrs: make([]netip.Addr, 0, 4)}
	if n := testing.AllocsPerRun(100, func() {
		if err := WriteChecksum(b, p.IP.Src, p.IP.Dst, ChecksumStandard); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.DecodePayload(b, p.IP.Src, p.IP.Dst, ChecksumStandard); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
