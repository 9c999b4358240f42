package advert

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// RFC 5798 §5.1 / RFC 3768 §5.1: the layout, field by field, for a message
// built by hand.
func TestAppendLayout(t *testing.T) {
	a := Advert{Version: 3, VRID: 7, Priority: 254, Interval: 40950 * time.Millisecond,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}}
	b, err := a.Append(nil, netip.MustParseAddr("192.0.2.10"), GroupIPv4, ChecksumNoPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x31, 7, 254, 2, // v3 advertisement, VRID, priority, count
		0x0f, 0xff, // rsvd 0, 4095 cs
		0, 0, // checksum, checked below
		192, 0, 2, 1, 192, 0, 2, 2,
	}
	// Computed by hand: the one's-complement sum of the words.
	var sum uint32
	for i := 0; i < len(want); i += 2 {
		sum += uint32(want[i])<<8 | uint32(want[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	want[6], want[7] = byte(^sum>>8), byte(^sum)
	if !bytes.Equal(b, want) {
		t.Errorf("got  % x\nwant % x", b, want)
	}

	v2 := Advert{Version: 2, Type: TypeAdvertisement, VRID: 255, Priority: 0, Interval: 255 * time.Second,
		AuthType: AuthPass, AuthData: [8]byte{'a', 'b'}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	b, err = v2.Append(nil, netip.MustParseAddr("192.0.2.10"), GroupIPv4, ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 20 || b[0] != 0x21 || b[1] != 255 || b[2] != 0 || b[3] != 1 || b[4] != 1 || b[5] != 255 ||
		!bytes.Equal(b[8:12], []byte{192, 0, 2, 1}) || !bytes.Equal(b[12:], []byte{'a', 'b', 0, 0, 0, 0, 0, 0}) {
		t.Errorf("v2 layout: % x", b)
	}
	if csumFinish(csumAdd(0, b)) != 0 {
		t.Errorf("v2 checksum does not verify: % x", b)
	}
}

// The interval limits are inclusive and exact: 1 s and 255 s for v2 (whole
// seconds, RFC 3768 §5.3.7), 10 ms and 40.95 s for v3 (centiseconds,
// RFC 5798 §5.2.7).
func TestIntervalLimitsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		version  uint8
		interval time.Duration
	}{
		{2, time.Second}, {2, 255 * time.Second}, {2, 3 * time.Second},
		{3, 10 * time.Millisecond}, {3, 40950 * time.Millisecond}, {3, 1230 * time.Millisecond},
	} {
		a := Advert{Version: tc.version, VRID: 1, Priority: 100, Interval: tc.interval, Addrs: []netip.Addr{vip100}}
		b, err := a.Append(nil, h1v4, GroupIPv4, ChecksumStandard)
		if err != nil {
			t.Errorf("v%d %v: %v", tc.version, tc.interval, err)
			continue
		}
		var d Advert
		if _, err := d.Decode(b, h1v4, GroupIPv4, ChecksumStandard); err != nil || d.Interval != tc.interval {
			t.Errorf("v%d %v: decoded %v, %v", tc.version, tc.interval, d.Interval, err)
		}
	}
}

// The v3 reserved bits are ignored on receive (RFC 5798 §5.2.6) and zero on
// send.
func TestV3ReservedBitsIgnored(t *testing.T) {
	a := Advert{Version: 3, VRID: 1, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip100}}
	b := mustAppend(t, a, h1v4, GroupIPv4)
	b[4] |= 0xf0
	fixChecksum(b, h1v4, GroupIPv4)
	var d Advert
	if _, err := d.Decode(b, h1v4, GroupIPv4, ChecksumStandard); err != nil || d.Interval != time.Second {
		t.Fatalf("reserved bits set: %v, %v", d.Interval, err)
	}
	out := mustAppend(t, d, h1v4, GroupIPv4)
	if out[4]&0xf0 != 0 {
		t.Errorf("reserved bits sent: % x", out)
	}
}

// Append appends: what is in the buffer stays, and with room it does not
// allocate; Decode reuses the address slice and does not allocate either.
func TestAppendAndDecodeDoNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a        Advert
		src, dst netip.Addr
	}{
		{"v2", Advert{Version: 2, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthPass, AuthData: secret12, Addrs: []netip.Addr{vip100, vip101}}, h1v4, GroupIPv4},
		{"v3/IPv4", Advert{Version: 3, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip100, vip101}}, h1v4, GroupIPv4},
		{"v3/IPv6", Advert{Version: 3, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip6100, vip6101}}, h1ll, GroupIPv6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, 3, 128)
			copy(buf, "abc")
			out, err := tc.a.Append(buf, tc.src, tc.dst, ChecksumStandard)
			if err != nil {
				t.Fatal(err)
			}
			if string(out[:3]) != "abc" || &out[0] != &buf[0] {
				t.Errorf("Append did not append in place: % x", out)
			}
			msg := out[3:]
			var d Advert
			if _, err := d.Decode(msg, tc.src, tc.dst, ChecksumStandard); err != nil {
				t.Fatal(err)
			}
			addrs := &d.Addrs[0]
			scratch := make([]byte, 0, 128)
			if n := testing.AllocsPerRun(100, func() {
				_, _ = tc.a.Append(scratch, tc.src, tc.dst, ChecksumStandard)
			}); n != 0 {
				t.Errorf("Append: %v allocs, want 0", n)
			}
			var derr error
			if n := testing.AllocsPerRun(100, func() {
				_, derr = d.Decode(msg, tc.src, tc.dst, ChecksumEither)
			}); n != 0 || derr != nil {
				t.Errorf("Decode: %v allocs, %v; want 0, nil", n, derr)
			}
			if &d.Addrs[0] != addrs {
				t.Error("Decode did not reuse Addrs")
			}
		})
	}
}

