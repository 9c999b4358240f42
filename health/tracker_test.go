package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// The runner tests run in a testing/synctest bubble: vrrp.SystemClock's
// timers run on the bubble's fake clock, which moves only when every
// goroutine in the bubble is blocked, so the times below are exact and no
// test waits in real time. Waiting on time.After inside the bubble lets
// fake time pass; it is not a sleep.

type report struct {
	At time.Duration
	vrrp.TrackStatus
}

// runTracker starts tr in the bubble and returns its reports (with the fake
// time since start) and a stop function that cancels it and returns Run's
// error.
func runTracker(t *testing.T, tr *Tracker) (<-chan report, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	reports := make(chan report, 64)
	start := time.Now()
	var inReport atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, vrrp.SystemClock{}, func(s vrrp.TrackStatus) {
			if inReport.Add(1) != 1 {
				t.Errorf("%s: report called concurrently", tr.Name)
			}
			reports <- report{time.Since(start), s}
			inReport.Add(-1)
		})
	}()
	return reports, func() error { cancel(); return <-done }
}

// expect receives len(want) reports and compares them.
func expect(t *testing.T, reports <-chan report, want ...report) {
	t.Helper()
	for i, w := range want {
		var got report
		select {
		case got = <-reports:
		case <-time.After(time.Minute): // fake time: the bubble moves on when all wait
			t.Fatalf("report %d: none within a minute, want %+v", i, w)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Fatalf("report %d (-want +got):\n%s", i, diff)
		}
	}
}

// expectNone checks that nothing is reported for d of fake time.
func expectNone(t *testing.T, reports <-chan report, d time.Duration) {
	t.Helper()
	select {
	case got := <-reports:
		t.Fatalf("unexpected report %+v", got)
	case <-time.After(d):
	}
}

// scripted is a Func whose results are given in advance (true = success);
// past the end it succeeds. It records when it was called.
type scripted struct {
	mu      sync.Mutex
	start   time.Time
	results []bool
	calls   []time.Duration
}

func (s *scripted) check(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := len(s.calls)
	s.calls = append(s.calls, time.Since(s.start))
	if i < len(s.results) && !s.results[i] {
		return fmt.Errorf("exit status %d", i)
	}
	return nil
}

func (s *scripted) times() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.calls...)
}

func seconds(s ...float64) []time.Duration {
	var d []time.Duration
	for _, x := range s {
		d = append(d, time.Duration(x*float64(time.Second)))
	}
	return d
}

// TestTrackerCountsRiseAndFallOverIntervals: keepalived.conf(5), "VRRP
// script(s)": "The script will be executed periodically, every <interval>
// seconds"; the first run is at once (vrrp_init_script schedules it as an
// event); fall failures in a row take the object down, rise successes in a
// row bring it back; a negative weight subtracts while down.
func TestTrackerCountsRiseAndFallOverIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{start: time.Now(), results: []bool{true, false, false, false, true, true}}
		reports, stop := runTracker(t, &Tracker{
			Name: "chk", Check: Func(s.check), Interval: time.Second, Rise: 2, Fall: 3, Weight: -20,
		})
		expect(t, reports,
			report{0, vrrp.TrackStatus{Name: "chk", Reason: "no result yet"}},
			report{0, vrrp.TrackStatus{Name: "chk", Up: true, Reason: "ok"}},
			report{3 * time.Second, vrrp.TrackStatus{Name: "chk", Delta: -20, Reason: "exit status 3"}},
			report{5 * time.Second, vrrp.TrackStatus{Name: "chk", Up: true, Reason: "ok"}},
		)
		expectNone(t, reports, 4500*time.Millisecond)
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		if diff := cmp.Diff(seconds(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), s.times()); diff != "" {
			t.Errorf("run times (-want +got):\n%s", diff)
		}
	})
}

