package advert

import (
	"bytes"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// capturedAdvert is one VRRP packet of a keepalived capture.
type capturedAdvert struct {
	IP  pcapfile.IPPacket
	AH  []byte // the AH header, for protocol 51
	Msg []byte // the VRRP message
}

// readAdverts returns the VRRP packets of testdata/name.pcap: IP protocol
// 112, and 51 (AH) with VRRP inside. VRRP quoted inside ICMP errors is not
// a VRRP packet and is skipped.
func readAdverts(t testing.TB, name string) []capturedAdvert {
	t.Helper()
	frames, err := pcapfile.ReadFile(filepath.Join("testdata", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var out []capturedAdvert
	for i, f := range frames {
		p, err := f.IP()
		if errors.Is(err, pcapfile.ErrNotIP) {
			continue
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", name, i+1, err)
		}
		switch p.Protocol {
		case ProtocolNumber:
			out = append(out, capturedAdvert{IP: p, Msg: p.Payload})
		case 51:
			if len(p.Payload) < 24 || p.Payload[0] != ProtocolNumber {
				t.Fatalf("%s frame %d: AH without VRRP inside: % x", name, i+1, p.Payload)
			}
			out = append(out, capturedAdvert{IP: p, AH: p.Payload[:24], Msg: p.Payload[24:]})
		}
	}
	return out
}

var (
	h1v4        = netip.MustParseAddr("10.0.0.1")
	h2v4        = netip.MustParseAddr("10.0.0.2")
	h3v4        = netip.MustParseAddr("10.0.0.3")
	vip100      = netip.MustParseAddr("10.0.0.100")
	vip101      = netip.MustParseAddr("10.0.0.101")
	h1ll        = netip.MustParseAddr("fe80::dc55:5eff:fe92:19f")
	h2v6        = netip.MustParseAddr("fd00::2")
	vip6100     = netip.MustParseAddr("fd00::100")
	vip6101     = netip.MustParseAddr("fd00::101")
	secret12    = [8]byte{'s', 'e', 'c', 'r', 'e', 't', '1', '2'}
	allCaptures = []struct {
		name  string
		count int          // VRRP packets in the capture (tshark agrees)
		dsts  []netip.Addr // destinations, in turn
		first Advert       // the first advert
	}{
		{"v2-pass-mcast", 4, []netip.Addr{GroupIPv4},
			Advert{Version: 2, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthPass, AuthData: secret12, Addrs: []netip.Addr{vip100, vip101}}},
		{"v2-ah-mcast", 4, []netip.Addr{GroupIPv4},
			Advert{Version: 2, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthAH, Addrs: []netip.Addr{vip100}}},
		{"v2-ah-unicast", 8, []netip.Addr{h2v4, h3v4},
			Advert{Version: 2, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthAH, Addrs: []netip.Addr{vip100}}},
		{"v3-ipv4-mcast", 4, []netip.Addr{GroupIPv4},
			Advert{Version: 3, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip100, vip101}}},
		{"v3-ipv4-unicast", 10, []netip.Addr{h2v4},
			Advert{Version: 3, Type: 1, VRID: 51, Priority: 200, Interval: 500 * time.Millisecond, Addrs: []netip.Addr{vip100}}},
		{"v3-ipv6-mcast", 4, []netip.Addr{GroupIPv6},
			Advert{Version: 3, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip6100, vip6101}}},
		{"v3-ipv6-unicast", 4, []netip.Addr{h2v6},
			Advert{Version: 3, Type: 1, VRID: 51, Priority: 200, Interval: time.Second, Addrs: []netip.Addr{vip6100}}},
	}
)

// Every VRRP packet keepalived 2.2.7 sent decodes with the standard
// checksum (v3: with the IPv4 or IPv6 pseudo-header, RFC 5798 §5.2.8), says
// what keepalived was configured to send, and re-encodes to the same bytes.
func TestCapturedKeepalivedAdvertsDecodeAndReencodeByteExact(t *testing.T) {
	for _, c := range allCaptures {
		t.Run(c.name, func(t *testing.T) {
			pkts := readAdverts(t, c.name)
			if len(pkts) != c.count {
				t.Fatalf("%d VRRP packets, want %d", len(pkts), c.count)
			}
			var a Advert
			for i, p := range pkts {
				if want := c.dsts[i%len(c.dsts)]; p.IP.Dst != want {
					t.Errorf("packet %d to %v, want %v", i, p.IP.Dst, want)
				}
				mode, err := a.Decode(p.Msg, p.IP.Src, p.IP.Dst, ChecksumStandard)
				if err != nil {
					t.Fatalf("packet %d: %v\n% x", i, err, p.Msg)
				}
				if mode != ChecksumStandard {
					t.Errorf("packet %d: matched %v, want standard", i, mode)
				}
				want := c.first
				if i >= len(pkts)-len(c.dsts) {
					want.Priority = 0 // RFC 5798 §6.4.3: the leaving master sends priority 0
				}
				if diff := cmp.Diff(want, a, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
					t.Errorf("packet %d (-want +got):\n%s", i, diff)
				}
				out, err := a.Append(nil, p.IP.Src, p.IP.Dst, ChecksumStandard)
				if err != nil {
					t.Fatalf("packet %d: re-encode: %v", i, err)
				}
				if !bytes.Equal(out, p.Msg) {
					t.Errorf("packet %d re-encoded\n% x\nwant\n% x", i, out, p.Msg)
				}
				if a.Version == 2 {
					// v2 has no pseudo-header: MarshalBinary is complete.
					mb, err := a.MarshalBinary()
					if err != nil || !bytes.Equal(mb, p.Msg) {
						t.Errorf("packet %d MarshalBinary = % x, %v; want % x", i, mb, err, p.Msg)
					}
				}
				var u Advert
				if err := u.UnmarshalBinary(p.Msg); err != nil {
					t.Errorf("packet %d UnmarshalBinary: %v", i, err)
				} else if diff := cmp.Diff(a, u, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
					t.Errorf("packet %d UnmarshalBinary differs from Decode (-Decode +Unmarshal):\n%s", i, diff)
				}
			}
		})
	}
}

// keepalived computes the VRRPv3 checksum over the IPv4 pseudo-header by
// default: ChecksumEither reports so, and ChecksumNoPseudoHeader (its
// v3_checksum_as_v2 mode) rejects its packets. A unicast advert's
// pseudo-header holds the unicast destination, not the group.
func TestCapturedV3IPv4ChecksumModes(t *testing.T) {
	for _, name := range []string{"v3-ipv4-mcast", "v3-ipv4-unicast"} {
		for i, p := range readAdverts(t, name) {
			var a Advert
			if mode, err := a.Decode(p.Msg, p.IP.Src, p.IP.Dst, ChecksumEither); err != nil || mode != ChecksumStandard {
				t.Errorf("%s packet %d, either: %v, %v; want standard", name, i, mode, err)
			}
			if _, err := a.Decode(p.Msg, p.IP.Src, p.IP.Dst, ChecksumNoPseudoHeader); !errors.Is(err, ErrChecksum) {
				t.Errorf("%s packet %d without pseudo-header: %v, want ErrChecksum", name, i, err)
			}
			other := GroupIPv4
			if p.IP.Dst == GroupIPv4 {
				other = h2v4
			}
			if _, err := a.Decode(p.Msg, p.IP.Src, other, ChecksumStandard); !errors.Is(err, ErrChecksum) {
				t.Errorf("%s packet %d with destination %v in the pseudo-header: %v, want ErrChecksum", name, i, other, err)
			}
		}
	}
}

// The same message, checksummed the v3_checksum_as_v2 way, decodes with
// ChecksumNoPseudoHeader and ChecksumEither (which reports it) and is
// rejected by ChecksumStandard.
func TestChecksumWithoutPseudoHeaderRoundTrips(t *testing.T) {
	p := readAdverts(t, "v3-ipv4-mcast")[0]
	var a Advert
	if _, err := a.Decode(p.Msg, p.IP.Src, p.IP.Dst, ChecksumStandard); err != nil {
		t.Fatal(err)
	}
	msg, err := a.Append(nil, p.IP.Src, p.IP.Dst, ChecksumNoPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(msg, p.Msg) {
		t.Fatal("checksum without pseudo-header equals the standard one")
	}
	if mode, err := a.Decode(msg, p.IP.Src, p.IP.Dst, ChecksumEither); err != nil || mode != ChecksumNoPseudoHeader {
		t.Errorf("either: %v, %v; want no-pseudo-header", mode, err)
	}
	if mode, err := a.Decode(msg, p.IP.Src, p.IP.Dst, ChecksumNoPseudoHeader); err != nil || mode != ChecksumNoPseudoHeader {
		t.Errorf("no-pseudo-header: %v, %v", mode, err)
	}
	if _, err := a.Decode(msg, p.IP.Src, p.IP.Dst, ChecksumStandard); !errors.Is(err, ErrChecksum) {
		t.Errorf("standard: %v, want ErrChecksum", err)
	}
	// The v2 checksum never had a pseudo-header: every mode accepts it.
	v2 := readAdverts(t, "v2-pass-mcast")[0]
	for _, mode := range []ChecksumMode{ChecksumStandard, ChecksumNoPseudoHeader, ChecksumEither} {
		if _, err := a.Decode(v2.Msg, v2.IP.Src, v2.IP.Dst, mode); err != nil {
			t.Errorf("v2 in mode %v: %v", mode, err)
		}
	}
}
