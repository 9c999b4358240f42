//go:build linux

package vip

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// newLabLinux opens a Linux backend inside host h; it is closed at cleanup.
func newLabLinux(t *testing.T, h *netlab.Host, cfg *LinuxConfig) *Linux {
	t.Helper()
	if cfg == nil {
		cfg = &LinuxConfig{}
	}
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	var l *Linux
	if err := h.Do(func() (err error) {
		l, err = NewLinux(*cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l
}

// ipAddr is the part of `ip -j addr` the tests read.
type ipAddr struct {
	Family     string `json:"family"`
	Local      string `json:"local"`
	Prefixlen  int    `json:"prefixlen"`
	Label      string `json:"label"`
	Secondary  bool   `json:"secondary"`
	Nodad      bool   `json:"nodad"`
	Deprecated bool   `json:"deprecated"`
	Tentative  bool   `json:"tentative"`
	Preferred  uint32 `json:"preferred_life_time"`
}

// addrs lists the addresses of ifname in h, as `ip -j addr` sees them.
func addrs(t *testing.T, h *netlab.Host, ifname string) []ipAddr {
	t.Helper()
	out, err := h.Run("ip", "-j", "addr", "show", "dev", ifname)
	if err != nil {
		t.Fatal(err)
	}
	var links []struct {
		AddrInfo []ipAddr `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("ip -j addr: %v\n%s", err, out)
	}
	if len(links) != 1 {
		t.Fatalf("ip -j addr show dev %s: %d links", ifname, len(links))
	}
	return links[0].AddrInfo
}

// find returns the entries for prefix (there should be one).
func find(list []ipAddr, prefix string) []ipAddr {
	p := netip.MustParsePrefix(prefix)
	var out []ipAddr
	for _, a := range list {
		if a.Local == p.Addr().String() && a.Prefixlen == p.Bits() {
			out = append(out, a)
		}
	}
	return out
}

// acquireAll acquires each set in turn, failing the test at the first error.
func acquireAll(t *testing.T, l *Linux, sets ...vrrp.AddressSet) {
	t.Helper()
	for _, set := range sets {
		if err := l.Acquire(context.Background(), set); err != nil {
			t.Fatal(err)
		}
	}
}

func labSets(h *netlab.Host) (v4, v6 vrrp.AddressSet) {
	v4 = vrrp.AddressSet{Router: "VI_4", VRID: 51, Interface: h.Ifname, Priority: 200, VIPs: []vrrp.VIP{
		{Prefix: netip.MustParsePrefix("10.0.0.100/24"), Label: "eth0:vip"},
		{Prefix: netip.MustParsePrefix("10.0.0.101/32")},
	}}
	v6 = vrrp.AddressSet{Router: "VI_6", VRID: 51, Interface: h.Ifname, IPv6: true, Priority: 200, VIPs: []vrrp.VIP{
		{Prefix: netip.MustParsePrefix("fd00::100/64")},
		{Prefix: netip.MustParsePrefix("fd00::101/128")},
	}}
	return v4, v6
}

func TestLinuxAcquireAndReleaseAreIdempotent(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	ctx := context.Background()
	v4, v6 := labSets(h)

	for i := range 2 {
		if err := l.Acquire(ctx, v4); err != nil {
			t.Fatalf("acquire v4 #%d: %v", i+1, err)
		}
		if err := l.Acquire(ctx, v6); err != nil {
			t.Fatalf("acquire v6 #%d: %v", i+1, err)
		}
		list := addrs(t, h, "eth0")
		for _, p := range []string{"10.0.0.100/24", "10.0.0.101/32", "fd00::100/64", "fd00::101/128"} {
			if got := find(list, p); len(got) != 1 {
				t.Fatalf("after acquire #%d: %s present %d times: %+v", i+1, p, len(got), list)
			}
		}
		a := find(list, "10.0.0.100/24")[0]
		if a.Label != "eth0:vip" {
			t.Errorf("label %q, want eth0:vip", a.Label)
		}
		// In the subnet of 10.0.0.1/24: a secondary, never the source.
		if !a.Secondary {
			t.Errorf("10.0.0.100/24 is not secondary: %+v", a)
		}
		for _, p := range []string{"fd00::100/64", "fd00::101/128"} {
			a := find(list, p)[0]
			if !a.Nodad || a.Tentative {
				t.Errorf("%s: nodad=%v tentative=%v, want added without DAD", p, a.Nodad, a.Tentative)
			}
			if !a.Deprecated || a.Preferred != 0 {
				t.Errorf("%s: deprecated=%v preferred_lft=%d, want deprecated (IPv6SourceAvoid)", p, a.Deprecated, a.Preferred)
			}
		}
	}

	// Usable at once: a tentative address cannot be bound.
	if err := h.Do(func() error {
		c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.ParseIP("fd00::100")})
		if err != nil {
			return err
		}
		return c.Close()
	}); err != nil {
		t.Errorf("binding to fd00::100 right after Acquire: %v", err)
	}

	for i := range 2 {
		if err := l.Release(ctx, v4); err != nil {
			t.Fatalf("release v4 #%d: %v", i+1, err)
		}
		if err := l.Release(ctx, v6); err != nil {
			t.Fatalf("release v6 #%d: %v", i+1, err)
		}
		list := addrs(t, h, "eth0")
		for _, p := range []string{"10.0.0.100/24", "10.0.0.101/32", "fd00::100/64", "fd00::101/128"} {
			if got := find(list, p); len(got) != 0 {
				t.Fatalf("after release #%d: %s still present", i+1, p)
			}
		}
		if got := find(list, "10.0.0.1/24"); len(got) != 1 {
			t.Fatalf("the host's own address went away: %+v", list)
		}
	}
	if err := l.Announce(ctx, v4); err == nil || !strings.Contains(err.Error(), "not acquired") {
		t.Errorf("announce after release: %v", err)
	}
}

func TestLinuxReacquireRemovesAddressesNoLongerListed(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	ctx := context.Background()
	v4, _ := labSets(h)
	if err := l.Acquire(ctx, v4); err != nil {
		t.Fatal(err)
	}
	v4.VIPs = v4.VIPs[:1]
	if err := l.Acquire(ctx, v4); err != nil {
		t.Fatal(err)
	}
	list := addrs(t, h, "eth0")
	if len(find(list, "10.0.0.100/24")) != 1 || len(find(list, "10.0.0.101/32")) != 0 {
		t.Errorf("after re-acquiring with one VIP: %+v", list)
	}
}

func TestLinuxPerVIPInterfaceOverride(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	if _, err := h.Run("sh", "-c", "ip link add vx0 type veth peer name vx1 && ip link set vx0 up && ip link set vx1 up"); err != nil {
		t.Fatal(err)
	}
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	set := vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{
		{Prefix: netip.MustParsePrefix("10.0.0.100/24")},
		{Prefix: netip.MustParsePrefix("192.168.7.1/24"), Interface: "vx0", Label: "vx0:1"},
	}}
	if err := l.Acquire(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	if got := find(addrs(t, h, "vx0"), "192.168.7.1/24"); len(got) != 1 || got[0].Label != "vx0:1" {
		t.Errorf("vx0: %+v, want 192.168.7.1/24 label vx0:1", got)
	}
	if got := find(addrs(t, h, "eth0"), "192.168.7.1/24"); len(got) != 0 {
		t.Errorf("192.168.7.1/24 went to eth0 too")
	}
	if err := l.Release(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	if got := find(addrs(t, h, "vx0"), "192.168.7.1/24"); len(got) != 0 {
		t.Errorf("vx0 keeps the VIP after Release")
	}
}

func TestLinuxMissingInterfaceErrorNamesIt(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	set := vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{
		{Prefix: netip.MustParsePrefix("10.0.0.100/24")},
		{Prefix: netip.MustParsePrefix("10.9.0.1/24"), Interface: "nosuch0"},
	}}
	err := l.Acquire(context.Background(), set)
	if err == nil {
		t.Fatal("acquire with a missing interface succeeded")
	}
	if want := "vip: add 10.9.0.1/24 to nosuch0: "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	// The other address is still there and held: reported, not half-hidden.
	if got := find(addrs(t, h, "eth0"), "10.0.0.100/24"); len(got) != 1 {
		t.Errorf("10.0.0.100/24 not added next to the failing VIP")
	}
	// A router whose interface is missing altogether.
	set.Interface = "nosuch1"
	set.VIPs = set.VIPs[:1]
	set.Router = "VI_2"
	err = l.Acquire(context.Background(), set)
	if err == nil || !strings.Contains(err.Error(), "vip: add 10.0.0.100/24 to nosuch1: ") {
		t.Errorf("acquire on nosuch1: %v", err)
	}
	// Releasing from an interface that does not exist: nothing to remove.
	if err := l.Release(context.Background(), set); err != nil {
		t.Errorf("release on nosuch1: %v", err)
	}
}

// isGARP reports whether f is a gratuitous ARP for ip.
func isGARP(f netlab.Frame, ip netip.Addr) bool {
	d := f.Data
	return len(d) >= garpLen && d[12] == 0x08 && d[13] == 0x06 && netip.AddrFrom4([4]byte(d[28:32])) == ip
}

// isNA reports whether f is a neighbor advertisement for ip.
func isNA(f netlab.Frame, ip netip.Addr) bool {
	d := f.Data
	return len(d) >= naLen && d[12] == 0x86 && d[13] == 0xdd && d[14+6] == 58 && d[14+40] == 136 &&
		netip.AddrFrom16([16]byte(d[14+48:14+64])) == ip
}

func waitFrames(t *testing.T, c *netlab.Capture, n int, match func(netlab.Frame) bool) []netlab.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	count := 0
	_, err := c.WaitFor(ctx, func(f netlab.Frame) bool {
		if match(f) {
			count++
		}
		return count >= n
	})
	var got []netlab.Frame
	for _, f := range c.Frames() {
		if match(f) {
			got = append(got, f)
		}
	}
	if err != nil {
		t.Fatalf("waiting for %d frames, saw %d: %v", n, len(got), err)
	}
	return got
}

func TestLinuxAnnouncementsOnTheWire(t *testing.T) {
	lab := netlab.New(t, 2)
	h := lab.Host(1)
	capture := lab.Capture()
	const delay = 400 * time.Millisecond
	sched := Schedule{Repeat: 3, Delay: delay}
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &sched, RouterFlag: RouterFlagSet})
	ctx := context.Background()
	v4, v6 := labSets(h)
	vips := []netip.Addr{
		netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101"),
		netip.MustParseAddr("fd00::100"), netip.MustParseAddr("fd00::101"),
	}
	mine := func(f netlab.Frame) bool {
		for _, ip := range vips {
			if isGARP(f, ip) || isNA(f, ip) {
				return true
			}
		}
		return false
	}
	acquireAll(t, l, v4, v6)
	// 2 batches × 3 rounds × 4 addresses.
	got := waitFrames(t, capture, 24, mine)
	if len(got) != 24 {
		t.Fatalf("%d announcements, want 24", len(got))
	}

	// Every frame is exactly what the builders make (themselves checked
	// byte for byte against keepalived's).
	for i, f := range got {
		var want []byte
		for _, ip := range vips {
			switch {
			case isGARP(f, ip):
				want = appendGratuitousARP(nil, h.MAC, ip)
			case isNA(f, ip):
				want = appendUnsolicitedNA(nil, h.MAC, ip, true)
			}
		}
		if !bytes.Equal(f.Data, want) {
			t.Errorf("frame %d:\n got %x\nwant %x", i, f.Data, want)
		}
	}

	// Per family: rounds over the addresses in order, 3 at once, 3 after
	// the delay (observed timestamps; generous bounds).
	for _, fam := range [][]netip.Addr{vips[:2], vips[2:]} {
		var seq []netip.Addr
		var times []time.Time
		for _, f := range got {
			for _, ip := range fam {
				if isGARP(f, ip) || isNA(f, ip) {
					seq = append(seq, ip)
					times = append(times, f.Time)
				}
			}
		}
		want := slices.Repeat(fam, 6)
		if !slices.Equal(seq, want) {
			t.Errorf("order %v, want %v", seq, want)
		}
		first, second := times[:6], times[6:]
		if spread := first[5].Sub(first[0]); spread > delay/2 {
			t.Errorf("first batch spread over %v", spread)
		}
		if spread := second[5].Sub(second[0]); spread > delay/2 {
			t.Errorf("second batch spread over %v", spread)
		}
		if gap := second[0].Sub(first[0]); gap < delay-delay/4 || gap > 10*delay {
			t.Errorf("second batch %v after the first, want about %v", gap, delay)
		}
	}

	// Release stops the schedule: acquire another router whose second
	// batch comes later than anything the released routers had pending,
	// and check the released addresses stayed silent meanwhile.
	if err := l.Acquire(ctx, v4); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, v4); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	other := vrrp.AddressSet{Router: "VI_9", VRID: 9, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.109/24")}}}
	if err := l.Acquire(ctx, other); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, capture, 6, func(f netlab.Frame) bool { return isGARP(f, netip.MustParseAddr("10.0.0.109")) })
	var after int
	for _, f := range capture.Frames() {
		if (isGARP(f, vips[0]) || isGARP(f, vips[1])) && f.Time.After(released.Add(delay/2)) {
			after++
		}
	}
	if after != 0 {
		t.Errorf("%d gratuitous ARPs for released addresses after Release", after)
	}
}

func TestLinuxNeighborCachesLearnTheVIPFromAnnouncements(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	// h2 believes the VIPs are somewhere else (a previous master).
	for _, cmd := range []string{
		"ip neigh replace 10.0.0.100 lladdr 02:00:00:00:00:99 dev eth0 nud stale",
		"ip -6 neigh replace fd00::100 lladdr 02:00:00:00:00:99 dev eth0 nud stale",
	} {
		if _, err := h2.Run("sh", "-c", cmd); err != nil {
			t.Fatal(err)
		}
	}
	l := newLabLinux(t, h1, &LinuxConfig{Schedule: &Schedule{Repeat: 1}})
	v4, v6 := labSets(h1)
	if err := l.Acquire(context.Background(), v4); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(context.Background(), v6); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"10.0.0.100", "fd00::100"} {
		waitNeighbor(t, h2, ip, h1.MAC)
	}
}

// waitNeighbor waits until h's neighbor cache maps ip to mac.
func waitNeighbor(t *testing.T, h *netlab.Host, ip string, mac net.HardwareAddr) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		out, err := h.Run("ip", "-j", "neigh", "show", ip, "dev", "eth0")
		if err != nil {
			t.Fatal(err)
		}
		var entries []struct {
			Lladdr string `json:"lladdr"`
		}
		if err := json.Unmarshal([]byte(out), &entries); err == nil && len(entries) == 1 && entries[0].Lladdr == mac.String() {
			return
		}
		last = out
		if time.Now().After(deadline) {
			t.Fatalf("%s's neighbor entry for %s never became %s: %s", h.Name, ip, mac, last)
		}
		<-tick.C
	}
}

func TestLinuxRestoresAVIPDeletedByHand(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	capture := lab.Capture()
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{Repeat: 2}})
	v4, v6 := labSets(h)
	ctx := context.Background()
	acquireAll(t, l, v4, v6)
	for _, tc := range []struct {
		prefix string
		ann    func(netlab.Frame, netip.Addr) bool
	}{
		{"10.0.0.100/24", isGARP},
		{"fd00::101/128", isNA},
	} {
		p := netip.MustParsePrefix(tc.prefix)
		// 2 announcements at Acquire; 2 more when restored.
		waitFrames(t, capture, 2, func(f netlab.Frame) bool { return tc.ann(f, p.Addr()) })
		if _, err := h.Run("ip", "addr", "del", tc.prefix, "dev", "eth0"); err != nil {
			t.Fatal(err)
		}
		waitFrames(t, capture, 4, func(f netlab.Frame) bool { return tc.ann(f, p.Addr()) })
		got := find(addrs(t, h, "eth0"), tc.prefix)
		if len(got) != 1 {
			t.Fatalf("%s not back after deletion", tc.prefix)
		}
		if p.Addr().Is6() && (!got[0].Nodad || !got[0].Deprecated) {
			t.Errorf("%s restored without its flags: %+v", tc.prefix, got[0])
		}
	}
	// Our own Release is not "someone else": the address stays gone.
	if err := l.Release(ctx, v4); err != nil {
		t.Fatal(err)
	}
	// Acquire and release another address as a marker: its
	// notifications come after the released ones on the same socket.
	marker := vrrp.AddressSet{Router: "M", VRID: 2, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.99/32")}}}
	if err := l.Acquire(ctx, marker); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Run("ip", "addr", "del", "10.0.0.99/32", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, capture, 4, func(f netlab.Frame) bool { return isGARP(f, netip.MustParseAddr("10.0.0.99")) })
	if got := find(addrs(t, h, "eth0"), "10.0.0.100/24"); len(got) != 0 {
		t.Errorf("10.0.0.100/24 came back after our own Release")
	}
}

func TestLinuxVIPIsNotTheSourceOfTheHostsTraffic(t *testing.T) {
	lab := netlab.New(t, 2)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	v4, v6 := labSets(h)
	if err := l.Acquire(context.Background(), v4); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(context.Background(), v6); err != nil {
		t.Fatal(err)
	}
	// Default routes through a gateway that is never contacted: `ip route
	// get` and connecting a UDP socket send nothing.
	for _, cmd := range []string{"ip route add default via 10.0.0.254", "ip -6 route add default via fd00::fe"} {
		if _, err := h.Run("sh", "-c", cmd); err != nil {
			t.Fatal(err)
		}
	}
	for _, dst := range []netip.Addr{
		lab.Host(2).IPv4, lab.Host(2).IPv6,
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"),
	} {
		out, err := h.Run("ip", "-j", "route", "get", dst.String())
		if err != nil {
			t.Fatal(err)
		}
		var routes []struct {
			Prefsrc string `json:"prefsrc"`
		}
		if err := json.Unmarshal([]byte(out), &routes); err != nil || len(routes) != 1 {
			t.Fatalf("ip route get %s: %v %s", dst, err, out)
		}
		want := h.IPv4
		if dst.Is6() {
			want = h.IPv6
		}
		if routes[0].Prefsrc != want.String() {
			t.Errorf("route to %s: source %s, want %s", dst, routes[0].Prefsrc, want)
		}
		// What a program gets: a connected UDP socket's local address.
		if err := h.Do(func() error {
			c, err := net.Dial("udp", net.JoinHostPort(dst.String(), "9"))
			if err != nil {
				return err
			}
			defer c.Close()
			local := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
			if local != want {
				return fmt.Errorf("UDP to %s leaves from %s, want %s", dst, local, want)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
}

func TestLinuxIPv6SourceKeepalivedDeprecatesOnlySlash128(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}, IPv6Source: IPv6SourceKeepalived})
	_, v6 := labSets(h)
	if err := l.Acquire(context.Background(), v6); err != nil {
		t.Fatal(err)
	}
	list := addrs(t, h, "eth0")
	if a := find(list, "fd00::101/128"); len(a) != 1 || !a[0].Deprecated {
		t.Errorf("fd00::101/128 not deprecated: %+v", a)
	}
	if a := find(list, "fd00::100/64"); len(a) != 1 || a[0].Deprecated {
		t.Errorf("fd00::100/64 deprecated: %+v", a)
	}
	// Why IPv6SourceAvoid is the default: here the kernel picks the /64 VIP.
	out, _ := h.Run("ip", "route", "get", "fd00::2")
	t.Logf("with keepalived's default: %s", strings.TrimSpace(out))
}

func TestLinuxCloseRemovesEverything(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	var l *Linux
	if err := h.Do(func() (err error) {
		l, err = NewLinux(LinuxConfig{Logger: zaptest.NewLogger(t)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	v4, v6 := labSets(h)
	if err := l.Acquire(context.Background(), v4); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(context.Background(), v6); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	list := addrs(t, h, "eth0")
	for _, p := range []string{"10.0.0.100/24", "10.0.0.101/32", "fd00::100/64", "fd00::101/128"} {
		if got := find(list, p); len(got) != 0 {
			t.Errorf("%s left behind by Close", p)
		}
	}
	if err := l.Acquire(context.Background(), v4); err == nil {
		t.Error("acquire after close succeeded")
	}
}

// keepalived sets the NA's Router flag from the interface's IPv6
// forwarding; Announce sends garp_lower_prio_repeat more.
func TestLinuxRouterFlagFollowsForwardingAndAnnounceSendsMore(t *testing.T) {
	netlab.NeedTool(t, "sysctl", "to turn IPv6 forwarding on in the lab host")
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	capture := lab.Capture()
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{Repeat: 1, LowerPrioRepeat: 2}})
	ctx := context.Background()
	set := vrrp.AddressSet{Router: "VI_6", VRID: 6, Interface: "eth0", IPv6: true,
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("fd00::100/64")}}}
	vip := netip.MustParseAddr("fd00::100")
	routerFlag := func(f netlab.Frame) bool { return f.Data[14+40+4]&naFlagRouter != 0 }

	if _, err := h.Run("sysctl", "-qw", "net.ipv6.conf.eth0.forwarding=1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx, set); err != nil {
		t.Fatal(err)
	}
	got := waitFrames(t, capture, 1, func(f netlab.Frame) bool { return isNA(f, vip) })
	if !routerFlag(got[0]) {
		t.Errorf("forwarding on: Router flag clear")
	}
	if err := l.Release(ctx, set); err != nil {
		t.Fatal(err)
	}

	if _, err := h.Run("sysctl", "-qw", "net.ipv6.conf.eth0.forwarding=0"); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := l.Announce(ctx, set); err != nil {
		t.Fatal(err)
	}
	got = waitFrames(t, capture, 4, func(f netlab.Frame) bool { return isNA(f, vip) })
	for i, f := range got[1:] {
		if routerFlag(f) {
			t.Errorf("forwarding off: frame %d has the Router flag", i+1)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d advertisements, want 1 + 1 at Acquire + 2 at Announce", len(got))
	}
}

// keepalived's garp_* settings per vrrp_instance: two routers on one
// backend, each with its own schedule.
func TestLinuxWithScheduleGivesARouterItsOwnSchedule(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	capture := lab.Capture()
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{Repeat: 1}})
	three, err := l.WithSchedule(Schedule{Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.WithSchedule(Schedule{Repeat: -1}); err == nil {
		t.Error("negative Repeat accepted")
	}
	ctx := context.Background()
	a := vrrp.AddressSet{Router: "A", VRID: 1, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.101/32")}}}
	b := vrrp.AddressSet{Router: "B", VRID: 2, Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.102/32")}}}
	if err := three.Acquire(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx, a); err != nil {
		t.Fatal(err)
	}
	// A's single GARP is queued after B's three (same goroutine, same
	// interface): once it is seen, all of B's are too.
	waitFrames(t, capture, 1, func(f netlab.Frame) bool { return isGARP(f, netip.MustParseAddr("10.0.0.101")) })
	var nb int
	for _, f := range capture.Frames() {
		if isGARP(f, netip.MustParseAddr("10.0.0.102")) {
			nb++
		}
	}
	if nb != 3 {
		t.Errorf("router B sent %d gratuitous ARPs, want 3 (its own schedule)", nb)
	}
	// The view releases through the shared backend.
	if err := three.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := find(addrs(t, h, "eth0"), "10.0.0.102/32"); len(got) != 0 {
		t.Error("10.0.0.102/32 still there")
	}
}

// After lost notifications, resync puts back the held addresses missing
// from the host, with their flags, and leaves the others alone. The
// watch is stopped first, so that only resync can put them back.
func TestLinuxResyncPutsBackWhatIsMissing(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, nil)
	v4, v6 := labSets(h)
	acquireAll(t, l, v4, v6)
	_ = l.watch.Close()
	<-l.watchDone
	l.watch = nil
	for _, p := range []string{"10.0.0.101/32", "fd00::100/64"} {
		if _, err := h.Run("ip", "addr", "del", p, "dev", "eth0"); err != nil {
			t.Fatal(err)
		}
	}
	l.resync()
	list := addrs(t, h, "eth0")
	for _, p := range []string{"10.0.0.100/24", "10.0.0.101/32", "fd00::100/64", "fd00::101/128"} {
		got := find(list, p)
		if len(got) != 1 {
			t.Errorf("%s: %d on eth0 after resync, want 1", p, len(got))
			continue
		}
		if strings.HasPrefix(p, "10.0.0.100") && got[0].Label != "eth0:vip" {
			t.Errorf("%s lost its label: %+v", p, got[0])
		}
		if strings.HasPrefix(p, "fd00") && !got[0].Nodad {
			t.Errorf("%s put back without nodad: %+v", p, got[0])
		}
	}
}