// TestTrackerInitFail: "init_fail: assume script initially is in failed
// state": a weight-0 tracker starts in Fault and needs rise successes.
func TestTrackerInitFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{start: time.Now()}
		reports, stop := runTracker(t, &Tracker{
			Name: "chk", Check: Func(s.check), Interval: time.Second, Rise: 3, InitFail: true,
		})
		expect(t, reports,
			report{0, vrrp.TrackStatus{Name: "chk", Fault: true, Reason: "init_fail: down until it succeeds"}},
			report{2 * time.Second, vrrp.TrackStatus{Name: "chk", Up: true, Reason: "ok"}},
		)
		stop()
	})
}

// TestTrackerHungCheck: a check that hangs (and ignores its context) does
// not delay another tracker, is never started a second time while it
// hangs, counts as a failure at its timeout and again at every interval it
// stays hung (so fall is reached), and is run again once it returns.
func TestTrackerHungCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		release := make(chan struct{})
		var calls, inFlight, maxInFlight atomic.Int32
		hung := Func(func(ctx context.Context) error {
			n := calls.Add(1)
			if f := inFlight.Add(1); f > maxInFlight.Load() {
				maxInFlight.Store(f)
			}
			defer inFlight.Add(-1)
			if n == 2 {
				<-release // ignores ctx
			}
			return nil
		})
		other := &scripted{start: start}
		hungReports, stopHung := runTracker(t, &Tracker{
			Name: "hung", Check: hung, Interval: time.Second, Timeout: 500 * time.Millisecond, Fall: 3,
		})
		otherReports, stopOther := runTracker(t, &Tracker{Name: "other", Check: Func(other.check), Interval: time.Second})

		expect(t, otherReports,
			report{0, vrrp.TrackStatus{Name: "other", Fault: true, Reason: "no result yet"}},
			report{0, vrrp.TrackStatus{Name: "other", Up: true, Reason: "ok"}})
		expect(t, hungReports,
			report{0, vrrp.TrackStatus{Name: "hung", Fault: true, Reason: "no result yet"}},
			report{0, vrrp.TrackStatus{Name: "hung", Up: true, Reason: "ok"}},
			// Hung from 1 s; timed out at 1.5 s (failure 1), still hung at
			// 2 s (failure 2) and 3 s (failure 3: down).
			report{3 * time.Second, vrrp.TrackStatus{Name: "hung", Fault: true, Reason: "still running 2s after it timed out"}})

		// Let it hang until 9.5 s, then release it: its result is
		// discarded, and the next run (10 s) brings it back up.
		<-time.After(9500*time.Millisecond - time.Since(start))
		if got := calls.Load(); got != 2 {
			t.Errorf("hung check started %d times while hung, want 2 in all", got)
		}
		close(release)
		expect(t, hungReports, report{10 * time.Second, vrrp.TrackStatus{Name: "hung", Up: true, Reason: "ok"}})
		stopHung()
		stopOther()
		if maxInFlight.Load() != 1 {
			t.Errorf("check ran %d times at once", maxInFlight.Load())
		}
		// The other tracker kept its schedule: 0, 1, ... 10 s.
		if diff := cmp.Diff(seconds(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), other.times()); diff != "" {
			t.Errorf("other tracker's run times (-want +got):\n%s", diff)
		}
	})
}

// TestTrackerTimeoutCancelsCheck: keepalived.conf(5): "timeout: seconds
// after which script is considered to have failed". The run's context is
// cancelled with the timeout as its cause.
func TestTrackerTimeoutCancelsCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		causes := make(chan error, 4)
		slow := Func(func(ctx context.Context) error {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return ctx.Err()
		})
		reports, stop := runTracker(t, &Tracker{Name: "slow", Check: slow, Interval: time.Second, Timeout: 300 * time.Millisecond, Weight: 5})
		expect(t, reports,
			report{0, vrrp.TrackStatus{Name: "slow", Reason: "no result yet"}},
			report{300 * time.Millisecond, vrrp.TrackStatus{Name: "slow", Reason: "timed out after 300ms"}})
		if err := <-causes; !errors.Is(err, errTimedOut) {
			t.Errorf("check's context cause %v, want errTimedOut", err)
		}
		stop()
	})
}

