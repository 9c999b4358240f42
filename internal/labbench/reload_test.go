package labbench

import (
	"net/netip"
	"testing"
	"time"
)

func TestReloadMeasuresApplyTransitionsAndGaps(t *testing.T) {
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
	// Router 1, the changed one: 200 until 100 ms before the SIGHUP,
	// then 150 from 250 ms on: a gap of 350 ms.
	every(h1, 1, 200, -1500, -100)
	every(h1, 1, 150, 250, 5500)
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

	f := Reload(seen, one(5, h1, h2), 1, 150, hup, from, to, 100*time.Millisecond)
	want := ReloadFigures{
		Applied:   250 * time.Millisecond,
		Takeovers: 1, Resigned: 1, // router 3
		MaxGap: 700 * time.Millisecond, MaxGapRouter: 3, MaxGapAt: 0,
		Lost:       3, // routers 3, 4 and 5 (400 ms)
		ChangedGap: 350 * time.Millisecond,
	}
	if f != want {
		t.Errorf("Reload =\n%+v, want\n%+v", f, want)
	}
}

func TestReloadWithoutTheChangeHasNoApplyTime(t *testing.T) {
	hup := time.Unix(1000, 0)
	h1, h2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seen := []Seen{
		{hup.Add(-time.Second), h1, 1, 200},
		{hup.Add(-time.Millisecond), h1, 1, 150}, // before the SIGHUP
		{hup.Add(time.Second), h1, 1, 200},
	}
	f := Reload(seen, one(1, h1, h2), 1, 150, hup, hup.Add(-time.Second), hup.Add(5*time.Second), 100*time.Millisecond)
	if f.Applied >= 0 {
		t.Errorf("Applied = %v, want negative: no advert with the new priority after the SIGHUP", f.Applied)
	}
	if f.ChangedGap != 4*time.Second {
		t.Errorf("ChangedGap = %v, want 4s (the last advert to the window's end)", f.ChangedGap)
	}
}
