package main

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// processInterval is how often a vrrp_track_process is polled: keepalived
// learns of processes from the kernel's process events, health.Process
// reads /proc.
const processInterval = time.Second

// trackers runs one health.Tracker per tracked object of the
// configuration (one vrrp_script feeds every instance that tracks it, each
// with its own weight, as in keepalived) and keeps them across reloads
// when their definition did not change.
type trackers struct {
	log   *zap.Logger
	clock vrrp.Clock

	mu      sync.Mutex
	running map[trackKey]*tracker
}

// tracker is one running object: a health.Shared, which runs the check
// once for every instance that tracks it, each with its own weight.
type tracker struct {
	key    trackKey
	def    any // *kaconf.Script, *kaconf.TrackProcess, *kaconf.TrackFile, or the interface name
	cancel context.CancelFunc
	done   chan struct{}
	closer io.Closer
	env    scriptIdentity // scripts: who runs them
	shared *health.Shared

	mu    sync.Mutex
	unsub []func() // the current subscribers'
}

// scriptIdentity is what of the script environment a script tracker
// depends on.
type scriptIdentity struct {
	user, group string
	security    bool
}

func identityOf(e *scriptEnv) scriptIdentity {
	return scriptIdentity{user: e.user, group: e.group, security: e.security}
}

// subscriber is one router's use of a tracker.
type subscriber struct {
	name   string // the TrackStatus name in the router
	weight health.Weight
	report func(vrrp.TrackStatus)
}

func newTrackers(log *zap.Logger, clock vrrp.Clock) *trackers {
	return &trackers{log: log, clock: clock, running: make(map[trackKey]*tracker)}
}

// definition returns what key names in conf, or nil.
func definition(conf *kaconf.Config, key trackKey) any {
	switch key.kind {
	case trackScript:
		if s := conf.Script(key.name); s != nil {
			return s
		}
	case trackProcess:
		if p := conf.Process(key.name); p != nil {
			return p
		}
	case trackFile:
		if f := conf.File(key.name); f != nil {
			return f
		}
	case trackInterface:
		return key.name
	}
	return nil
}

func sameDefinition(a, b any) bool {
	switch a := a.(type) {
	case *kaconf.Script:
		b, ok := b.(*kaconf.Script)
		return ok && a.Equal(b)
	case *kaconf.TrackProcess:
		b, ok := b.(*kaconf.TrackProcess)
		return ok && a.Equal(b)
	case *kaconf.TrackFile:
		b, ok := b.(*kaconf.TrackFile)
		return ok && a.Equal(b)
	case string:
		b, ok := b.(string)
		return ok && a == b
	}
	return false
}

// newTracker builds the health.Tracker for a tracked object (and what to
// close when it stops).
func newTracker(key trackKey, def any, env *scriptEnv, log *zap.Logger) (*health.Tracker, io.Closer, []string, error) {
	switch d := def.(type) {
	case *kaconf.Script:
		ex, warns, err := env.exec(d.Command)
		if err != nil {
			return nil, nil, warns, err
		}
		return &health.Tracker{Name: key.name, Check: ex, Interval: d.Interval, Timeout: d.Timeout,
			Rise: d.Rise, Fall: d.Fall, InitFail: d.InitFail, Logger: log}, nil, warns, nil
	case *kaconf.TrackProcess:
		return processTracker(key.name, d, log), nil, nil, nil
	case *kaconf.TrackFile:
		if d.Init {
			if err := health.InitFile(d.Path, d.InitValue, d.InitOverwrite); err != nil {
				return nil, nil, nil, err
			}
		}
		f, err := health.NewFile(d.Path)
		if err != nil {
			return nil, nil, nil, err
		}
		return &health.Tracker{Name: key.name, Check: f, Logger: log}, f, nil, nil
	case string:
		i, err := health.NewInterface(d)
		if err != nil {
			return nil, nil, nil, err
		}
		return &health.Tracker{Name: key.name, Check: i, Logger: log}, i, nil, nil
	}
	return nil, nil, nil, errors.New("not defined")
}

// processTracker maps a vrrp_track_process: keepalived's fork_delay and
// terminate_delay become rise and fall at the polling interval.
func processTracker(name string, p *kaconf.TrackProcess, log *zap.Logger) *health.Tracker {
	pm := health.ParamNone
	switch p.ParamMatch {
	case kaconf.MatchExact:
		pm = health.ParamExact
	case kaconf.MatchPartial:
		pm = health.ParamPartial
	case kaconf.MatchInitial:
		pm = health.ParamInitial
	}
	check := &health.Process{Name: p.Process, Args: p.Params, ParamMatch: pm, FullCommand: p.FullCommand,
		Quorum: p.Quorum}
	switch {
	case p.QuorumMax == 0:
		check.Absent = true
	case p.QuorumMax > 0:
		check.QuorumMax = p.QuorumMax
	}
	return &health.Tracker{Name: name, Check: check, Interval: processInterval,
		Rise: delaySteps(p.ForkDelay), Fall: delaySteps(p.TerminateDelay), Logger: log}
}

