package labbench

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// reloadRouter is the router a reload changes.
const reloadRouter = 1

// ReloadChange is the one change a reload makes to router reloadRouter in
// h1's configuration; h1 must stay its master.
type ReloadChange struct {
	Name string
	// Priority, if not 0, is the router's new priority (h1's is 200,
	// h2's 100).
	Priority int
	// AddVIP, if valid, is a second VIP for the router.
	AddVIP netip.Addr
}

// instance is the change applied to router i's priority and VIPs.
func (c ReloadChange) instance(i int) (int, []string) {
	prio, vips := 200, []string{vipFor(i)}
	if i != reloadRouter {
		return prio, vips
	}
	if c.Priority != 0 {
		prio = c.Priority
	}
	if c.AddVIP.IsValid() {
		vips = append(vips, c.AddVIP.String())
	}
	return prio, vips
}

// shows reports whether an advert frame shows the change: it carries the
// new priority, and the new VIP among its addresses.
func (c ReloadChange) shows(s Seen, frame []byte) bool {
	if c.Priority != 0 && int(s.Priority) != c.Priority {
		return false
	}
	return !c.AddVIP.IsValid() || slices.Contains(advertAddrs(frame), c.AddVIP)
}

// Phases of a reload run: the gaps between h1's adverts are looked at from
// reloadBefore before the SIGHUP to reloadAfter after it; the change may
// take up to applyTimeout to show.
const (
	reloadBefore = time.Second
	reloadAfter  = 5 * time.Second
	applyTimeout = 30 * time.Second
)

// ReloadResult is what a reload of the master measured.
type ReloadResult struct {
	Converge time.Duration // from starting the daemons to h1 master of all
	ReloadFigures
	CaptureDropped uint64 // a dropped frame looks like a lost advert
}

// ReloadFigures is what a reload did on the wire.
type ReloadFigures struct {
	// Applied is from the SIGHUP to h1's first advert for the changed
	// router that shows the change; negative when there was none.
	Applied time.Duration
	// Among the other routers, from the window's start to the end of the
	// capture: Takeovers counts those h2 advertised with priority > 0,
	// Resigned those h1 advertised with priority 0.
	Takeovers, Resigned int
	// MaxGap is the largest gap between consecutive adverts with
	// priority > 0 from h1 for one of the other routers within the
	// window, its edges included (from the window's start to the first
	// advert, from the last to the window's end): a router h1 stopped
	// advertising has a gap as long as the silence. MaxGapRouter is which
	// router, MaxGapAt when its gap began, from the SIGHUP. Lost counts
	// the other routers whose largest gap exceeds 1.5 intervals: they
	// lost at least one advert.
	MaxGap       time.Duration
	MaxGapRouter int
	MaxGapAt     time.Duration
	Lost         int
	// The changed router's largest gap, as MaxGap, and whether h2
	// advertised it (priority > 0) or h1 sent priority 0 for it.
	ChangedGap                       time.Duration
	ChangedTakeover, ChangedResigned bool
}

