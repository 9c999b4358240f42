package health

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Tracker runs one check repeatedly and turns its results into a State
// with keepalived's rules (keepalived.conf(5), "VRRP script(s)"). The zero
// values of its fields are keepalived's defaults.
type Tracker struct {
	// Name identifies the tracked object in statuses and logs: the
	// vrrp_script or vrrp_track_process name, the interface name, the
	// track_file name. A router tells its trackers apart by it.
	Name string

	// Check is what is run. Required.
	Check Check

	// Interval is the time from the start of one run to the start of the
	// next (keepalived's "interval", default 1 s). The first run starts at
	// once. For a Watcher (Interface, File), 0 means it runs only when
	// its object changes, which is how keepalived tracks interfaces and
	// files.
	Interval time.Duration

	// Timeout is how long a run may take before it counts as a failure and
	// its context is cancelled (keepalived's "timeout"; default: Interval,
	// as keepalived does when no timeout is set, or 1 s when Interval is 0).
	// Timeout may exceed Interval: a run still going when the next one is
	// due is skipped, never started twice.
	Timeout time.Duration

	// Rise is how many successes in a row bring a down object up, Fall how
	// many failures in a row bring an up object down (keepalived's "rise"
	// and "fall", default 1 each). Valued checks (File) ignore both.
	Rise, Fall int

	// Weight and Reverse are applied by Run (see Weight.Status); RunState
	// ignores them. keepalived's "weight N [reverse]", default 0: Fault
	// while down.
	Weight  int
	Reverse bool

	// InitFail starts the object known and down (keepalived's
	// "init_fail"), so Rise successes are needed before it counts as up.
	// Without it the object starts unknown, and its first result decides
	// at once in either direction.
	InitFail bool

	// Logger receives a line at Info for every change of state (with the
	// tracker's name, the reason and the check's output) and at Debug for
	// every failed run. Nil: no logging.
	Logger *zap.Logger
}

// errTimedOut is the cause a timed-out check's context is cancelled with.
var errTimedOut = errors.New("health: check timed out")

// Initial is the status the tracker reports before its first result: what
// a router should start with, so that a weight-0 tracker (or init_fail)
// holds it out of service from the start rather than from the first report.
func (t *Tracker) Initial() vrrp.TrackStatus {
	return Weight{Weight: t.Weight, Reverse: t.Reverse}.Status(t.initialState())
}

func (t *Tracker) initialState() State {
	if t.InitFail {
		return State{Name: t.Name, Known: true, Reason: "init_fail: down until it succeeds"}
	}
	return State{Name: t.Name, Reason: "no result yet"}
}

// Run runs the tracker until ctx is done, applying the tracker's Weight and
// Reverse. It calls report with the initial status, then after every change
// of state; report is called from Run's goroutine only, never concurrently,
// and must not block for long (the next run waits for it). A nil clock is
// vrrp.SystemClock. Run returns an error at once if the tracker is
// misconfigured, otherwise ctx.Err() once ctx is done and the run in
// progress has returned (or has outlived its timeout).
func (t *Tracker) Run(ctx context.Context, clock vrrp.Clock, report func(vrrp.TrackStatus)) error {
	w := Weight{Weight: t.Weight, Reverse: t.Reverse}
	return t.RunState(ctx, clock, func(s State) { report(w.Status(s)) })
}

// RunState is Run without the weight: it reports the object's State, for a
// caller that applies several weights to one object (one keepalived
// vrrp_script tracked by several instances, each with its own "weight").
func (t *Tracker) RunState(ctx context.Context, clock vrrp.Clock, report func(State)) error {
	if t.Check == nil {
		return fmt.Errorf("health: tracker %q: no check", t.Name)
	}
	if t.Interval < 0 || t.Timeout < 0 {
		return fmt.Errorf("health: tracker %q: negative interval or timeout", t.Name)
	}
	if t.Rise < 0 || t.Fall < 0 {
		return fmt.Errorf("health: tracker %q: negative rise or fall", t.Name)
	}
	if t.Weight < -254 || t.Weight > 254 {
		return fmt.Errorf("health: tracker %q: weight %d outside -254..254", t.Name, t.Weight)
	}
	if clock == nil {
		clock = vrrp.SystemClock{}
	}
	r := &runner{
		name:   t.Name,
		kind:   kind(t.Check),
		check:  t.Check,
		clock:  clock,
		report: report,
		log:    t.Logger,
		state:  t.initialState(),
	}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	r.log = r.log.With(zap.String("tracker", t.Name))
	r.watcher, _ = t.Check.(Watcher)
	r.interval = t.Interval
	if r.interval == 0 && r.watcher == nil {
		r.interval = time.Second
	}
	r.timeout = t.Timeout
	if r.timeout == 0 {
		r.timeout = r.interval
	}
	if r.timeout == 0 {
		r.timeout = time.Second
	}
	rise, fall := max(t.Rise, 1), max(t.Fall, 1)
	r.score = newScore(rise, fall, t.InitFail)
	return r.run(ctx)
}

// runner is one Run: a loop on one goroutine that owns all state; each run
// of the check happens on a goroutine of its own, so a slow or hung check
// delays nothing but itself.
type runner struct {
	name, kind string
	check      Check
	watcher    Watcher
	clock      vrrp.Clock
	report     func(State)
	log        *zap.Logger
	interval   time.Duration
	timeout    time.Duration
	score      score
	state      State
}

