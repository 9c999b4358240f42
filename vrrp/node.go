package vrrp

import (
	"cmp"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NodeConfig configures a Node. The zero value of each optional field is
// its default.
type NodeConfig struct {
	// Clock is where time comes from. Default: the system clock.
	Clock Clock
	// Network opens one Transport per interface and address family.
	// Required: NewSocketNetwork on Linux, vrrptest.LAN's hosts in tests.
	Network Network
	// Logger receives state changes at Info in keepalived's wording
	// ("(VI_1) Entering MASTER STATE") and per-packet drops at Debug
	// (rate-limited). Default: no logging.
	Logger *zap.Logger
	// EventBuffer is the capacity of each router's event channel. Default: 16.
	EventBuffer int
	// ShutdownTimeout bounds how long Run waits, after its context ends,
	// for the backends to release the VIPs. Default: 10 s.
	ShutdownTimeout time.Duration
	// ReopenBackoff is the first wait before reopening a transport that
	// failed; it doubles on each failure up to MaxReopenBackoff. Defaults:
	// 100 ms and 30 s.
	ReopenBackoff    time.Duration
	MaxReopenBackoff time.Duration
	// PreciseWakeups backs the loop's timer with a Linux timerfd, and
	// waits for a backup's down timer due within 200 µs on the loop
	// (yielding the thread) rather than by sleeping. An idle Go program
	// wakes for a runtime timer up to a millisecond late (its poller
	// sleeps in whole milliseconds), and the loop's timer is what sends a
	// backup's first advert once the master is gone: the delay adds to
	// every takeover. Costs a file descriptor and a goroutine. It needs
	// the system clock (Clock nil or SystemClock): NewNode refuses it with
	// any other, which cannot wake the loop at a precise instant (and a
	// testing/synctest bubble's time does not move while the loop spins).
	// Default: off.
	PreciseWakeups bool
	// Observer receives measurements (takeover latencies, backend call
	// durations) as they happen. Default: none.
	Observer Observer
}

// Observer receives a Node's measurements. Its methods are called on the
// Node's protocol loop, one at a time: they must not block.
type Observer interface {
	// Takeover: r became master, latency after the last advert it heard
	// (the master's last advert, for a takeover after the master died).
	Takeover(r *Router, latency time.Duration)
	// BackendDone: a Backend call of r ("acquire", "release" or
	// "announce") returned err after took.
	BackendDone(r *Router, op string, took time.Duration, err error)
}

// sourcePoll is how often the loop asks a transport that cannot watch
// its interface for its LocalAddr.
const sourcePoll = time.Second

// ErrNodeStopped is returned by Add, Run and Ping once a Node's Run has
// returned.
var ErrNodeStopped = errors.New("vrrp: node stopped")

// Node runs many virtual routers. Its protocol — the routers' state
// machines, the shared transports demultiplexed by VRID, the receive
// checks, faults, tracking and sync groups — is a pure core driven by one
// loop goroutine. The loop only schedules: it waits for packets or the
// next deadline, reads, feeds the core, sends the core's adverts first,
// hands backend calls to one ordered worker per router (so that a slow
// backend delays addresses, never adverts) and delivers events. A
// goroutine per transport waits for packets (the loop reads them itself,
// in batches) and another watches its link.
type Node struct {
	cfg   NodeConfig
	clock Clock
	log   *zap.Logger

	mu    sync.Mutex
	phase nodePhase
	keys  map[routerKey]*Router
	seq   uint64 // order of Add, for Routers
	// Signals for the loop, taken in this order at each wake-up.
	cmds     []func(*core, time.Time)
	links    []*portIO
	failures []portFailure
	woken    []*portIO
	results  []backendResult
	wake     chan struct{}

	// Owned by the loop.
	core    *core
	ios     map[*port]*portIO
	ioList  []*portIO
	hold    holdPolicy
	read    readPolicy
	spin    wakePolicy
	held    []laterWork
	rx      rxBuffers
	timer   Timer
	armedAt time.Time
	workCtx context.Context
	cancel  context.CancelFunc
	stopIO  chan struct{}
	ioWG    sync.WaitGroup
	workWG  sync.WaitGroup
}

type nodePhase uint8

const (
	phaseIdle nodePhase = iota
	phaseRunning
	phaseStopped
)

// NewNode returns a Node; add routers with Add and start it with Run.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.Network == nil {
		return nil, errors.New("vrrp: NodeConfig.Network is required")
	}
	if cfg.PreciseWakeups && cfg.Clock != nil && cfg.Clock != (SystemClock{}) {
		return nil, errors.New("vrrp: NodeConfig.PreciseWakeups needs the system clock (Clock nil)")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 16
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.ReopenBackoff <= 0 {
		cfg.ReopenBackoff = 100 * time.Millisecond
	}
	if cfg.MaxReopenBackoff < cfg.ReopenBackoff {
		cfg.MaxReopenBackoff = max(30*time.Second, cfg.ReopenBackoff)
	}
	n := &Node{
		cfg:    cfg,
		clock:  cfg.Clock,
		log:    cfg.Logger,
		keys:   make(map[routerKey]*Router),
		wake:   make(chan struct{}, 1),
		ios:    make(map[*port]*portIO),
		hold:   newHoldPolicy(),
		read:   newReadPolicy(),
		spin:   newWakePolicy(cfg.PreciseWakeups),
		stopIO: make(chan struct{}),
	}
	n.core = newCore(cfg.Logger.Core().Enabled, cfg.ReopenBackoff, cfg.MaxReopenBackoff)
	n.workCtx, n.cancel = context.WithCancel(context.Background())
	return n, nil
}