// RunReload puts the daemon on two lab hosts as Run does and, once h1 is
// master of every router and has been for reloadBefore, rewrites h1's
// keepalived.conf with change c and sends SIGHUP to h1's daemon (its main
// process: keepalived's parent passes the reload on to its VRRP child).
// It watches the wire until reloadAfter past the SIGHUP and the change
// has shown.
func RunReload(tb testing.TB, d Daemon, s Scenario, c ReloadChange) ReloadResult {
	tb.Helper()
	p := startPair(tb, d, s)
	r := ReloadResult{Converge: p.converge}
	w := p.w
	// The window before the SIGHUP must show h1 as a steady master.
	if err := waitUntil(reloadBefore+takeoverTimeout, func() bool {
		w.poll()
		return w.latest.Sub(p.steady) >= reloadBefore
	}); err != nil {
		tb.Fatalf("%s: the capture did not go on after convergence: %v", d.Name(), err)
	}

	cfg := s.config("h1", c.instance)
	// A new file renamed over the old one: the daemon never reads half.
	if err := os.WriteFile(p.masterCfg+".new", []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(p.masterCfg+".new", p.masterCfg); err != nil {
		tb.Fatal(err)
	}
	logBefore := fileSize(p.masterLog)
	hup := time.Now()
	if err := syscall.Kill(p.master.Process.Pid, syscall.SIGHUP); err != nil {
		tb.Fatal(err)
	}

	looked, found := 0, false // frames looked at for the change; it showed
	applied := func() bool {
		if !found {
			frames, next := p.capture.Since(looked)
			looked, found = next, firstShowing(frames, p.l, reloadRouter, hup, c) >= 0
		}
		return found
	}
	// The phase lasts reloadAfter (plus a margin for the capture to take
	// in frames stamped before its end) and until the change shows.
	if err := waitUntil(reloadAfter+applyTimeout, func() bool {
		w.poll()
		return applied() && time.Since(hup) >= reloadAfter+200*time.Millisecond
	}); err != nil {
		tb.Errorf("%s: h1 never advertised router %d with the change (%s) after the SIGHUP: %v", d.Name(), reloadRouter, c.Name, err)
	}
	p.capture.Stop()
	var err error
	if r.CaptureDropped, err = p.capture.Dropped(); err != nil {
		tb.Logf("%s: %v", d.Name(), err)
	}
	w.poll()
	r.ReloadFigures = Reload(w.seen, p.l, reloadRouter, hup, hup.Add(-reloadBefore), hup.Add(reloadAfter), s.Interval)
	frames := p.capture.Frames()
	r.Applied = firstShowing(frames, p.l, reloadRouter, hup, c)
	logReload(tb, d, p.masterLog, logBefore)
	tb.Logf("%s: router %d's adverts from 150 ms before the SIGHUP:\n%s", d.Name(), reloadRouter,
		timeline(frames, p.l, reloadRouter, hup, hup.Add(-150*time.Millisecond), 20))
	return r
}

// firstShowing is how long after hup h1 first advertised router v with
// change c; negative if it did not among frames.
func firstShowing(frames []netlab.Frame, l Layout, v int, hup time.Time, c ReloadChange) time.Duration {
	first := time.Duration(-1)
	for _, f := range frames {
		s, ok := parseAdvert(f.Time, f.Data)
		if !ok || s.Time.Before(hup) {
			continue
		}
		if h, r := l.router(s); h == 1 && r == v && c.shows(s, f.Data) {
			if d := s.Time.Sub(hup); first < 0 || d < first {
				first = d
			}
		}
	}
	return first
}

// timeline lists up to n adverts for router v among frames from from on,
// in order: when from hup, who sent each, its priority and addresses.
func timeline(frames []netlab.Frame, l Layout, v int, hup, from time.Time, n int) string {
	var mine []netlab.Frame
	for _, f := range frames {
		s, ok := parseAdvert(f.Time, f.Data)
		if h, r := l.router(s); ok && h != 0 && r == v && !s.Time.Before(from) {
			mine = append(mine, f)
		}
	}
	slices.SortFunc(mine, func(a, b netlab.Frame) int { return a.Time.Compare(b.Time) })
	var b strings.Builder
	for _, f := range mine[:min(n, len(mine))] {
		s, _ := parseAdvert(f.Time, f.Data)
		h, _ := l.router(s)
		fmt.Fprintf(&b, "  %+9.1f ms  h%d  priority %d  %v\n", float64(s.Time.Sub(hup))/float64(time.Millisecond), h, s.Priority, advertAddrs(f.Data))
	}
	return b.String()
}

// Reload works out what a reload of h1 at hup did to the routers of l,
// reading adverts seen in the window [from, to] for the gaps and from
// from on for the transitions (see ReloadFigures; Applied is left to
// firstShowing). changed is the router the reload changed; interval is
// the routers' advert interval.
func Reload(seen []Seen, l Layout, changed int, hup, from, to time.Time, interval time.Duration) ReloadFigures {
	n := l.Routers()
	var f ReloadFigures
	times := make([][]time.Time, n+1)
	takeover, resigned := make([]bool, n+1), make([]bool, n+1)
	for _, s := range seen {
		h, v := l.router(s)
		if h == 0 || s.Time.Before(from) {
			continue
		}
		switch {
		case h == 2 && s.Priority > 0:
			takeover[v] = true
		case h == 1 && s.Priority == 0:
			resigned[v] = true
		case h == 1 && !s.Time.After(to):
			times[v] = append(times[v], s.Time)
		}
	}
	for v := 1; v <= n; v++ {
		ts := times[v]
		slices.SortFunc(ts, time.Time.Compare)
		gap, at := time.Duration(0), from
		prev := from
		for _, t := range append(ts, to) {
			if d := t.Sub(prev); d > gap {
				gap, at = d, prev
			}
			prev = t
		}
		if v == changed {
			f.ChangedGap, f.ChangedTakeover, f.ChangedResigned = gap, takeover[v], resigned[v]
			continue
		}
		if takeover[v] {
			f.Takeovers++
		}
		if resigned[v] {
			f.Resigned++
		}
		if gap > f.MaxGap {
			f.MaxGap, f.MaxGapRouter, f.MaxGapAt = gap, v, at.Sub(hup)
		}
		if gap > interval*3/2 {
			f.Lost++
		}
	}
	return f
}

// Report puts a reload's result into a benchmark's output.
func (r ReloadResult) Report(b *testing.B) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	bit := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	applied := ms(r.Applied)
	if r.Applied < 0 {
		applied = -1 // never applied
	}
	b.ReportMetric(applied, "apply-ms")
	b.ReportMetric(float64(r.Takeovers), "others-takeovers")
	b.ReportMetric(float64(r.Resigned), "others-prio0")
	b.ReportMetric(ms(r.MaxGap), "others-max-gap-ms")
	b.ReportMetric(float64(r.Lost), "others-lost-advert")
	b.ReportMetric(ms(r.ChangedGap), "changed-gap-ms")
	b.ReportMetric(bit(r.ChangedTakeover), "changed-takeover")
	b.ReportMetric(bit(r.ChangedResigned), "changed-prio0")
	b.ReportMetric(r.Converge.Seconds(), "converge-s")
	b.ReportMetric(float64(r.CaptureDropped), "capture-dropped")
	b.Logf("largest gap among the others: router %d, from %v after the SIGHUP", r.MaxGapRouter, r.MaxGapAt)
}

// logReload logs what h1's daemon wrote from the SIGHUP on: its first
// lines, and how many there were (a daemon may log a line per instance).
func logReload(tb testing.TB, d Daemon, log string, from int64) {
	b, err := os.ReadFile(log)
	if err != nil || int64(len(b)) < from {
		return
	}
	lines := bytes.Split(bytes.TrimSpace(b[from:]), []byte("\n"))
	const show = 30
	tb.Logf("%s on h1 logged %d lines from the SIGHUP on; the first:\n%s", d.Name(), len(lines), bytes.Join(lines[:min(show, len(lines))], []byte("\n")))
}

func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return fi.Size()
}