// delaySteps is how many polls in a row make a delay: delay / interval,
// rounded up, plus one.
func delaySteps(d time.Duration) int {
	return int(math.Ceil(float64(d)/float64(processInterval))) + 1
}

// reconcile makes the running trackers those refs need: unchanged ones
// keep running (and their state), changed or new ones start, unused ones
// stop. It returns the keys that could not be started, with why, and
// warnings about the ones that did.
func (ts *trackers) reconcile(conf *kaconf.Config, keys []trackKey, env *scriptEnv) (failed map[trackKey]error, warnings []string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	want := make(map[trackKey]any, len(keys))
	for _, k := range keys {
		want[k] = definition(conf, k)
	}
	carry := make(map[trackKey]health.State)
	for k, t := range ts.running {
		d, ok := want[k]
		switch {
		case !ok || !sameDefinition(t.def, d):
		case k.kind == trackScript && t.env != identityOf(env):
			// Same script, another user: restart it, keeping what is
			// known until the new run knows better.
			carry[k] = t.shared.State()
		default:
			continue
		}
		t.stop()
		delete(ts.running, k)
	}
	failed = make(map[trackKey]error)
	for _, k := range keys {
		if _, ok := ts.running[k]; ok {
			continue
		}
		if _, bad := failed[k]; bad {
			continue
		}
		def := want[k]
		ht, closer, warns, err := newTracker(k, def, env, ts.log)
		for _, w := range warns {
			warnings = append(warnings, k.String()+": "+w)
		}
		if err != nil {
			failed[k] = err
			continue
		}
		t := &tracker{key: k, def: def, closer: closer, done: make(chan struct{}), env: identityOf(env),
			shared: health.NewShared(ht)}
		if st, ok := carry[k]; ok {
			t.shared.Seed(st)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.cancel = cancel
		go func() {
			defer close(t.done)
			err := t.shared.Run(ctx, ts.clock)
			if err != nil && ctx.Err() == nil {
				ts.log.Error("tracker "+k.String()+" stopped", zap.Error(err))
			}
		}()
		ts.running[k] = t
	}
	return failed, warnings
}

// subscribe replaces every tracker's subscribers: subs maps a key to the
// routers that use it. Each subscriber hears the current state at once.
func (ts *trackers) subscribe(subs map[trackKey][]subscriber) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for k, t := range ts.running {
		t.mu.Lock()
		for _, u := range t.unsub {
			u()
		}
		t.unsub = t.unsub[:0]
		for _, s := range subs[k] {
			t.unsub = append(t.unsub, t.shared.Subscribe(s.name, s.weight, s.report))
		}
		t.mu.Unlock()
	}
}

// attach adds one subscriber to the tracker of k and tells it the current
// state at once.
func (ts *trackers) attach(k trackKey, s subscriber) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.running[k]
	if t == nil {
		return
	}
	t.mu.Lock()
	t.unsub = append(t.unsub, t.shared.Subscribe(s.name, s.weight, s.report))
	t.mu.Unlock()
}

// status is what subscriber s of the tracker of k would hear now; false
// when no tracker of k runs.
func (ts *trackers) status(k trackKey, s subscriber) (vrrp.TrackStatus, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.running[k]
	if t == nil {
		return vrrp.TrackStatus{}, false
	}
	return t.shared.Status(s.name, s.weight), true
}

// awaitKnown waits until every running tracker among keys knows its
// object's state, or ctx ends: keepalived keeps an instance in INIT until
// its scripts have returned once, rather than starting it and faulting it
// a moment later.
func (ts *trackers) awaitKnown(ctx context.Context, keys []trackKey) {
	ts.mu.Lock()
	var wait []<-chan struct{}
	for _, k := range keys {
		if t := ts.running[k]; t != nil {
			wait = append(wait, t.shared.Known())
		}
	}
	ts.mu.Unlock()
	for _, ch := range wait {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// knownWait bounds awaitKnown for a configuration: a script that does not
// return counts as failed after its timeout.
func knownWait(conf *kaconf.Config) time.Duration {
	w := 2 * time.Second
	for _, s := range conf.Scripts {
		w = max(w, s.Timeout+time.Second)
	}
	return min(w, 30*time.Second)
}

func (t *tracker) stop() {
	t.cancel()
	<-t.done
	if t.closer != nil {
		t.closer.Close()
	}
}

// stopAll stops every tracker.
func (ts *trackers) stopAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for k, t := range ts.running {
		t.stop()
		delete(ts.running, k)
	}
}