// Add validates cfg and adds a router. It may be called before or while
// the Node runs (a configuration reload adds new routers and removes old
// ones while the others keep running). Errors are *ConfigError for a bad
// Config, including a VRID already used on the interface and family.
func (n *Node) Add(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// The caller may reuse its slices; Config hands out copies too.
	cfg.VIPs, cfg.Peers, cfg.Tracks = slices.Clone(cfg.VIPs), slices.Clone(cfg.Peers), slices.Clone(cfg.Tracks)
	cfg.PeerHopLimits = slices.Clone(cfg.PeerHopLimits)
	r := &Router{node: n, cfg: cfg, events: newEventQueue(n.cfg.EventBuffer), changed: make(chan struct{})}
	r.key = routerKey{iface: cfg.Interface, ipv6: cfg.IPv6, vrid: cfg.VRID}
	r.priority.Store(uint32(cfg.Priority))
	cr, err := newCoreRouter(r, n.clock.Now())
	if err != nil {
		return nil, err
	}
	r.core = cr
	n.mu.Lock()
	if n.phase == phaseStopped {
		n.mu.Unlock()
		return nil, ErrNodeStopped
	}
	if other := n.keys[r.key]; other != nil {
		n.mu.Unlock()
		return nil, &ConfigError{Router: cfg.Name, Field: "VRID",
			Err: errors.New("VRID " + strconv.Itoa(cfg.VRID) + " on " + cfg.Interface + " is already used by " + other.cfg.Name)}
	}
	n.keys[r.key] = r
	n.seq++
	r.seq = n.seq
	n.mu.Unlock()
	n.do(func(c *core, now time.Time) { c.add(now, cr) })
	return r, nil
}

