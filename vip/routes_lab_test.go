//go:build linux

package vip

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

func newLabRouting(t *testing.T, h *netlab.Host) *Routing {
	t.Helper()
	var r *Routing
	if err := h.Do(func() (err error) {
		r, err = NewRouting(RoutingConfig{Logger: zaptest.NewLogger(t)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close routing: %v", err)
		}
	})
	return r
}

// kernelRoutes is what the kernel holds of keepalived's protocol: "ip
// route show table all proto keepalived" and "ip rule show" for both
// families, one entry a line.
func kernelRoutes(t *testing.T, h *netlab.Host) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"-4", "route", "show", "table", "all", "proto", "keepalived"},
		{"-6", "route", "show", "table", "all", "proto", "keepalived"},
		{"-4", "rule", "show"},
		{"-6", "rule", "show"},
	} {
		out, err := h.Run("ip", args...)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(out)
	}
	// Multipath routes take several lines: join them, and blanks to one
	// space. Routes listed by protocol do not show it.
	out := strings.ReplaceAll(b.String(), "\n\tnexthop", " nexthop")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

func wantLines(t *testing.T, what, got string, want []string, present bool) {
	t.Helper()
	for _, w := range want {
		if strings.Contains(got, w) != present {
			verb := "missing"
			if !present {
				verb = "still there"
			}
			t.Errorf("%s: %q %s in:\n%s", what, w, verb, got)
		}
	}
}

