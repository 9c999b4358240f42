//go:build linux

package vip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// recreateLink replaces h's interface ifname by a new veth of that name
// on the lab's bridge, with MAC mac and h's IPv4 address, and brings it
// up: an interface deleted and created again gets a new index.
func recreateLink(t *testing.T, lab *netlab.Lab, h *netlab.Host, ifname, port string, mac net.HardwareAddr) {
	t.Helper()
	if out, err := h.Run("ip", "link", "del", ifname); err != nil && !strings.Contains(out, "Cannot find device") {
		t.Fatalf("ip link del %s: %v %s", ifname, err, out)
	}
	addLink(t, lab, h, ifname, port, mac)
}

// addLink creates veth ifname in h, its peer port on the lab's bridge.
func addLink(t *testing.T, lab *netlab.Lab, h *netlab.Host, ifname, port string, mac net.HardwareAddr) {
	t.Helper()
	sw := lab.SwitchNamespace()
	for _, args := range [][]string{
		{"ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", h.Namespace},
		{"ip", "-n", sw, "link", "set", port, "master", "br0", "up"},
		{"ip", "-n", h.Namespace, "link", "set", ifname, "address", mac.String()},
		{"ip", "-n", h.Namespace, "addr", "add", h.IPv4.String() + "/24", "dev", ifname},
		{"ip", "-n", h.Namespace, "link", "set", ifname, "up"},
	} {
		if out, err := h.Run(args[0], args[1:]...); err != nil {
			t.Fatalf("%s: %v %s", strings.Join(args, " "), err, out)
		}
	}
}

// ifindexOf is the index of ifname in h.
func ifindexOf(t *testing.T, h *netlab.Host, ifname string) int {
	t.Helper()
	var idx int
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err == nil {
			idx = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

// awaitAddr waits until ifname in h has prefix.
func awaitAddr(t *testing.T, h *netlab.Host, ifname, prefix string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		out, _ := h.Run("ip", "-o", "addr", "show", "dev", ifname)
		if strings.Contains(out, " "+prefix+" ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not on %s within 5 s:\n%s", prefix, ifname, out)
		}
		<-tick.C
	}
}

// awaitOperUp waits until ifname in h is operationally up.
func awaitOperUp(t *testing.T, h *netlab.Host, ifname string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		out, _ := h.Run("ip", "-o", "link", "show", "dev", ifname)
		if strings.Contains(out, " state UP ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up within 5 s:\n%s", ifname, out)
		}
		<-tick.C
	}
}

func srcMAC(f netlab.Frame) net.HardwareAddr { return net.HardwareAddr(f.Data[6:12]) }

// sinceMatching returns the frames captured from index from on that
// match.
func sinceMatching(c *netlab.Capture, from int, match func(netlab.Frame) bool) []netlab.Frame {
	fs, _ := c.Since(from)
	var out []netlab.Frame
	for _, f := range fs {
		if match(f) {
			out = append(out, f)
		}
	}
	return out
}

// waitFramesSince waits for n frames matching from capture index from on.
func waitFramesSince(t *testing.T, c *netlab.Capture, from, n int, match func(netlab.Frame) bool) []netlab.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.WaitFor(ctx, func(netlab.Frame) bool { return len(sinceMatching(c, from, match)) >= n })
	got := sinceMatching(c, from, match)
	if err != nil {
		t.Fatalf("waiting for %d frames, saw %d: %v", n, len(got), err)
	}
	return got
}

var vipA = netip.MustParsePrefix("10.0.0.100/24")

func garpFrom(ip netip.Addr, mac net.HardwareAddr) func(netlab.Frame) bool {
	return func(f netlab.Frame) bool { return isGARP(f, ip) && bytes.Equal(srcMAC(f), mac) }
}

