package vip

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// capturedAnnouncements returns the gratuitous ARPs (IPv4) or neighbor
// advertisements (IPv6) keepalived 2.2.7 sent in a capture, in order.
func capturedAnnouncements(t *testing.T, name string) []pcapfile.Frame {
	t.Helper()
	frames, err := pcapfile.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []pcapfile.Frame
	for _, f := range frames {
		et, payload, err := f.Ether()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case et == pcapfile.EtherTypeARP:
			out = append(out, f)
		case et == pcapfile.EtherTypeIPv6 && len(payload) > 40 && payload[6] == 58 && payload[40] == 136:
			out = append(out, f)
		}
	}
	return out
}

func TestGratuitousARPMatchesKeepalivedByteForByte(t *testing.T) {
	frames := capturedAnnouncements(t, "v2-pass-mcast.pcap")
	if len(frames) != 10 {
		t.Fatalf("capture has %d gratuitous ARPs, want 10 (5 rounds × 2 VIPs)", len(frames))
	}
	for i, f := range frames {
		mac := net.HardwareAddr(f.Data[6:12])
		ip := netip.AddrFrom4([4]byte(f.Data[28:32]))
		got := appendGratuitousARP(nil, mac, ip)
		if !bytes.Equal(got, f.Data) {
			t.Errorf("frame %d (%s):\n got %x\nwant %x", i, ip, got, f.Data)
		}
		if len(got) != garpLen {
			t.Errorf("frame %d: %d bytes, want %d", i, len(got), garpLen)
		}
	}
}

func TestUnsolicitedNAMatchesKeepalivedByteForByte(t *testing.T) {
	frames := capturedAnnouncements(t, "v3-ipv6-mcast.pcap")
	if len(frames) != 10 {
		t.Fatalf("capture has %d neighbor advertisements, want 10 (5 rounds × 2 VIPs)", len(frames))
	}
	for i, f := range frames {
		mac := net.HardwareAddr(f.Data[6:12])
		ip := netip.AddrFrom16([16]byte(f.Data[14+8 : 14+24]))
		// keepalived sets the Router flag when the interface forwards
		// IPv6; the capture's host did not.
		got := appendUnsolicitedNA(nil, mac, ip, false)
		if !bytes.Equal(got, f.Data) {
			t.Errorf("frame %d (%s):\n got %x\nwant %x", i, ip, got, f.Data)
		}
		if len(got) != naLen {
			t.Errorf("frame %d: %d bytes, want %d", i, len(got), naLen)
		}
	}
}

// RFC 4861 §7.2.6 / RFC 5798 §6.4.2: an unsolicited advertisement has the
// Solicited flag clear and the Override flag set; the Router flag says
// whether the sender routes.
func TestUnsolicitedNAFlags(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	ip := netip.MustParseAddr("fd00::100")
	for _, router := range []bool{false, true} {
		b := appendUnsolicitedNA(nil, mac, ip, router)
		icmp := b[14+40:]
		flags := icmp[4]
		if flags&naFlagOverride == 0 {
			t.Errorf("router=%v: Override clear", router)
		}
		if flags&naFlagSolicited != 0 {
			t.Errorf("router=%v: Solicited set", router)
		}
		if got := flags&naFlagRouter != 0; got != router {
			t.Errorf("router=%v: Router flag %v", router, got)
		}
		if b[14+7] != 255 {
			t.Errorf("hop limit %d, want 255 (RFC 4861 §7.1.2)", b[14+7])
		}
		// The checksum over the pseudo-header and the message is 0xffff
		// folded, i.e. recomputing with the field in place gives 0.
		src, dst := [16]byte(b[14+8:14+24]), [16]byte(b[14+24:14+40])
		if sum := icmpv6Checksum(src, dst, icmp); sum != 0 {
			t.Errorf("router=%v: checksum does not verify (residue %#04x)", router, sum)
		}
		if got := binary.BigEndian.Uint16(b[12:14]); got != etherTypeIPv6 {
			t.Errorf("EtherType %#04x", got)
		}
	}
}

func TestFramesAppendWithoutAllocatingWhenRoomy(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	v4 := netip.MustParseAddr("10.0.0.100")
	v6 := netip.MustParseAddr("fd00::100")
	buf := make([]byte, 0, 128)
	allocs := testing.AllocsPerRun(100, func() {
		_ = appendGratuitousARP(buf[:0], mac, v4)
		_ = appendUnsolicitedNA(buf[:0], mac, v6, true)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run, want 0", allocs)
	}
}
