package advert

import (
	"net/netip"
	"testing"
	"time"
)

var benchCases = []struct {
	name     string
	a        Advert
	src, dst netip.Addr
}{
	{"v2", Advert{Version: 2, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthPass, AuthData: [8]byte{'s', 'e', 'c', 'r', 'e', 't', '1', '2'},
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")}},
		netip.MustParseAddr("10.0.0.1"), GroupIPv4},
	{"v3-ipv4", Advert{Version: 3, VRID: 51, Priority: 200, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")}},
		netip.MustParseAddr("10.0.0.1"), GroupIPv4},
	{"v3-ipv6", Advert{Version: 3, VRID: 51, Priority: 200, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("fd00::100"), netip.MustParseAddr("fd00::101")}},
		netip.MustParseAddr("fe80::dc55:5eff:fe92:19f"), GroupIPv6},
}

// Encode of a 2-address advert into a buffer with room.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 128)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.a.Append(buf, bc.src, bc.dst, ChecksumStandard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Decode of a 2-address advert into a reused value, checksum verified.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			msg, err := bc.a.Append(nil, bc.src, bc.dst, ChecksumStandard)
			if err != nil {
				b.Fatal(err)
			}
			var a Advert
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Decode(msg, bc.src, bc.dst, ChecksumStandard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The checksum of a 2-address advert followed by a 28-byte auth_hmac
// trailer, written after sealing (over IPv6 it covers the trailer).
func BenchmarkWriteChecksumSigned(b *testing.B) {
	for _, bc := range benchCases[1:] {
		b.Run(bc.name, func(b *testing.B) {
			msg, err := bc.a.Append(nil, bc.src, bc.dst, ChecksumStandard)
			if err != nil {
				b.Fatal(err)
			}
			payload := append(msg, make([]byte, TrailerLen)...)
			payload[len(msg)] = 1
			b.ReportAllocs()
			for b.Loop() {
				if err := WriteChecksum(payload, bc.src, bc.dst, ChecksumStandard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Decode of a signed 2-address advert: split, checksum, fields; the
// trailer is returned for package auth.
func BenchmarkDecodePayloadSigned(b *testing.B) {
	for _, bc := range benchCases[1:] {
		b.Run(bc.name, func(b *testing.B) {
			msg, err := bc.a.Append(nil, bc.src, bc.dst, ChecksumStandard)
			if err != nil {
				b.Fatal(err)
			}
			payload := append(msg, make([]byte, TrailerLen)...)
			payload[len(msg)] = 1
			if err := WriteChecksum(payload, bc.src, bc.dst, ChecksumStandard); err != nil {
				b.Fatal(err)
			}
			a := Advert{Addrs: make([]netip.Addr, 0, 4)}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := a.DecodePayload(payload, bc.src, bc.dst, ChecksumStandard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