// keepalived's virtual_routes and virtual_rules, composed after the
// addresses: added on acquire (with keepalived's protocol), put back when
// someone deletes them (but for no_track), removed on release — also
// when a crashed run left them and this run never held them — while an
// equal route of another protocol is left alone.
func TestRoutingRoutesAndRules(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	rt := newLabRouting(t, h)
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	routes := []Route{
		{Dst: pfx("10.1.0.0/24"), Src: addr("10.0.0.100"), Gateway: addr("10.0.0.254"), Interface: "eth0"},
		{Dst: pfx("10.2.0.0/24"), Interface: "eth0", Table: 100, Metric: 5},
		{Dst: pfx("10.3.0.0/24"), Type: RouteBlackhole},
		{Dst: pfx("10.4.0.0/24"), NextHops: []NextHop{{Gateway: addr("10.0.0.253")}, {Gateway: addr("10.0.0.252"), Weight: 2}}},
		{Dst: pfx("10.5.0.0/24"), Type: RouteUnreachable, Table: 100},
		{Dst: pfx("0.0.0.0/0"), Gateway: addr("10.0.0.1"), Table: 101},
		{Dst: pfx("10.7.0.0/24"), Interface: "eth0", NoRestore: true},
		{Dst: pfx("fd00:5::/64"), Gateway: addr("fd00::254"), Interface: "eth0"},
	}
	rules := []Rule{
		{From: pfx("10.0.0.100/32"), Table: 100, Priority: 100},
		{To: pfx("10.6.0.0/24"), Table: 100, Priority: 101, FwMark: 7, FwMask: 0xff},
		{From: pfx("fd00::100/128"), Table: 100, Priority: 102},
		{From: pfx("10.0.0.101/32"), Action: RuleBlackhole, Priority: 103, NoRestore: true},
	}
	set, err := rt.For("VI_1", routes, rules)
	if err != nil {
		t.Fatal(err)
	}
	b := Multi(l, set)
	as := vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0",
		VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}, {Prefix: pfx("fd00::100/64"), Excluded: true}}}
	want := []string{
		"10.1.0.0/24 via 10.0.0.254 dev eth0 src 10.0.0.100",
		"10.2.0.0/24 dev eth0 table 100 metric 5",
		"blackhole 10.3.0.0/24",
		"10.4.0.0/24 nexthop via 10.0.0.253 dev eth0 weight 1 nexthop via 10.0.0.252 dev eth0 weight 2",
		"unreachable 10.5.0.0/24 table 100",
		"default via 10.0.0.1 dev eth0 table 101",
		"10.7.0.0/24 dev eth0",
		"fd00:5::/64 via fd00::254 dev eth0 metric 1024",
		"100: from 10.0.0.100 lookup 100 proto keepalived",
		"101: from all to 10.6.0.0/24 fwmark 0x7/0xff lookup 100 proto keepalived",
		"102: from fd00::100 lookup 100 proto keepalived",
		"103: from 10.0.0.101 blackhole proto keepalived",
	}
	ctx := context.Background()

	// What a crashed run left: removed by the release a router makes
	// when it starts as a backup, before it ever held them. An equal
	// route of another protocol is not ours.
	for _, cmd := range []string{
		"route add 10.2.0.0/24 dev eth0 table 100 metric 5 proto keepalived",
		"route add 10.3.0.0/24 dev eth0 table 102 proto static",
		"rule add from 10.0.0.100 table 100 pref 100 proto keepalived",
	} {
		if _, err := h.Run("ip", strings.Fields(cmd)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Release(ctx, as); err != nil {
		t.Fatalf("release at startup: %v", err)
	}
	got := kernelRoutes(t, h)
	wantLines(t, "after the startup release", got, want, false)
	if out, _ := h.Run("ip", "route", "show", "table", "102"); !strings.Contains(out, "10.3.0.0/24 dev eth0 proto static") {
		t.Errorf("the startup release removed another protocol's route: table 102 is %q", out)
	}

	for i := range 2 {
		if err := b.Acquire(ctx, as); err != nil {
			t.Fatalf("acquire #%d: %v", i+1, err)
		}
	}
	wantLines(t, "after acquire", kernelRoutes(t, h), want, true)

	// Deleted by hand: put back, but for the no_track ones.
	for _, cmd := range []string{
		"route del 10.1.0.0/24",
		"route del 10.7.0.0/24",
		"route del default table 101",
		"-6 route del fd00:5::/64",
		"rule del pref 100",
		"rule del pref 103",
		"-6 rule del pref 102",
	} {
		if _, err := h.Run("ip", strings.Fields(cmd)...); err != nil {
			t.Fatal(err)
		}
	}
	restored := []string{want[0], want[5], want[7], want[8], want[10]}
	if err := poll(func() bool {
		got := kernelRoutes(t, h)
		for _, w := range restored {
			if !strings.Contains(got, w) {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("deleted routes and rules not put back: %v\n%s", err, kernelRoutes(t, h))
	}
	// The no_track ones were deleted before the last restored one.
	wantLines(t, "no_track", kernelRoutes(t, h), []string{want[6], want[11]}, false)

	if err := b.Release(ctx, as); err != nil {
		t.Fatalf("release: %v", err)
	}
	wantLines(t, "after release", kernelRoutes(t, h), want, false)
	if got := find(addrs(t, h, "eth0"), "10.0.0.100/24"); len(got) != 0 {
		t.Errorf("the VIP is left after release")
	}
}

func TestRoutingValidation(t *testing.T) {
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	for _, r := range []Route{
		{},
		{Dst: pfx("10.1.0.1/24"), Interface: "eth0"},
		{Dst: pfx("10.1.0.0/24")},
		{Dst: pfx("10.1.0.0/24"), Gateway: addr("fd00::1")},
		{Dst: pfx("fd00:1::/64"), Interface: "eth0", TOS: 4},
		{Dst: pfx("10.1.0.0/24"), Gateway: addr("10.0.0.1"), NextHops: []NextHop{{Gateway: addr("10.0.0.2")}}},
		{Dst: pfx("10.1.0.0/24"), NextHops: []NextHop{{Weight: 1}}},
	} {
		if r.Validate() == nil {
			t.Errorf("route %+v validated", r)
		}
	}
	for _, r := range []Rule{
		{From: pfx("10.0.0.0/24"), To: pfx("fd00::/64")},
		{Action: RuleGoto, Goto: 5, Priority: 10},
		{FwMark: 0x100, FwMask: 0xff},
	} {
		if r.Validate() == nil {
			t.Errorf("rule %+v validated", r)
		}
	}
	if err := (Route{Dst: pfx("0.0.0.0/0"), Type: RouteBlackhole}).Validate(); err != nil {
		t.Errorf("blackhole default: %v", err)
	}
}
