package labbench

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

func TestReloadMeasuresTransitionsAndGaps(t *testing.T) {
	hup := time.Unix(1000, 0)
	ms := func(n int) time.Time { return hup.Add(time.Duration(n) * time.Millisecond) }
	h1, h2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	from, to := ms(-1000), ms(5000)
	var seen []Seen
	every := func(src netip.Addr, vrid, prio uint8, start, end int) {
		for n := start; n <= end; n += 100 {
			seen = append(seen, Seen{ms(n), src, vrid, prio})
		}
	}
	// Router 1, the changed one: a priority 0 at 30 ms, h2 master from
	// 90 ms, h1 back from 370 ms: a gap of 370 − (−100) ms.
	every(h1, 1, 200, -1500, -100)
	seen = append(seen, Seen{ms(30), h1, 1, 0})
	every(h2, 1, 100, 90, 290)
	every(h1, 1, 150, 370, 5500)
	// Router 2: untouched, every 100 ms throughout.
	every(h1, 2, 200, -1500, 5500)
	// Router 3: a priority 0 at 100 ms, h2 takes over at 160 ms, h1
	// back from 700 ms: a gap of 700 − 0 ms.
	every(h1, 3, 200, -1500, 0)
	seen = append(seen, Seen{ms(100), h1, 3, 0}, Seen{ms(160), h2, 3, 100})
	every(h1, 3, 200, 700, 5500)
	// Router 4: one advert lost at 2000 ms (a 200 ms gap), and h2's
	// advert before the window does not count.
	every(h1, 4, 200, -1500, 1900)
	every(h1, 4, 200, 2100, 5500)
	seen = append(seen, Seen{ms(-1200), h2, 4, 100})
	// Router 5: h1 stops at 4600 ms: the gap runs to the window's end.
	every(h1, 5, 200, -1500, 4600)

	f := Reload(seen, one(5, h1, h2), 1, hup, from, to, 100*time.Millisecond)
	want := ReloadFigures{
		Takeovers: 1, Resigned: 1, // router 3
		MaxGap: 700 * time.Millisecond, MaxGapRouter: 3, MaxGapAt: 0,
		Lost:       3, // routers 3, 4 and 5 (400 ms)
		ChangedGap: 470 * time.Millisecond, ChangedTakeover: true, ChangedResigned: true,
	}
	if f != want {
		t.Errorf("Reload =\n%+v, want\n%+v", f, want)
	}
}

func TestReloadCountsAWindowWithoutAdvertsAsOneGap(t *testing.T) {
	hup := time.Unix(1000, 0)
	h1, h2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seen := []Seen{{hup.Add(-2 * time.Second), h1, 2, 200}} // before the window
	f := Reload(seen, one(2, h1, h2), 1, hup, hup.Add(-time.Second), hup.Add(5*time.Second), 100*time.Millisecond)
	if f.MaxGap != 6*time.Second || f.ChangedGap != 6*time.Second || f.Lost != 1 {
		t.Errorf("Reload = %+v; want gaps of 6s, the whole window, and router 2 lost", f)
	}
}

// advertFrame is an IPv4 VRRPv3 advert from src carrying addrs.
func advertFrame(src netip.Addr, vrid, prio byte, addrs ...netip.Addr) []byte {
	frame := make([]byte, 14+20+8, 14+20+8+4*len(addrs))
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:]
	ip[0], ip[9] = 0x45, 112
	copy(ip[12:16], src.AsSlice())
	ip[20], ip[21], ip[22], ip[23] = 0x31, vrid, prio, byte(len(addrs))
	for _, a := range addrs {
		frame = append(frame, a.AsSlice()...)
	}
	return frame
}

func TestAdvertAddrsReadsTheAddressList(t *testing.T) {
	src := netip.MustParseAddr("10.1.0.1")
	a, b := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("10.0.200.1")
	if got := advertAddrs(advertFrame(src, 1, 200, a, b)); !slices.Equal(got, []netip.Addr{a, b}) {
		t.Errorf("advertAddrs = %v, want [%v %v]", got, a, b)
	}
	cut := advertFrame(src, 1, 200, a, b)
	cut = cut[:len(cut)-2] // the second address cut short
	if got := advertAddrs(cut); !slices.Equal(got, []netip.Addr{a}) {
		t.Errorf("advertAddrs(cut short) = %v, want [%v]", got, a)
	}
}

func TestFirstShowingFindsTheChangeAfterTheSIGHUP(t *testing.T) {
	hup := time.Unix(1000, 0)
	ms := func(n int) time.Time { return hup.Add(time.Duration(n) * time.Millisecond) }
	h1, h2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	vip, added := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("10.0.200.1")
	frames := []netlab.Frame{
		{Time: ms(-10), Data: advertFrame(h1, 1, 150, vip, added)}, // before the SIGHUP
		{Time: ms(20), Data: advertFrame(h2, 1, 150, vip, added)},  // from h2
		{Time: ms(30), Data: advertFrame(h1, 2, 150, vip, added)},  // another router
		{Time: ms(40), Data: advertFrame(h1, 1, 200, vip)},
		{Time: ms(90), Data: advertFrame(h1, 1, 200, vip, added)},
		{Time: ms(60), Data: advertFrame(h1, 1, 150, vip)}, // captured out of order
		{Time: ms(190), Data: advertFrame(h1, 1, 150, vip, added)},
	}
	l := one(2, h1, h2)
	for _, c := range []struct {
		change ReloadChange
		want   time.Duration
	}{
		{ReloadChange{Priority: 150}, 60 * time.Millisecond},
		{ReloadChange{AddVIP: added}, 90 * time.Millisecond},
		{ReloadChange{Priority: 150, AddVIP: added}, 190 * time.Millisecond},
		{ReloadChange{Priority: 120}, -1},
	} {
		if got := firstShowing(frames, l, 1, hup, c.change); got != c.want {
			t.Errorf("firstShowing(%+v) = %v, want %v", c.change, got, c.want)
		}
	}
}

func TestReloadChangeTouchesOneRouterOfTheConfig(t *testing.T) {
	s := Scenario{Routers: 4, Version: 3, Interval: 100 * time.Millisecond}
	c := ReloadChange{Priority: 150, AddVIP: netip.MustParseAddr("10.0.200.1")}
	got := strings.Split(s.config("h1", c.instance), "vrrp_instance")
	want := strings.Split(s.Config("h1", 200), "vrrp_instance")
	if len(got) != len(want) {
		t.Fatalf("%d instances, want %d", len(got)-1, len(want)-1)
	}
	wantFirst := strings.Replace(want[1], "priority 200", "priority 150", 1)
	wantFirst = strings.Replace(wantFirst, "    10.0.1.2/32\n", "    10.0.1.2/32\n    10.0.200.1/32\n", 1)
	if got[1] != wantFirst {
		t.Errorf("router 1:\n%s\nwant\n%s", got[1], wantFirst)
	}
	for i := 2; i < len(want); i++ {
		if got[i] != want[i] {
			t.Errorf("router %d changed:\n%s", i, got[i])
		}
	}
}