func (r *runner) run(ctx context.Context) error {
	r.report(r.state)

	// At most one run is in flight, so one slot is enough for its result
	// and its goroutine never blocks, even if it outlives Run.
	results := make(chan Result, 1)
	var (
		running   bool // a run is in flight
		timedOut  bool // ... and it has outlived its timeout
		rerun     bool // a watched change arrived during the run
		started   time.Time
		cancelRun context.CancelCauseFunc
		timeout   vrrp.Timer
		timeoutC  <-chan time.Time
		changed   <-chan struct{}
		tickC     <-chan time.Time
	)
	start := func() {
		if r.watcher != nil {
			// Before the run, so a change during the run is not lost.
			changed = r.watcher.Changed()
		}
		var runCtx context.Context
		runCtx, cancelRun = context.WithCancelCause(ctx)
		running, timedOut = true, false
		started = r.clock.Now()
		if timeout == nil {
			timeout = r.clock.NewTimer(r.timeout)
		} else {
			timeout.Reset(r.timeout)
		}
		timeoutC = timeout.C()
		go func(ctx context.Context, cancel context.CancelCauseFunc) {
			res := r.runCheck(ctx)
			cancel(nil)
			results <- res
		}(runCtx, cancelRun)
	}

	defer func() {
		if timeout != nil {
			timeout.Stop()
		}
	}()
	var tick vrrp.Timer
	if r.interval > 0 {
		tick = r.clock.NewTimer(r.interval)
		defer tick.Stop()
		tickC = tick.C()
	}
	start()
	for {
		select {
		case <-ctx.Done():
			return r.stop(ctx, results, running, timedOut, timeoutC)
		case <-tickC:
			tick.Reset(r.interval)
			switch {
			case !running:
				start()
			case timedOut:
				// keepalived kills a timed-out script, so its next run
				// starts and fails again; a check that cannot be killed
				// fails every interval it stays hung, or a hung check
				// would never reach fall.
				r.observe(Result{Reason: fmt.Sprintf("still running %v after it timed out",
					r.clock.Now().Sub(started).Round(time.Millisecond))})
			default:
				r.log.Info(fmt.Sprintf("%s(%s) is already running, skipping run", r.kind, r.name))
			}
		case <-changed:
			changed = nil
			if running {
				rerun = true
			} else {
				start()
			}
		case <-timeoutC:
			timeoutC = nil
			timedOut = true
			cancelRun(errTimedOut)
			r.observe(Result{Reason: fmt.Sprintf("timed out after %v", r.timeout)})
		case res := <-results:
			running = false
			if timedOut {
				// Without polling nothing may wake us again: run once
				// more so the object's state is not stuck on the timeout.
				rerun = rerun || tickC == nil
			} else {
				timeout.Stop()
				timeoutC = nil
				r.observe(res)
			}
			if rerun {
				rerun = false
				start()
			}
		}
	}
}

// stop waits, when ctx is done, for the run in flight (its context is
// already cancelled) for at most the rest of its timeout, so that Exec has
// killed its process group before Run returns but a check that ignores its
// context cannot keep Run from returning.
func (r *runner) stop(ctx context.Context, results <-chan Result, running, timedOut bool, timeoutC <-chan time.Time) error {
	for running && !timedOut {
		select {
		case <-results:
			running = false
		case <-timeoutC:
			timedOut = true
		}
	}
	return ctx.Err()
}

// runCheck runs the check once; a panic is a failure, with its stack as the
// output for the log.
func (r *runner) runCheck(ctx context.Context) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Result{Reason: fmt.Sprintf("panic: %v", p), Output: string(debug.Stack())}
		}
	}()
	return r.check.Check(ctx)
}

// observe counts one result and reports the state if it changed.
func (r *runner) observe(res Result) {
	var changed bool
	if res.Valued {
		changed = !r.state.Known || !r.state.Valued || r.state.Value != res.Value
		r.state = State{Name: r.name, Known: true, Up: res.Value == 0, Valued: true, Value: res.Value, Reason: res.Reason}
	} else {
		changed = r.score.observe(res.Up)
		if changed || r.state.Valued {
			r.state = State{Name: r.name, Known: true, Up: r.score.up(), Reason: res.Reason}
		}
	}
	if !res.Up && !res.Valued {
		r.log.Debug(fmt.Sprintf("%s(%s) run failed", r.kind, r.name),
			zap.String("reason", res.Reason), zap.String("output", res.Output), zap.Stringer("score", r.score))
	}
	if !changed {
		return
	}
	var msg string
	switch {
	case r.state.Valued:
		msg = fmt.Sprintf("%s(%s) now %d", r.kind, r.name, r.state.Value)
	case r.state.Up:
		msg = fmt.Sprintf("%s(%s) succeeded", r.kind, r.name)
	default:
		msg = fmt.Sprintf("%s(%s) failed (%s)", r.kind, r.name, res.Reason)
	}
	fields := []zap.Field{zap.String("reason", res.Reason)}
	if res.Output != "" {
		fields = append(fields, zap.String("output", res.Output))
	}
	r.log.Info(msg, fields...)
	r.report(r.state)
}