// TestTrackerSkipsRunWhileRunning: with a timeout longer than the
// interval, a run still going when the next is due is skipped, never
// started twice (keepalived's vrrp_script_thread: "already running, expect
// idle - skipping run").
func TestTrackerSkipsRunWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var calls []time.Duration
		slow := Func(func(ctx context.Context) error {
			mu.Lock()
			calls = append(calls, time.Since(start))
			mu.Unlock()
			select {
			case <-time.After(1500 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		reports, stop := runTracker(t, &Tracker{Name: "slow", Check: slow, Interval: time.Second, Timeout: 2500 * time.Millisecond})
		expect(t, reports,
			report{0, vrrp.TrackStatus{Name: "slow", Fault: true, Reason: "no result yet"}},
			report{1500 * time.Millisecond, vrrp.TrackStatus{Name: "slow", Up: true, Reason: "ok"}})
		expectNone(t, reports, 7*time.Second)
		stop()
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff(seconds(0, 2, 4, 6, 8), calls); diff != "" {
			t.Errorf("run times (-want +got):\n%s", diff)
		}
	})
}

// panicky is a Check that is not a Func: the runner must contain its panic.
type panicky struct{ n atomic.Int32 }

func (p *panicky) Check(context.Context) Result {
	if p.n.Add(1) == 1 {
		panic("boom")
	}
	return Result{Up: true, Reason: "fine"}
}

// TestTrackerPanicIsDown: a check that panics is down, not a crash, and
// the tracker carries on.
func TestTrackerPanicIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		f := Func(func(context.Context) error {
			if n.Add(1) == 1 {
				var m map[string]int
				//lint:ignore SA5000 a deliberate runtime panic, not just panic()
				m["x"] = 1
			}
			return nil
		})
		reports, stop := runTracker(t, &Tracker{Name: "func", Check: f, Interval: time.Second})
		expect(t, reports,
			report{0, vrrp.TrackStatus{Name: "func", Fault: true, Reason: "no result yet"}},
			report{0, vrrp.TrackStatus{Name: "func", Fault: true, Reason: "panic: assignment to entry in nil map"}},
			report{time.Second, vrrp.TrackStatus{Name: "func", Up: true, Reason: "ok"}})
		stop()

		reports, stop = runTracker(t, &Tracker{Name: "custom", Check: &panicky{}, Interval: time.Second, Weight: -10})
		expect(t, reports,
			report{0, vrrp.TrackStatus{Name: "custom", Reason: "no result yet"}},
			report{0, vrrp.TrackStatus{Name: "custom", Delta: -10, Reason: "panic: boom"}},
			report{time.Second, vrrp.TrackStatus{Name: "custom", Up: true, Reason: "fine"}})
		stop()
	})
}

func TestFuncCheck(t *testing.T) {
	ctx := t.Context()
	if r := Func(func(context.Context) error { return nil }).Check(ctx); !r.Up {
		t.Errorf("nil error: %+v, want up", r)
	}
	if r := Func(func(context.Context) error { return errors.New("not primary") }).Check(ctx); r.Up || r.Reason != "not primary" {
		t.Errorf("error: %+v, want down with the error as reason", r)
	}
	if r := Func(func(context.Context) error { panic(fmt.Sprintf("bad %d", 7)) }).Check(ctx); r.Up || r.Reason != "panic: bad 7" {
		t.Errorf("panic: %+v, want down with the panic as reason", r)
	}
}

// TestTrackerStopWaitsForRun: Run returns after the run in flight has
// returned (so an Exec has killed its process group), but a check that
// ignores its context holds Run only until its timeout.
func TestTrackerStopWaitsForRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var returned atomic.Bool
		polite := Func(func(ctx context.Context) error {
			<-ctx.Done()
			returned.Store(true)
			return ctx.Err()
		})
		_, stop := runTracker(t, &Tracker{Name: "polite", Check: polite, Interval: time.Second, Timeout: time.Hour})
		<-time.After(time.Second)
		stop()
		if !returned.Load() {
			t.Error("Run returned before the run in flight")
		}

		release := make(chan struct{})
		defer close(release)
		rude := Func(func(ctx context.Context) error { <-release; return nil })
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			done <- (&Tracker{Name: "rude", Check: rude, Timeout: 2 * time.Second}).Run(ctx, nil, func(vrrp.TrackStatus) {})
		}()
		<-time.After(500 * time.Millisecond)
		cancel()
		<-done
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("Run returned after %v, want at the run's timeout (2s)", got)
		}
	})
}