// Without IP addresses the v3 checksum cannot be computed: AppendBinary
// leaves it zero and UnmarshalBinary does not check it; v2's is complete.
// UnmarshalBinary tells IPv6 from IPv4 by the length.
func TestMarshalBinaryChecksumAndFamily(t *testing.T) {
	v3 := Advert{Version: 3, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip6100, vip6101}}
	b, err := v3.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 8+32 || b[6] != 0 || b[7] != 0 {
		t.Fatalf("v3 MarshalBinary: % x, want 40 bytes with a zero checksum", b)
	}
	var u Advert
	if err := u.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if len(u.Addrs) != 2 || u.Addrs[0] != vip6100 || u.Addrs[1] != vip6101 {
		t.Errorf("IPv6 inferred wrongly: %v", u.Addrs)
	}
	// The same bytes from Append carry the real checksum and decode the same.
	sent := mustAppend(t, v3, h1ll, GroupIPv6)
	if err := u.UnmarshalBinary(sent); err != nil || u.Addrs[1] != vip6101 {
		t.Errorf("UnmarshalBinary of a sent message: %v, %v", u.Addrs, err)
	}

	v2 := Advert{Version: 2, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip100}}
	b, err = v2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, mustAppend(t, v2, h1v4, GroupIPv4)) {
		t.Errorf("v2 MarshalBinary differs from Append")
	}
	b[2]--
	if err := u.UnmarshalBinary(b); err == nil {
		t.Error("UnmarshalBinary accepted a v2 message with a bad checksum")
	}
}

func TestMaxAddrs(t *testing.T) {
	for _, tc := range []struct {
		version uint8
		ipv6    bool
		mtu     int
		ah      bool
		want    int
	}{
		{2, false, 1500, false, 255}, // (1500-20-8-8)/4 = 366, capped by the count field
		{2, false, 100, false, 16},   // (100-36)/4
		{2, false, 100, true, 10},    // (100-36-24)/4
		{3, false, 68, false, 10},    // (68-28)/4, the smallest IPv4 MTU
		{3, true, 1500, false, 90},   // (1500-48)/16 = 90.75
		{3, true, 1280, false, 77},   // (1280-48)/16, the smallest IPv6 MTU
		{3, false, 1500, false, 255},
		{2, true, 1500, false, 0},  // VRRPv2 is IPv4 only
		{3, false, 1500, true, 0},  // AH is VRRPv2 only
		{4, false, 1500, false, 0}, // no such version
		{3, false, 28, false, 0},   // not even one address
		{3, false, -1, false, 0},
	} {
		if got := MaxAddrs(tc.version, tc.ipv6, tc.mtu, tc.ah); got != tc.want {
			t.Errorf("MaxAddrs(%d, %v, %d, %v) = %d, want %d", tc.version, tc.ipv6, tc.mtu, tc.ah, got, tc.want)
		}
	}
	// What MaxAddrs allows, Append encodes, and it fits the MTU.
	n := MaxAddrs(3, true, 1280, false)
	a := Advert{Version: 3, VRID: 1, Priority: 1, Interval: time.Second, Addrs: make([]netip.Addr, n)}
	for i := range a.Addrs {
		a.Addrs[i] = netip.AddrFrom16([16]byte{0xfd, 15: byte(i)})
	}
	b, err := a.Append(nil, h1ll, GroupIPv6, ChecksumStandard)
	if err != nil || 40+len(b) > 1280 {
		t.Errorf("%d addresses: %d bytes + 40, %v", n, len(b), err)
	}
}

func TestStrings(t *testing.T) {
	a := Advert{Version: 2, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthPass, AuthData: secret12, Addrs: []netip.Addr{vip100}}
	if got, want := a.String(), "VRRPv2 VRID 51 priority 200 interval 1s auth PASS [10.0.0.100]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for v, want := range map[interface{ String() string }]string{
		AuthNone: "none", AuthAH: "AH", AuthType(9): "AuthType(9)",
		ChecksumStandard: "standard", ChecksumNoPseudoHeader: "no-pseudo-header", ChecksumEither: "either", ChecksumMode(5): "ChecksumMode(5)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
