package labbench

import (
	"testing"
	"time"
)

// logTakeoverSpread logs (with -v), per interface of per routers, when
// the old master's last adverts and the new master's first ones went out,
// from the kill: how bursty each side was, which is what the lag's tail
// follows.
func logTakeoverSpread(tb testing.TB, seen []Seen, l Layout, per int, kill time.Time) {
	tb.Helper()
	n := l.Routers()
	last, first := handover(seen, l)
	span := func(ts []time.Time) (lo, hi time.Duration) {
		seen := false
		for _, t := range ts {
			if t.IsZero() {
				continue
			}
			d := t.Sub(kill)
			if !seen || d < lo {
				lo = d
			}
			if !seen || d > hi {
				hi = d
			}
			seen = true
		}
		return lo, hi
	}
	for k := 0; k*per < n; k++ {
		from, to := k*per+1, min((k+1)*per, n)+1
		llo, lhi := span(last[from:to])
		flo, fhi := span(first[from:to])
		tb.Logf("routers %d-%d: h1's last adverts %v to %v from the kill, h2's first %v to %v",
			from, to-1, llo.Round(10*time.Microsecond), lhi.Round(10*time.Microsecond), flo.Round(10*time.Microsecond), fhi.Round(10*time.Microsecond))
	}
}