// fakeWatcher is a Watcher whose state the test sets.
type fakeWatcher struct {
	changes notifier
	up      atomic.Bool
	calls   atomic.Int32
}

func (w *fakeWatcher) Changed() <-chan struct{} { return w.changes.wait() }
func (w *fakeWatcher) Check(context.Context) Result {
	w.calls.Add(1)
	if w.up.Load() {
		return Result{Up: true, Reason: "link up"}
	}
	return Result{Reason: "link down"}
}
func (w *fakeWatcher) set(up bool) { w.up.Store(up); w.changes.notify() }

// TestTrackerWatcherUsesInjectedClockAndDoesNotPoll runs a tracker on the
// manual clock: a watched object is checked at start and at each change,
// and with no Interval no timer stays armed, so nothing is polled however
// much time passes.
func TestTrackerWatcherUsesInjectedClockAndDoesNotPoll(t *testing.T) {
	clock := newManualClock()
	w := &fakeWatcher{}
	w.up.Store(true)
	reports := make(chan vrrp.TrackStatus, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- (&Tracker{Name: "eth1", Check: w, Weight: 0}).Run(ctx, clock, func(s vrrp.TrackStatus) { reports <- s })
	}()
	if s := nextReport(t, reports); !s.Fault {
		t.Fatalf("initial %+v, want Fault (no result yet)", s)
	}
	if s := nextReport(t, reports); s.Fault || !s.Up {
		t.Fatalf("first %+v, want up", s)
	}
	waitFor(t, "timeout timer stopped", func() bool { return clock.Pending() == 0 })
	clock.Advance(24 * time.Hour)
	w.set(false)
	if s := nextReport(t, reports); !s.Fault || s.Reason != "link down" {
		t.Fatalf("after link down %+v, want Fault", s)
	}
	w.set(true)
	if s := nextReport(t, reports); s.Fault || s.Reason != "link up" {
		t.Fatalf("after link up %+v, want up", s)
	}
	waitFor(t, "timeout timer stopped", func() bool { return clock.Pending() == 0 })
	clock.Advance(24 * time.Hour)
	cancel()
	<-done
	if got := w.calls.Load(); got != 3 {
		t.Errorf("checked %d times, want 3 (start and two changes): a watcher is not polled", got)
	}
}

// TestTrackerPollsOnInjectedClock: an Interval of an hour on the manual
// clock runs as soon as the clock is moved an hour.
func TestTrackerPollsOnInjectedClock(t *testing.T) {
	clock := newManualClock()
	s := &scripted{results: []bool{true, false}}
	reports := make(chan vrrp.TrackStatus, 16)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- (&Tracker{Name: "chk", Check: Func(s.check), Interval: time.Hour, Weight: 10}).Run(ctx, clock, func(st vrrp.TrackStatus) { reports <- st })
	}()
	for _, want := range []int{0, 10} {
		if got := <-reports; got.Delta != want {
			t.Fatalf("delta %d, want %d", got.Delta, want)
		}
	}
	t0 := clock.Now()
	waitFor(t, "next run scheduled", func() bool { return clock.PendingAt(t0.Add(time.Hour)) == 1 })
	clock.Advance(time.Hour)
	if got := <-reports; got.Delta != 0 || got.Up {
		t.Fatalf("after an hour: %+v, want down, delta 0", got)
	}
	cancel()
	<-done
	if len(s.times()) != 2 {
		t.Errorf("ran %d times, want 2", len(s.times()))
	}
}

