package advert

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var sentinels = map[string]error{
	"ErrTruncated":    ErrTruncated,
	"ErrVersion":      ErrVersion,
	"ErrType":         ErrType,
	"ErrVRID":         ErrVRID,
	"ErrChecksum":     ErrChecksum,
	"ErrChecksumMode": ErrChecksumMode,
	"ErrAddrCount":    ErrAddrCount,
	"ErrFamily":       ErrFamily,
	"ErrInterval":     ErrInterval,
	"ErrAuthType":     ErrAuthType,
	"ErrTooManyAddrs": ErrTooManyAddrs,
}

// checkClass asserts that err is of exactly the classes in want (and of no
// other sentinel), and that its message contains detail.
func checkClass(t *testing.T, err error, want []error, detail string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	for name, s := range sentinels {
		wanted := false
		for _, w := range want {
			wanted = wanted || w == s
		}
		if got := errors.Is(err, s); got != wanted {
			t.Errorf("errors.Is(%q, %s) = %v, want %v", err, name, got, wanted)
		}
	}
	if !strings.Contains(err.Error(), detail) {
		t.Errorf("error %q does not name %q", err, detail)
	}
	if !strings.HasPrefix(err.Error(), "advert: ") {
		t.Errorf("error %q does not name the package", err)
	}
}

// fixChecksum rewrites the checksum of msg as the standard one, so that a
// mutated message reaches the check the test is after.
func fixChecksum(msg []byte, src, dst netip.Addr) []byte {
	msg[6], msg[7] = 0, 0
	var sum uint64
	if msg[0]>>4 == 3 {
		sum = pseudoHeaderSum(src, dst, len(msg))
	}
	binary.BigEndian.PutUint16(msg[6:], csumFinish(csumAdd(sum, msg)))
	return msg
}