// The interface a VIP is configured on is deleted and created again (a
// new index, a new MAC): the backend puts the held VIP on the new one and
// announces it with the new MAC, without another Acquire.
func TestLinuxFollowsARecreatedInterface(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	capture := lab.Capture()
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{Repeat: 2}})
	set := vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: vipA}}}
	if err := l.Acquire(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, capture, 2, garpFrom(vipA.Addr(), h.MAC))
	before := ifindexOf(t, h, "eth0")

	mark := len(capture.Frames())
	newMAC := net.HardwareAddr{0x02, 0, 0, 0, 0x01, 0x01}
	recreateLink(t, lab, h, "eth0", "r1", newMAC)
	if after := ifindexOf(t, h, "eth0"); after == before {
		t.Fatalf("eth0 kept index %d: the test needs a new one", before)
	}
	awaitAddr(t, h, "eth0", vipA.String())
	waitFramesSince(t, capture, mark, 2, garpFrom(vipA.Addr(), newMAC))
	if stale := sinceMatching(capture, mark, garpFrom(vipA.Addr(), h.MAC)); len(stale) > 0 {
		t.Errorf("%d announcements with the deleted interface's MAC", len(stale))
	}
	if err := l.Release(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	if got := find(addrs(t, h, "eth0"), vipA.String()); len(got) != 0 {
		t.Error("Release left the VIP on the re-created interface")
	}
}

// eth0 renamed lan0: a set configured on lan0 is acquired and announced
// there with its MAC, the VIP held on the renamed device is still
// announced (found by index, not by its old name), and when a new eth0
// appears the VIP configured on eth0 moves to it.
func TestLinuxFollowsARenamedInterface(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	capture := lab.Capture()
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{Repeat: 1, LowerPrioRepeat: 1}})
	ctx := context.Background()
	a := vrrp.AddressSet{Router: "A", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: vipA}}}
	if err := l.Acquire(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{"link set eth0 down", "link set eth0 name lan0", "link set lan0 up"} {
		if out, err := h.Run("ip", strings.Fields(args)...); err != nil {
			t.Fatalf("ip %s: %v %s", args, err, out)
		}
	}
	// As a router would, acquire once the link is up again: frames sent
	// before the kernel has it running are dropped.
	awaitOperUp(t, h, "lan0")
	vipB := netip.MustParsePrefix("10.0.0.102/24")
	b := vrrp.AddressSet{Router: "B", VRID: 2, Interface: "lan0", VIPs: []vrrp.VIP{{Prefix: vipB}}}
	mark := len(capture.Frames())
	if err := l.Acquire(ctx, b); err != nil {
		t.Fatalf("acquire on the renamed interface: %v", err)
	}
	awaitAddr(t, h, "lan0", vipB.String())
	waitFramesSince(t, capture, mark, 1, garpFrom(vipB.Addr(), h.MAC))
	if err := l.Announce(ctx, a); err != nil {
		t.Errorf("announce of the VIP held on the renamed interface: %v", err)
	}
	waitFramesSince(t, capture, mark, 1, garpFrom(vipA.Addr(), h.MAC))

	newMAC := net.HardwareAddr{0x02, 0, 0, 0, 0x03, 0x03}
	mark = len(capture.Frames())
	addLink(t, lab, h, "eth0", "r1", newMAC)
	awaitAddr(t, h, "eth0", vipA.String())
	waitFramesSince(t, capture, mark, 1, garpFrom(vipA.Addr(), newMAC))
	if got := find(addrs(t, h, "lan0"), vipA.String()); len(got) != 0 {
		t.Errorf("%s left on lan0 after moving to the new eth0", vipA)
	}
}

// A new MAC address on the interface: announcements go out with it at
// once and the rest of the schedule uses it too, not the MAC of when the
// VIP was acquired.
func TestLinuxAnnouncesWithTheCurrentMAC(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	capture := lab.Capture()
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{Repeat: 1, Delay: 1500 * time.Millisecond}})
	set := vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: vipA}}}
	if err := l.Acquire(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, capture, 1, garpFrom(vipA.Addr(), h.MAC))
	newMAC := net.HardwareAddr{0x02, 0, 0, 0, 0x04, 0x04}
	mark := len(capture.Frames())
	if out, err := h.Run("ip", "link", "set", "eth0", "address", newMAC.String()); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// One at once for the change, one when the schedule's second burst
	// comes.
	waitFramesSince(t, capture, mark, 2, garpFrom(vipA.Addr(), newMAC))
	if stale := sinceMatching(capture, mark, garpFrom(vipA.Addr(), h.MAC)); len(stale) > 0 {
		t.Errorf("%d announcements after the change with the old MAC", len(stale))
	}
}