func newManualClock() *vrrptest.ManualClock {
	return vrrptest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// valued returns the numbers it is given, like a track_file.
type valued struct{ v atomic.Int64 }

func (c *valued) Check(context.Context) Result {
	v := c.v.Load()
	return Result{Valued: true, Value: v, Reason: fmt.Sprintf("value %d", v)}
}

// TestTrackerValued: a valued object's number is taken as it is, at once
// (no rise or fall), multiplied by the weight, and reported only when it
// changes.
func TestTrackerValued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &valued{}
		c.v.Store(3)
		reports, stop := runTracker(t, &Tracker{Name: "prio", Check: c, Interval: time.Second, Rise: 5, Fall: 5, Weight: 10})
		expect(t, reports,
			report{0, vrrp.TrackStatus{Name: "prio", Reason: "no result yet"}},
			report{0, vrrp.TrackStatus{Name: "prio", Up: true, Delta: 30, Reason: "value 3"}})
		expectNone(t, reports, 2500*time.Millisecond)
		c.v.Store(-30)
		expect(t, reports, report{3 * time.Second, vrrp.TrackStatus{Name: "prio", Fault: true, Reason: "value -30"}})
		stop()
	})
}

// TestTrackerRunStateFansOut: one object, several weights (one
// vrrp_script tracked by several instances).
func TestTrackerRunStateFansOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{results: []bool{false}}
		states := make(chan State, 8)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- (&Tracker{Name: "chk", Check: Func(s.check), Weight: 99}).RunState(ctx, nil, func(st State) { states <- st })
		}()
		<-states
		st := <-states
		a := Weight{Weight: -20}.Status(st)
		b := Weight{Weight: 5, Reverse: true}.Status(st)
		c := Weight{}.Status(st)
		if a.Delta != -20 || b.Delta != 0 || !c.Fault {
			t.Errorf("down: weights -20, 5 reverse, 0 gave %+v %+v %+v", a, b, c)
		}
		cancel()
		<-done
	})
}

func TestTrackerRejectsBadConfig(t *testing.T) {
	ok := Func(func(context.Context) error { return nil })
	for _, tr := range []*Tracker{
		{Name: "nocheck"},
		{Name: "rise", Check: ok, Rise: -1},
		{Name: "interval", Check: ok, Interval: -time.Second},
		{Name: "weight", Check: ok, Weight: 255},
		{Name: "weight", Check: ok, Weight: -255},
	} {
		err := tr.Run(t.Context(), nil, func(vrrp.TrackStatus) { t.Error("reported") })
		if err == nil || !strings.Contains(err.Error(), tr.Name) {
			t.Errorf("%s: Run returned %v, want an error naming the tracker", tr.Name, err)
		}
	}
}

// TestTrackerLogsChanges: every change is logged at Info with the
// tracker's name and the reason, in keepalived's words; failed runs that
// change nothing are logged at Debug only.
func TestTrackerLogsChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.DebugLevel)
		s := &scripted{results: []bool{true, false, false}}
		reports, stop := runTracker(t, &Tracker{
			Name: "chk_haproxy", Check: Func(s.check), Interval: time.Second, Fall: 2, Logger: zap.New(core),
		})
		for range 3 {
			<-reports
		}
		stop()
		type line struct {
			Level  zapcore.Level
			Msg    string
			Fields map[string]any
		}
		var got []line
		for _, e := range logs.All() {
			got = append(got, line{e.Level, e.Message, e.ContextMap()})
		}
		want := []line{
			{zapcore.InfoLevel, "VRRP_Script(chk_haproxy) succeeded", map[string]any{"tracker": "chk_haproxy", "reason": "ok"}},
			{zapcore.DebugLevel, "VRRP_Script(chk_haproxy) run failed", map[string]any{"tracker": "chk_haproxy", "reason": "exit status 1", "output": "", "score": "1/2 (rise 1, fall 2)"}},
			{zapcore.DebugLevel, "VRRP_Script(chk_haproxy) run failed", map[string]any{"tracker": "chk_haproxy", "reason": "exit status 2", "output": "", "score": "0/2 (rise 1, fall 2)"}},
			{zapcore.InfoLevel, "VRRP_Script(chk_haproxy) failed (exit status 2)", map[string]any{"tracker": "chk_haproxy", "reason": "exit status 2"}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("logs (-want +got):\n%s", diff)
		}
	})
}