func mustAppend(t *testing.T, a Advert, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Append(nil, src, dst, ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// One row per rejection class of Decode (RFC 5798 §7.1, RFC 3768 §7.1).
func TestDecodeRejectsEachMalformedClass(t *testing.T) {
	v2 := Advert{Version: 2, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthPass, AuthData: secret12, Addrs: []netip.Addr{vip100, vip101}}
	v3 := Advert{Version: 3, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip100, vip101}}
	v36 := Advert{Version: 3, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip6100}}
	v2msg := mustAppend(t, v2, h1v4, GroupIPv4)
	v3msg := mustAppend(t, v3, h1v4, GroupIPv4)
	v36msg := mustAppend(t, v36, h1ll, GroupIPv6)
	mut := func(b []byte, f func([]byte) []byte) []byte {
		return f(append([]byte(nil), b...))
	}
	fixed := func(b []byte, f func([]byte)) []byte {
		return mut(b, func(m []byte) []byte { f(m); return fixChecksum(m, h1v4, GroupIPv4) })
	}

	tests := []struct {
		name     string
		msg      []byte
		src, dst netip.Addr
		mode     ChecksumMode
		want     []error
		detail   string
	}{
		{"shorter than the header", v3msg[:7], h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrTruncated}, "7 bytes"},
		{"empty", nil, h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrTruncated}, "0 bytes"},
		{"addresses cut short", v3msg[:12], h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrTruncated, ErrAddrCount}, "count 2"},
		{"v2 auth data cut short", v2msg[:len(v2msg)-1], h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrTruncated, ErrAddrCount}, "23 bytes"},
		{"count lower than the addresses sent", fixed(v3msg, func(m []byte) { m[3] = 1 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrAddrCount}, "count 1"},
		{"IPv6 message between IPv4 addresses", v36msg, h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrAddrCount}, "IPv4 addresses"},
		{"version 4", fixed(v3msg, func(m []byte) { m[0] = 0x41 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrVersion}, "version 4"},
		{"version 1", fixed(v3msg, func(m []byte) { m[0] = 0x11 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrVersion}, "version 1"},
		{"VRRPv2 over IPv6", mut(v36msg, func(m []byte) []byte { m[0] = 0x21; return m }), h1ll, GroupIPv6, ChecksumStandard,
			[]error{ErrVersion}, "version 2 over IPv6"},
		{"type 2", fixed(v3msg, func(m []byte) { m[0] = 0x32 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrType}, "type 2"},
		{"VRID 0", fixed(v3msg, func(m []byte) { m[1] = 0 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrVRID}, "VRID 0"},
		{"v2 interval 0", fixed(v2msg, func(m []byte) { m[5] = 0 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrInterval}, "interval 0"},
		{"v3 interval 0", fixed(v3msg, func(m []byte) { m[4], m[5] = 0xf0, 0 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrInterval}, "interval 0"},
		{"v2 auth type 3", fixed(v2msg, func(m []byte) { m[4] = 3 }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrAuthType}, "auth type 3"},
		{"v2 checksum", mut(v2msg, func(m []byte) []byte { m[2]++; return m }), h1v4, GroupIPv4, ChecksumStandard,
			[]error{ErrChecksum}, "checksum 0x"},
		{"v3 checksum", mut(v3msg, func(m []byte) []byte { m[7] ^= 1; return m }), h1v4, GroupIPv4, ChecksumEither,
			[]error{ErrChecksum}, "without"},
		{"v3 IPv6 checksum", mut(v36msg, func(m []byte) []byte { m[10]++; return m }), h1ll, GroupIPv6, ChecksumStandard,
			[]error{ErrChecksum}, "IPv6 pseudo-header"},
		{"source and destination of two families", v3msg, h1v4, GroupIPv6, ChecksumStandard,
			[]error{ErrFamily}, "ff02::12"},
		{"no source address", v3msg, netip.Addr{}, GroupIPv4, ChecksumStandard,
			[]error{ErrFamily}, "invalid IP"},
		{"no pseudo-header over IPv6", v36msg, h1ll, GroupIPv6, ChecksumNoPseudoHeader,
			[]error{ErrChecksumMode}, "IPv4 only"},
		{"unknown checksum mode", v3msg, h1v4, GroupIPv4, ChecksumMode(7),
			[]error{ErrChecksumMode}, "mode 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Advert{Version: 9, Addrs: make([]netip.Addr, 1, 4)}
			before := a
			_, err := a.Decode(tc.msg, tc.src, tc.dst, tc.mode)
			checkClass(t, err, tc.want, tc.detail)
			if a.Version != before.Version || len(a.Addrs) != 1 {
				t.Errorf("Decode changed its target on error: %+v", a)
			}
		})
	}

	// The truncation class is also io.ErrUnexpectedEOF, as short input is
	// throughout Go.
	var a Advert
	if _, err := a.Decode(v3msg[:3], h1v4, GroupIPv4, ChecksumStandard); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v does not match io.ErrUnexpectedEOF", err)
	}
	if err := a.UnmarshalBinary(v2msg[:20]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("UnmarshalBinary truncated: %v does not match io.ErrUnexpectedEOF", err)
	}
}

// One row per rejection class of Append: what a receiver would reject, and
// what cannot be put on the wire exactly, is an error, never a silent
// truncation or rounding.
func TestAppendRejectsEachInvalidClass(t *testing.T) {
	many := make([]netip.Addr, 256)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	v2 := func(f func(*Advert)) Advert {
		a := Advert{Version: 2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip100}}
		f(&a)
		return a
	}
	v3 := func(f func(*Advert)) Advert {
		a := Advert{Version: 3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip100}}
		f(&a)
		return a
	}
	tests := []struct {
		name     string
		a        Advert
		src, dst netip.Addr
		mode     ChecksumMode
		want     error
		detail   string
	}{
		{"version 0", v3(func(a *Advert) { a.Version = 0 }), h1v4, GroupIPv4, ChecksumStandard, ErrVersion, "version 0"},
		{"VRRPv2 over IPv6", v2(func(a *Advert) { a.Addrs = []netip.Addr{vip6100} }), h1ll, GroupIPv6, ChecksumStandard, ErrVersion, "version 2 over IPv6"},
		{"type 2", v3(func(a *Advert) { a.Type = 2 }), h1v4, GroupIPv4, ChecksumStandard, ErrType, "type 2"},
		{"VRID 0", v3(func(a *Advert) { a.VRID = 0 }), h1v4, GroupIPv4, ChecksumStandard, ErrVRID, "VRID 0"},
		{"256 addresses", v3(func(a *Advert) { a.Addrs = many }), h1v4, GroupIPv4, ChecksumStandard, ErrTooManyAddrs, "256 addresses"},
		{"v2 sub-second interval", v2(func(a *Advert) { a.Interval = 500 * time.Millisecond }), h1v4, GroupIPv4, ChecksumStandard, ErrInterval, "500ms"},
		{"v2 non-whole interval", v2(func(a *Advert) { a.Interval = 1500 * time.Millisecond }), h1v4, GroupIPv4, ChecksumStandard, ErrInterval, "1.5s"},
		{"v2 interval 256 s", v2(func(a *Advert) { a.Interval = 256 * time.Second }), h1v4, GroupIPv4, ChecksumStandard, ErrInterval, "4m16s"},
		{"v2 interval 0", v2(func(a *Advert) { a.Interval = 0 }), h1v4, GroupIPv4, ChecksumStandard, ErrInterval, "interval 0s"},
		{"v3 interval 5 ms", v3(func(a *Advert) { a.Interval = 5 * time.Millisecond }), h1v4, GroupIPv4, ChecksumStandard, ErrInterval, "5ms"},
		{"v3 interval 15 ms", v3(func(a *Advert) { a.Interval = 15 * time.Millisecond }), h1v4, GroupIPv4, ChecksumStandard, ErrInterval, "15ms"},
		{"v3 interval 40.96 s", v3(func(a *Advert) { a.Interval = 40960 * time.Millisecond }), h1v4, GroupIPv4, ChecksumStandard, ErrInterval, "40.96s"},
		{"v2 auth type 3", v2(func(a *Advert) { a.AuthType = 3 }), h1v4, GroupIPv4, ChecksumStandard, ErrAuthType, "auth type 3"},
		{"v3 with PASS", v3(func(a *Advert) { a.AuthType = AuthPass }), h1v4, GroupIPv4, ChecksumStandard, ErrAuthType, "PASS"},
		{"v3 with auth data", v3(func(a *Advert) { a.AuthData = secret12 }), h1v4, GroupIPv4, ChecksumStandard, ErrAuthType, "no authentication"},
		{"IPv6 address in an IPv4 advert", v3(func(a *Advert) { a.Addrs = []netip.Addr{vip100, vip6100} }), h1v4, GroupIPv4, ChecksumStandard, ErrFamily, "address 1 (fd00::100)"},
		{"IPv4 address in an IPv6 advert", v3(func(a *Advert) { a.Addrs = []netip.Addr{vip100} }), h1ll, GroupIPv6, ChecksumStandard, ErrFamily, "address 0 (10.0.0.100) in an IPv6"},
		{"zero address", v3(func(a *Advert) { a.Addrs = []netip.Addr{{}} }), h1v4, GroupIPv4, ChecksumStandard, ErrFamily, "invalid IP"},
		{"source and destination of two families", v3(func(*Advert) {}), h1ll, GroupIPv4, ChecksumStandard, ErrFamily, "fe80::dc55:5eff:fe92:19f"},
		{"either mode", v3(func(*Advert) {}), h1v4, GroupIPv4, ChecksumEither, ErrChecksumMode, "either"},
		{"no pseudo-header over IPv6", v3(func(a *Advert) { a.Addrs = []netip.Addr{vip6100} }), h1ll, GroupIPv6, ChecksumNoPseudoHeader, ErrChecksumMode, "IPv4 only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte{0xaa, 0xbb}
			out, err := tc.a.Append(prefix, tc.src, tc.dst, tc.mode)
			checkClass(t, err, []error{tc.want}, tc.detail)
			if string(out) != string(prefix) {
				t.Errorf("Append returned % x on error, want the buffer unchanged", out)
			}
		})
	}
}