// Acquire resolves interfaces from the link cache: no RTM_GETLINK per
// call once the backend has read the interfaces.
func TestLinuxAcquireUsesTheLinkCache(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	ctx := context.Background()
	before := l.links.queries.Load()
	for i := range 50 {
		set := vrrp.AddressSet{Router: fmt.Sprint("VI_", i), VRID: i + 1, Interface: "eth0",
			VIPs: []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}), 24)}}}
		if err := l.Acquire(ctx, set); err != nil {
			t.Fatal(err)
		}
		if err := l.Announce(ctx, set); err != nil {
			t.Fatal(err)
		}
		if err := l.Release(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.links.queries.Load() - before; n != 0 {
		t.Errorf("%d interface lookups for 50 acquisitions, want 0", n)
	}
}

// Acquire lists each address it could not add (FailedAddresses), adds
// the others, and may be called again: then it adds what failed, and the
// announcement schedule of what it already held goes on instead of
// starting over.
func TestLinuxFailedAddressesAreListedAndRetried(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	capture := lab.Capture()
	const delay = 2 * time.Second
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{Repeat: 1, Delay: delay}})
	vipB := netip.MustParsePrefix("10.9.0.1/24")
	set := vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{
		{Prefix: vipA}, {Prefix: vipB, Interface: "vip1"},
	}}
	ctx := context.Background()
	err := l.Acquire(ctx, set)
	failed := FailedAddresses(err)
	if len(failed) != 1 || failed[0].Prefix != vipB || failed[0].Interface != "vip1" || failed[0].Op != "add" {
		t.Fatalf("Acquire = %v; failed addresses %v, want %s on vip1", err, failed, vipB)
	}
	start := time.Now()
	awaitAddr(t, h, "eth0", vipA.String())

	for _, args := range []string{"link add vip1 type veth peer name vip1p", "link set vip1p up", "link set vip1 up"} {
		if out, err := h.Run("ip", strings.Fields(args)...); err != nil {
			t.Fatalf("ip %s: %v %s", args, err, out)
		}
	}
	if err := l.Acquire(ctx, set); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	awaitAddr(t, h, "vip1", vipB.String())
	// The delayed burst of the first Acquire comes; a schedule started
	// over would have sent one more at the retry.
	all := waitFrames(t, capture, 2, garpFrom(vipA.Addr(), h.MAC))
	if late := all[len(all)-1].Time.Sub(start); late < delay/2 {
		t.Errorf("second announcement %v after the first Acquire, want the delayed one", late)
	}
	if len(all) != 2 {
		t.Errorf("%d announcements of %s, want 2 (its schedule, once)", len(all), vipA)
	}
	if err := l.Release(ctx, set); err != nil {
		t.Fatal(err)
	}
	for ifname, p := range map[string]string{"eth0": vipA.String(), "vip1": vipB.String()} {
		if got := find(addrs(t, h, ifname), p); len(got) != 0 {
			t.Errorf("%s left on %s", p, ifname)
		}
	}
}

// BenchmarkLinuxAcquireRelease is one router's takeover and handback on
// the Linux backend (one VIP, no announcements): netlink address
// requests, and the interface lookups the link cache saves.
func BenchmarkLinuxAcquireRelease(b *testing.B) {
	lab := netlab.New(b, 1)
	h := lab.Host(1)
	var l *Linux
	if err := h.Do(func() (err error) { l, err = NewLinux(LinuxConfig{Schedule: &Schedule{}}); return err }); err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	set := vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: vipA}}}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Acquire(ctx, set); err != nil {
			b.Fatal(err)
		}
		if err := l.Release(ctx, set); err != nil {
			b.Fatal(err)
		}
	}
}