// Remove stops r cleanly — a master sends priority 0 and releases its VIPs
// — and takes it out of the Node, waiting until its Backend calls are done
// or ctx ends. The other routers keep running. r's event stream is closed.
func (n *Node) Remove(ctx context.Context, r *Router) error {
	if r.node != n {
		return errors.New("vrrp: router " + r.cfg.Name + " is not in this node")
	}
	done := make(chan struct{})
	n.mu.Lock()
	if n.keys[r.key] != r {
		n.mu.Unlock()
		return errors.New("vrrp: router " + r.cfg.Name + " already removed")
	}
	delete(n.keys, r.key)
	running := n.phase == phaseRunning
	n.mu.Unlock()
	n.do(func(c *core, now time.Time) {
		c.remove(now, r.core)
		close(done)
	})
	if !running {
		return nil // closed by Run
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := r.work.wait(ctx)
	if err == nil {
		r.stopped()
	}
	return err
}

// Routers returns the routers in the Node, in the order they were added.
func (n *Node) Routers() []*Router {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Router, 0, len(n.keys))
	for _, r := range n.keys {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Router) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// Ping returns nil once the Node's loop has handled a command sent now: a
// watchdog's proof that the protocol loop is not stuck. It returns ctx's
// error if the loop does not answer in time, and ErrNodeStopped once Run
// has returned.
func (n *Node) Ping(ctx context.Context) error {
	done := make(chan struct{})
	n.mu.Lock()
	if n.phase == phaseStopped {
		n.mu.Unlock()
		return ErrNodeStopped
	}
	n.mu.Unlock()
	n.do(func(*core, time.Time) { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do queues f for the loop (before Run, the queue runs when Run starts).
func (n *Node) do(f func(c *core, now time.Time)) {
	n.mu.Lock()
	if n.phase == phaseStopped {
		n.mu.Unlock()
		return
	}
	n.cmds = append(n.cmds, f)
	n.mu.Unlock()
	n.poke()
}

// poke wakes the loop.
func (n *Node) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run runs the routers until ctx ends, then shuts them down cleanly: every
// master sends a priority-0 advert and releases its VIPs; Run waits for the
// backends at most ShutdownTimeout, closes the transports, closes every
// router's event stream and returns. It returns nil after a clean
// shutdown, or an error saying what did not finish. Run may be called
// once.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	switch n.phase {
	case phaseRunning:
		n.mu.Unlock()
		return errors.New("vrrp: node already running")
	case phaseStopped:
		n.mu.Unlock()
		return ErrNodeStopped
	}
	n.phase = phaseRunning
	n.mu.Unlock()

	n.timer = newLoopTimer(n.clock, n.cfg.PreciseWakeups)
	defer func() {
		if c, ok := n.timer.(io.Closer); ok {
			c.Close()
		}
	}()
	for {
		n.step()
		n.waitOnLoop()
		n.arm()
		select {
		case <-ctx.Done():
			n.timer.Stop()
			return n.shutdown()
		case <-n.timer.C():
			n.armedAt = time.Time{}
		case <-n.wake:
		}
	}
}

// step does everything due: the signals of the waiting goroutines
// (commands, link changes, failed transports, transports with packets,
// finished backend calls), then reads, timers, and the output.
func (n *Node) step() {
	c := n.core
	now := n.clock.Now()
	n.mu.Lock()
	cmds, links, failures, woken, results := n.cmds, n.links, n.failures, n.woken, n.results
	n.cmds, n.links, n.failures, n.woken, n.results = nil, nil, nil, nil, nil
	n.mu.Unlock()
	for _, f := range cmds {
		f(c, n.clock.Now())
	}
	c.start(now)
	for _, pio := range links {
		n.linkChanged(pio, now)
	}
	for _, f := range failures {
		if pio := n.ios[f.p]; pio == f.pio {
			c.portFailed(now, f.p, f.err)
		}
	}
	for _, pio := range woken {
		if n.ios[pio.p] == pio {
			n.read.woke(&pio.poll, now)
		}
	}
	for _, res := range results {
		n.backendDone(res, now)
	}
	n.flush(now)
	now = n.clock.Now()
	n.readDue(now)
	c.tick(now)
	n.flush(now)
	n.pollSources(now)
	n.runHeld()
}

// flush carries out the core's output: transports to open or close (the
// results go back to the core at once), then what readers see, then the
// adverts, then the rest, which waits in held for the hold policy.
func (n *Node) flush(now time.Time) {
	c := n.core
	o := &c.out
	if o.empty() {
		return
	}
	for i := 0; i < len(o.ports); i++ {
		p := o.ports[i]
		p.listed = false
		n.reconcilePort(p, now)
	}
	for _, r := range o.views {
		r.dirty = false
		r.h.publish(r.m.State(), r.m.Master(), r.m.Priority())
	}
	failed := n.sendAll(o, now)
	if len(o.later) > 0 || len(failed) > 0 {
		n.hold.queued(now)
		// The failures to send, in their places among the rest.
		prev := 0
		for _, f := range failed {
			n.held = append(n.held, o.later[prev:f.pos]...)
			n.held = append(n.held, f.log)
			prev = f.pos
		}
		n.held = append(n.held, o.later[prev:]...)
	}
	o.reset()
}

// sendFailure is the log line of an advert that did not go out, and its
// place in the output's later work.
type sendFailure struct {
	pos int
	log laterWork
}

// sendAll puts the core's adverts on the wire, and returns the log lines
// of those that failed (rate-limited per router).
func (n *Node) sendAll(o *output, now time.Time) []sendFailure {
	var failed []sendFailure
	ok := false
	for i := range o.sends {
		s := &o.sends[i]
		if pio := n.ios[s.port]; pio != nil {
			pkt := pio.txPkt(s, o.arena)
			if err := pio.tr.Send(pkt); err != nil {
				s.r.h.stats.sendErrors.Add(1)
				if allow, suppressed := s.r.h.sendLog.allow(now, time.Second); allow {
					failed = append(failed, sendFailure{pos: s.pos, log: laterWork{kind: laterLog, level: zapcore.WarnLevel,
						msg:    "(" + s.r.cfg.Name + ") Cant send advert to " + s.dst.String(),
						fields: []zap.Field{zap.Error(err), zap.Int("suppressed", suppressed)}}})
				}
			} else {
				ok = true
			}
		}
		if !s.last {
			continue
		}
		if ok {
			s.r.h.stats.sent.Add(1)
			if s.prio == 0 {
				s.r.h.stats.prio0Sent.Add(1)
				o.later[s.zero].sent = true
			}
		}
		ok = false
	}
	return failed
}

// runHeld carries out the held work unless the hold policy says wait. A
// router timer that runs out meanwhile is handled between two pieces of
// it, its adverts first.
func (n *Node) runHeld() {
	if len(n.held) == 0 {
		return
	}
	if n.hold.hold(n.clock.Now(), n.core.timers.next()) {
		return
	}
	n.hold.released()
	for i := 0; i < len(n.held); i++ {
		if i%8 == 7 {
			if now := n.clock.Now(); n.core.due(now) {
				n.core.tick(now)
				n.flush(now)
			}
		}
		n.carryOut(&n.held[i])
	}
	clear(n.held)
	n.held = n.held[:0]
	n.hold.released()
}

// carryOut does one piece of held work.
func (n *Node) carryOut(w *laterWork) {
	switch w.kind {
	case laterLog:
		if ce := n.log.Check(w.level, w.msg); ce != nil {
			ce.Write(w.fields...)
		}
	case laterSentZero:
		if w.sent {
			n.log.Info(w.msg)
		}
	case laterEvent:
		w.r.events.push(w.ev)
	case laterBackend:
		n.startOp(w.r, w.op)
	case laterTakeover:
		if n.cfg.Observer != nil {
			n.cfg.Observer.Takeover(w.r, w.took)
		}
	}
}

// startOp hands op to r's worker, starting its goroutine if it has none.
func (n *Node) startOp(r *Router, op backendOp) {
	start, dropped := r.work.queue(op)
	if dropped {
		r.stats.backendDropped.Add(1)
		return
	}
	if !start {
		return
	}
	n.workWG.Add(1)
	go func() {
		defer n.workWG.Done()
		r.work.run(n.workCtx, r.cfg.Backend, n.clock, n.backendResult, r)
	}()
}

// backendResult is the workers' report to the loop.
func (n *Node) backendResult(res backendResult) {
	n.mu.Lock()
	n.results = append(n.results, res)
	n.mu.Unlock()
	n.poke()
}

func (n *Node) backendDone(res backendResult, now time.Time) {
	r := res.r
	if n.cfg.Observer != nil {
		n.cfg.Observer.BackendDone(r, res.kind.String(), res.took, res.err)
	}
	if res.err != nil && errors.Is(res.err, context.Canceled) && n.workCtx.Err() == nil {
		return // superseded by a newer call: not a failure
	}
	if res.err != nil {
		r.stats.backendErrors.Add(1)
		n.log.Error("("+r.cfg.Name+") backend "+res.kind.String()+" failed", zap.Error(res.err))
		r.events.push(Event{Kind: EventBackendError, Time: now, Router: r.cfg.Name,
			Detail: res.kind.String(), Err: res.err, Priority: r.Priority()})
	}
	if res.kind == ActAcquire && r.core != nil {
		n.core.acquired(now, r.core, res.err)
	}
}

// waitOnLoop waits on the loop's thread, yielding, for a backup's down
// timer that the wake policy says is too close to sleep for, and handles
// it when it runs out.
func (n *Node) waitOnLoop() {
	for {
		r := n.core.timers.first()
		if r == nil || len(n.wake) > 0 {
			return
		}
		now := n.clock.Now()
		if !n.spin.waitOnLoop(now, r.wake, r.m.State() == Backup) {
			return
		}
		if r.wake.After(now) {
			runtime.Gosched()
			continue
		}
		n.step()
	}
}

// arm sets the loop's one timer to the earliest deadline. A timer armed
// for earlier is left alone: it fires early, the loop finds nothing due
// and arms it again. A backup's earliest deadline moves later with every
// advert it hears, and re-arming for each (2,000 a second with 200
// routers at 100 ms) would cost more than the odd early wake-up.
func (n *Node) arm() {
	next := n.nextWake()
	if next.IsZero() || (!n.armedAt.IsZero() && !next.Before(n.armedAt)) {
		return
	}
	n.armedAt = next
	n.timer.Reset(max(0, next.Sub(n.clock.Now())))
}

// nextWake is the earliest of the core's deadline, the transports' reads
// and source polls, and the held work's.
func (n *Node) nextWake() time.Time {
	next := n.core.deadline()
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, pio := range n.ioList {
		if pio.poll.polling {
			earlier(pio.poll.pollAt)
		}
		if !pio.monitored {
			earlier(pio.sourceAt)
		}
	}
	if len(n.held) > 0 {
		// When the hold ends, or when the timer holding it has run.
		earlier(n.hold.deadline())
	}
	return next
}

// shutdown stops every router, waits for the backends, closes the
// transports, stops the goroutines and ends the routers' event streams.
func (n *Node) shutdown() error {
	n.mu.Lock()
	n.phase = phaseStopped
	cmds := n.cmds
	n.cmds = nil
	n.mu.Unlock()
	now := n.clock.Now()
	// Commands queued before the end still count (a Remove waits on one).
	for _, f := range cmds {
		f(n.core, now)
	}
	n.core.shutdown(now)
	n.flush(now)
	n.hold.since = time.Time{}
	n.runHeld()
	err := n.waitWorkers()
	for _, pio := range n.ioList {
		n.stopPortIO(pio)
	}
	close(n.stopIO)
	n.ioWG.Wait()
	n.cancel()
	n.mu.Lock()
	routers := make([]*Router, 0, len(n.keys))
	for _, r := range n.keys {
		routers = append(routers, r)
	}
	n.mu.Unlock()
	for _, cr := range n.core.routers {
		cr.h.stopped()
	}
	for _, r := range routers {
		r.stopped()
	}
	return err
}

func (n *Node) waitWorkers() error {
	done := make(chan struct{})
	go func() {
		n.workWG.Wait()
		close(done)
	}()
	t := n.clock.NewTimer(n.cfg.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C():
		return errors.New("vrrp: shutdown: backends did not finish within " + n.cfg.ShutdownTimeout.String())
	}
}
