//go:build linux

package vip

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// kernelAddr is what `ip -j addr` says of one address, options included.
type kernelAddr struct {
	Local         string `json:"local"`
	Address       string `json:"address"` // the peer of a point-to-point address
	Prefixlen     int    `json:"prefixlen"`
	Broadcast     string `json:"broadcast"`
	Scope         string `json:"scope"`
	NoPrefixRoute bool   `json:"noprefixroute"`
	Home          bool   `json:"home"`
	MngTmpAddr    bool   `json:"mngtmpaddr"`
	Deprecated    bool   `json:"deprecated"`
	Preferred     uint32 `json:"preferred_life_time"`
	Valid         uint32 `json:"valid_life_time"`
}

func kernelAddrs(t *testing.T, h *netlab.Host) map[string]kernelAddr {
	t.Helper()
	return kernelAddrsOf(t, h, h.Ifname)
}

func kernelAddrsOf(t *testing.T, h *netlab.Host, ifname string) map[string]kernelAddr {
	t.Helper()
	out, err := h.Run("ip", "-j", "addr", "show", "dev", ifname)
	if err != nil {
		t.Fatal(err)
	}
	var links []struct {
		AddrInfo []kernelAddr `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j addr: %v\n%s", err, out)
	}
	m := make(map[string]kernelAddr)
	for _, a := range links[0].AddrInfo {
		m[a.Local] = a
	}
	return m
}

// keepalived's virtual_ipaddress options (brd, scope, peer, preferred_lft,
// noprefixroute, home, mngtmpaddr, no_track) reach the kernel as "ip
// address add" would put them, survive a restore, and a Release removes
// every address, the point-to-point one included.
func TestLinuxAddressOptions(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	l := newLabLinux(t, h, &LinuxConfig{Schedule: &Schedule{}})
	ctx := context.Background()
	pfx := netip.MustParsePrefix
	v4 := vrrp.AddressSet{Router: "VI_4", VRID: 51, Interface: h.Ifname, VIPs: []vrrp.VIP{
		{Prefix: pfx("10.0.0.110/24"), Options: vrrp.AddressOptions{Broadcast: netip.MustParseAddr("10.0.0.127"),
			NoPrefixRoute: true, PreferredLifetimeSet: true, PreferredLifetime: 0}},
		// Linux 6.18 takes an IPv4 scope other than global on loopback
		// addresses only ("ipv4: Invalid scope value").
		{Prefix: pfx("127.0.0.55/32"), Interface: "lo", Options: vrrp.AddressOptions{Scope: 254}},
		{Prefix: pfx("10.0.0.111/32"), Options: vrrp.AddressOptions{Peer: pfx("10.0.0.200/32")}},
	}}
	v6 := vrrp.AddressSet{Router: "VI_6", VRID: 51, Interface: h.Ifname, IPv6: true, VIPs: []vrrp.VIP{
		{Prefix: pfx("fd00::110/64"), Options: vrrp.AddressOptions{PreferredLifetimeSet: true,
			PreferredLifetime: vrrp.LifetimeForever, HomeAddress: true, ManageTempAddr: true}},
		{Prefix: pfx("fd00::111/64"), Options: vrrp.AddressOptions{NoRestore: true}},
		{Prefix: pfx("fd00::112/64")},
		{Prefix: pfx("fd00::113/64"), Options: vrrp.AddressOptions{PreferredLifetimeSet: true, PreferredLifetime: 3000 * time.Second}},
	}}
	for _, set := range []vrrp.AddressSet{v4, v6} {
		if err := l.Acquire(ctx, set); err != nil {
			t.Fatalf("acquire %s: %v", set.Router, err)
		}
	}
	check := func(when string) {
		t.Helper()
		got := kernelAddrs(t, h)
		if a := got["10.0.0.110"]; a.Broadcast != "10.0.0.127" || a.Scope != "global" || !a.NoPrefixRoute || !a.Deprecated {
			t.Errorf("%s: 10.0.0.110 brd 10.0.0.127 noprefixroute preferred_lft 0: %+v", when, a)
		}
		if a := got["fd00::113"]; a.Deprecated || a.Preferred == 0 || a.Preferred > 3000 || a.Valid != infinityLifetime {
			t.Errorf("%s: fd00::113 preferred_lft 3000: %+v", when, a)
		}
		if a := kernelAddrsOf(t, h, "lo")["127.0.0.55"]; a.Scope != "host" {
			t.Errorf("%s: 127.0.0.55 dev lo scope host: %+v", when, a)
		}
		if a := got["10.0.0.111"]; a.Address != "10.0.0.200" || a.Prefixlen != 32 {
			t.Errorf("%s: 10.0.0.111 peer 10.0.0.200/32: %+v", when, a)
		}
		if a := got["fd00::110"]; a.Deprecated || a.Preferred != infinityLifetime || !a.Home || !a.MngTmpAddr {
			t.Errorf("%s: fd00::110 preferred_lft forever home mngtmpaddr: %+v", when, a)
		}
		if a := got["fd00::112"]; !a.Deprecated {
			t.Errorf("%s: fd00::112 without options is not deprecated (IPv6SourceAvoid): %+v", when, a)
		}
	}
	check("after acquire")

	// Deleted by hand: restored with its options, except the no_track one.
	for _, p := range []string{"10.0.0.110/24", "10.0.0.111 peer 10.0.0.200/32", "fd00::110/64", "fd00::111/64"} {
		args := append([]string{"addr", "del"}, splitWords(p)...)
		if _, err := h.Run("ip", append(args, "dev", h.Ifname)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := poll(func() bool {
		got := kernelAddrs(t, h)
		_, a := got["10.0.0.110"]
		_, b := got["10.0.0.111"]
		_, c := got["fd00::110"]
		return a && b && c
	}); err != nil {
		t.Fatalf("deleted addresses not restored: %v: %v", err, kernelAddrs(t, h))
	}
	check("after restore")
	// The restores above were handled in order; fd00::111's deletion came
	// before fd00::110's, so it would be back by now.
	if _, ok := kernelAddrs(t, h)["fd00::111"]; ok {
		t.Errorf("fd00::111 (NoRestore) was put back")
	}

	for _, set := range []vrrp.AddressSet{v4, v6} {
		if err := l.Release(ctx, set); err != nil {
			t.Fatalf("release %s: %v", set.Router, err)
		}
	}
	got := kernelAddrs(t, h)
	for _, a := range []string{"10.0.0.110", "10.0.0.111", "fd00::110", "fd00::112"} {
		if _, ok := got[a]; ok {
			t.Errorf("%s left after Release: %+v", a, got[a])
		}
	}
	if _, ok := kernelAddrsOf(t, h, "lo")["127.0.0.55"]; ok {
		t.Errorf("127.0.0.55 left on lo after Release")
	}

	// A router without addresses: every call succeeds and does nothing.
	none := vrrp.AddressSet{Router: "VI_0", VRID: 52, Interface: h.Ifname}
	for _, op := range []func(context.Context, vrrp.AddressSet) error{l.Release, l.Acquire, l.Announce, l.Release} {
		if err := op(ctx, none); err != nil {
			t.Errorf("no-VIP set: %v", err)
		}
	}
}

func splitWords(s string) []string {
	var out []string
	word := ""
	for _, r := range s + " " {
		if r == ' ' {
			if word != "" {
				out = append(out, word)
			}
			word = ""
			continue
		}
		word += string(r)
	}
	return out
}

// poll checks cond every 10 ms for up to 10 s.
func poll(cond func() bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
