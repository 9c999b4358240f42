package vrrp

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/advert"
)

// NodeConfig configures a Node.
type NodeConfig struct {
	// Clock is where time comes from. Default: SystemClock.
	Clock Clock
	// Network opens one Transport per interface and address family.
	// Required: advert's sockets on Linux, vrrptest.LAN in tests.
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
	// PreciseWakeups backs the loop's timer with a Linux timerfd when
	// Clock is the system clock. An idle Go program wakes for a runtime
	// timer up to a millisecond late (its poller sleeps in whole
	// milliseconds), and the loop's timer is what sends a backup's first
	// advert once the master is gone: the delay adds to every takeover.
	// With it, down timers due within 200 µs of each other (a takeover of
	// many routers) are also waited for on the loop, yielding the thread,
	// rather than by sleeping. Costs a file descriptor and a goroutine.
	// Leave it off inside a testing/synctest bubble: a timerfd ticks in
	// real time, and a bubble's clock does not move while the loop waits.
	// Default: off (runtime timers only); only with the system clock, and
	// the timerfd on Linux.
	PreciseWakeups bool
}

// sourcePoll is how often a router without a source address asks a
// transport that is not a LinkMonitor for one.
const sourcePoll = time.Second

// ErrNodeStopped is returned by Add and Run once a Node's Run has returned.
var ErrNodeStopped = errors.New("vrrp: node stopped")

// Node runs many virtual routers on one goroutine: one timer for all of
// them, one Transport per interface and address family shared by its
// routers and demultiplexed by VRID, one goroutine per Transport that
// reads it or (batch transports) only waits for it, and one ordered worker
// per router for Backend calls so that a slow backend delays addresses,
// never adverts.
type Node struct {
	cfg   NodeConfig
	clock Clock
	log   *zap.Logger

	mu     sync.Mutex
	phase  nodePhase
	cmds   []func(time.Time)
	keys   map[routerKey]*Router
	seq    uint64 // order of Add, for Routers
	wakeCh chan struct{}

	// Owned by the loop.
	routers   []*Router
	trans     map[transportKey]*transport
	transList []*transport // the same, in a stable order
	groups    map[string]*syncGroup
	heap      routerHeap
	groupWork []groupEvent
	unstarted []*Router // attached, not yet started
	inGroup   bool
	// The deferred half of timer batches (see apply).
	deferring  bool
	inLater    bool
	later      []laterWork
	laterActs  []Action
	laterSince time.Time // when the first of later was queued
	rx         chan *rxBuf
	readable   chan readable
	held       []*Router // workers to start (see releaseHeld)
	heldSince  time.Time
	holdUntil  time.Time
	rxPkts     []advert.Packet // batch transports' reads
	rxBufs     [][]byte
	runCtx     context.Context
	workCtx    context.Context
	cancel     context.CancelFunc
	stopIO     chan struct{}
	ioWG       sync.WaitGroup
	workWG     sync.WaitGroup
	armedAt    time.Time

	// Step mode: the deterministic simulation drives the node on one
	// goroutine through a clock with AfterFunc and push transports.
	stepping  bool
	stepTimer Timer
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
		cfg:      cfg,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		keys:     make(map[routerKey]*Router),
		wakeCh:   make(chan struct{}, 1),
		trans:    make(map[transportKey]*transport),
		groups:   make(map[string]*syncGroup),
		rx:       make(chan *rxBuf, 64),
		readable: make(chan readable, 16),
		stopIO:   make(chan struct{}),
	}
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
	r := &Router{node: n, cfg: cfg, base: cfg.Priority, heapIdx: -1,
		events: newEventQueue(n.cfg.EventBuffer), tracks: make(map[string]TrackStatus)}
	r.key = routerKey{iface: cfg.Interface, ipv6: cfg.IPv6, vrid: cfg.VRID}
	r.m.Init(cfg.machineConfig())
	r.priority.Store(uint32(cfg.Priority))
	if err := r.prepare(n.clock.Now()); err != nil {
		return nil, err
	}
	n.mu.Lock()
	if n.phase == phaseStopped {
		n.mu.Unlock()
		return nil, ErrNodeStopped
	}
	if other := n.keys[r.key]; other != nil {
		n.mu.Unlock()
		return nil, &ConfigError{Router: cfg.Name, Field: "VRID",
			Err: errors.New("VRID " + strconv.Itoa(int(cfg.VRID)) + " on " + cfg.Interface + " is already used by " + other.cfg.Name)}
	}
	n.keys[r.key] = r
	n.seq++
	r.seq = n.seq
	n.mu.Unlock()
	n.do(func(now time.Time) { n.attach(r, now) })
	return r, nil
}

// Remove stops r cleanly — a master sends priority 0 and releases its VIPs
// — and takes it out of the Node, waiting until its Backend calls are done
// or ctx ends. The other routers keep running.
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
	n.do(func(now time.Time) {
		n.detach(r, now)
		close(done)
	})
	if !running && !n.stepping {
		return nil
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.work.wait(ctx)
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

// Run runs the routers until ctx ends, then shuts them down cleanly: every
// master sends a priority-0 advert and releases its VIPs; Run waits for the
// backends at most ShutdownTimeout, closes the transports and returns. It
// returns nil after a clean shutdown, or an error saying what did not
// finish. Run may be called once.
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

	n.runCtx = ctx
	n.workCtx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	timer := newLoopTimer(n.clock, n.cfg.PreciseWakeups)
	defer func() {
		if c, ok := timer.(io.Closer); ok {
			c.Close()
		}
	}()
	n.runPending()
	for {
		n.holdUntil = n.releaseHeld(n.clock.Now(), false)
		n.arm(timer)
		select {
		case <-ctx.Done():
			timer.Stop()
			return n.shutdown()
		case <-timer.C():
			n.armedAt = time.Time{}
			n.drainRx()
			n.readAll(n.clock.Now())
			n.onTimer(n.clock.Now())
			n.runLater(true)
			n.spinDownTimers()
		case s := <-n.readable:
			n.onReadable(s, n.clock.Now())
			n.runLater(true)
		case b := <-n.rx:
			n.onRx(b)
			n.runLater(true)
		case <-n.wakeCh:
			n.runPending()
			n.runLater(true)
		}
	}
}

// do runs f on the loop: at once in step mode, queued otherwise (before
// Run, the queue runs when Run starts).
func (n *Node) do(f func(now time.Time)) {
	if n.stepping {
		now := n.clock.Now()
		f(now)
		n.startAttached(now)
		n.stepArm()
		return
	}
	n.mu.Lock()
	if n.phase == phaseStopped {
		n.mu.Unlock()
		return
	}
	n.cmds = append(n.cmds, f)
	n.mu.Unlock()
	select {
	case n.wakeCh <- struct{}{}:
	default:
	}
}

func (n *Node) runPending() {
	for {
		n.mu.Lock()
		cmds := n.cmds
		n.cmds = nil
		n.mu.Unlock()
		if len(cmds) == 0 {
			n.startAttached(n.clock.Now())
			return
		}
		for _, f := range cmds {
			f(n.clock.Now())
		}
	}
}

// arm sets the loop's one timer to the earliest deadline. A timer armed
// for earlier is left alone: it fires early, the loop finds nothing due
// and arms it again. A backup's earliest deadline moves later with every
// advert it hears, and re-arming for each (2,000 a second with 200
// routers at 100 ms) would cost more than the odd early wake-up.
func (n *Node) arm(t Timer) {
	next := n.nextWake()
	if next.IsZero() || (!n.armedAt.IsZero() && !next.Before(n.armedAt)) {
		return
	}
	n.armedAt = next
	t.Reset(max(0, next.Sub(n.clock.Now())))
}

func (n *Node) nextWake() time.Time {
	var next time.Time
	if len(n.heap) > 0 {
		next = n.heap[0].wake
	}
	for _, t := range n.transList {
		if !t.reopenAt.IsZero() && (next.IsZero() || t.reopenAt.Before(next)) {
			next = t.reopenAt
		}
		if t.polling && (next.IsZero() || t.pollAt.Before(next)) {
			next = t.pollAt
		}
	}
	if !n.holdUntil.IsZero() && (next.IsZero() || n.holdUntil.Before(next)) {
		next = n.holdUntil
	}
	if len(n.later) > 0 {
		if until := n.laterSince.Add(maxHold); next.IsZero() || until.Before(next) {
			next = until
		}
	}
	return next
}

// spinWindow: with PreciseWakeups, a backup's down timer due within it is
// waited for on the loop rather than in the poller. A takeover's down
// timers run out as far apart as the master's adverts were sent, tens of
// microseconds, and a process that sleeps until the next one wakes 100 µs
// or more late (more on a busy virtual machine): the takeover would fall
// further behind with each router.
const spinWindow = 200 * time.Microsecond

// spinDownTimers handles the down timers due within spinWindow as they
// run out, yielding the thread while it waits.
func (n *Node) spinDownTimers() {
	if _, sys := n.clock.(SystemClock); !sys || !n.cfg.PreciseWakeups {
		return // a test's clock does not move while the loop waits
	}
	for len(n.heap) > 0 {
		r := n.heap[0]
		if r.wake.IsZero() || r.m.State() != Backup {
			return
		}
		now := n.clock.Now()
		if wait := r.wake.Sub(now); wait > spinWindow {
			return
		} else if wait > 0 {
			runtime.Gosched()
			continue
		}
		n.drainRx()
		n.readAll(now)
		n.onTimer(now)
		n.runLater(true)
	}
}

// dueBy reports whether a router's timer runs out at or before t.
func (n *Node) dueBy(t time.Time) bool {
	return len(n.heap) > 0 && !n.heap[0].wake.IsZero() && !n.heap[0].wake.After(t)
}

// onTimer handles every router whose timer ran out by now. Their adverts
// go out as each is handled; the rest of what they do (logs, events,
// backend hand-offs) waits in the later queue until runLater, so that
// the last of a burst of due adverts is not sent after the first ones'
// logging and address changes.
func (n *Node) onTimer(now time.Time) {
	was := n.deferring
	n.deferring = true
	defer func() { n.deferring = was }()
	for len(n.heap) > 0 {
		r := n.heap[0]
		if r.wake.IsZero() || r.wake.After(now) {
			break
		}
		if !r.recheckAt.IsZero() && !r.recheckAt.After(now) {
			r.recheckAt = time.Time{}
			n.refreshSource(r, now)
		}
		if d := r.m.Deadline(); !d.IsZero() && !d.After(now) {
			// An advert may be about to go out: it needs our current address.
			n.refreshSource(r, now)
			if d := r.m.Deadline(); !d.IsZero() && !d.After(now) {
				n.apply(r, r.m.TimerDue(now, r.acts[:0]), now)
			}
		}
		n.reschedule(r)
	}
	for _, t := range n.transList {
		if !t.reopenAt.IsZero() && !t.reopenAt.After(now) {
			n.openTransport(t, now)
		}
	}
}

// reschedule moves r in the timer heap to its next wake-up.
func (n *Node) reschedule(r *Router) {
	w := r.m.Deadline()
	if !r.recheckAt.IsZero() && (w.IsZero() || r.recheckAt.Before(w)) {
		w = r.recheckAt
	}
	r.wake = w
	if r.heapIdx >= 0 {
		heap.Fix(&n.heap, r.heapIdx)
	}
}

// attach adds r to its transport and group and starts it.
func (n *Node) attach(r *Router, now time.Time) {
	n.routers = append(n.routers, r)
	heap.Push(&n.heap, r)
	key := transportKey{iface: r.cfg.Interface, ipv6: r.cfg.IPv6, group: r.cfg.Group}
	t := n.trans[key]
	if t == nil {
		t = &transport{key: key, backoff: n.cfg.ReopenBackoff,
			ep: Endpoint{Interface: key.iface, IPv6: key.ipv6, Group: key.group}}
		n.trans[key] = t
		n.transList = append(n.transList, t)
	}
	t.routers[r.cfg.VRID] = r
	t.count++
	r.t = t
	if r.cfg.SyncGroup != "" {
		g := n.groups[r.cfg.SyncGroup]
		if g == nil {
			g = &syncGroup{name: r.cfg.SyncGroup}
			n.groups[g.name] = g
		}
		g.members = append(g.members, r)
		r.group = g
	}
	needAH := r.cfg.AuthType == advert.AuthAH
	switch {
	case t.tr != nil && needAH && !t.ep.AH:
		// The socket must also carry IP protocol 51 now.
		n.closeTransport(t)
		t.ep.AH = true
		n.openTransport(t, now)
	case t.tr == nil && t.reopenAt.IsZero():
		t.ep.AH = t.ep.AH || needAH
		n.openTransport(t, now)
	default:
		t.ep.AH = t.ep.AH || needAH
	}
	if t.tr == nil {
		n.setFault(r, faultTransport, true, "transport on "+t.ep.Interface+" not open", now)
	} else {
		n.setFault(r, faultLink, !t.up, "link down on "+t.ep.Interface, now)
		n.refreshSource(r, now)
	}
	if r.group != nil {
		n.syncFaults(r.group, now)
	}
	// Its tracked objects as they were when it was added: a router whose
	// tracker is in Fault goes straight to Fault when it starts.
	for _, s := range r.cfg.Tracks {
		n.track(r, s, false, now)
	}
	// Started by startAttached once the commands queued with it have run.
	n.unstarted = append(n.unstarted, r)
}

// startAttached starts the routers attached since the last call.
func (n *Node) startAttached(now time.Time) {
	for len(n.unstarted) > 0 {
		r := n.unstarted[0]
		n.unstarted = n.unstarted[1:]
		if r.removed || r.started {
			continue
		}
		r.started = true
		n.apply(r, r.m.Start(now, r.acts[:0]), now)
	}
}

// detach stops r and takes it out of its transport and group.
func (n *Node) detach(r *Router, now time.Time) {
	if r.removed {
		return
	}
	n.apply(r, r.m.Shutdown(now, r.acts[:0]), now)
	r.removed = true
	if r.heapIdx >= 0 {
		heap.Remove(&n.heap, r.heapIdx)
	}
	n.routers = slices.DeleteFunc(n.routers, func(x *Router) bool { return x == r })
	if t := r.t; t != nil {
		t.routers[r.cfg.VRID] = nil
		t.count--
		if t.count == 0 {
			n.closeTransport(t)
			delete(n.trans, t.key)
			n.transList = slices.DeleteFunc(n.transList, func(x *transport) bool { return x == t })
		}
	}
	if g := r.group; g != nil {
		g.members = slices.DeleteFunc(g.members, func(x *Router) bool { return x == r })
		if len(g.members) == 0 {
			delete(n.groups, g.name)
		} else {
			n.syncFaults(g, now)
		}
	}
}

// shutdown stops every router, waits for the backends, closes the
// transports and stops the goroutines.
func (n *Node) shutdown() error {
	now := n.clock.Now()
	for _, r := range n.routers {
		n.apply(r, r.m.Shutdown(now, r.acts[:0]), now)
	}
	n.mu.Lock()
	n.phase = phaseStopped
	n.mu.Unlock()
	n.releaseHeld(now, true)
	err := n.waitWorkers()
	for _, t := range n.transList {
		n.closeTransport(t)
	}
	close(n.stopIO)
	n.ioWG.Wait()
	n.cancel()
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

// setFault turns one fault condition of r on or off and moves the machine
// into or out of Fault when the whole changes.
func (n *Node) setFault(r *Router, k faultKind, on bool, detail string, now time.Time) {
	if k == faultLink && r.cfg.IgnoreLinkDown {
		on = false
	}
	if !r.faults.set(k, on, detail) {
		return
	}
	if on {
		n.log.Info("(" + r.cfg.Name + ") fault: " + detail)
	}
	if r.group != nil && k != faultSync {
		n.syncFaults(r.group, now)
	}
	n.applyFault(r, now)
}

func (n *Node) applyFault(r *Router, now time.Time) {
	if r.removed {
		return
	}
	on := r.faults.any()
	if on == r.m.Faulted() {
		return
	}
	n.apply(r, r.m.SetFault(now, on, r.faults.first(), r.acts[:0]), now)
}

// refreshSource finds the source address of r's adverts and faults r while
// there is none. A LinkMonitor says when an address appears; other
// transports are asked again every second.
func (n *Node) refreshSource(r *Router, now time.Time) {
	if r.removed || r.t == nil || r.t.tr == nil {
		return
	}
	src := r.cfg.UnicastSrc
	if !src.IsValid() {
		src = r.t.tr.LocalAddr()
	}
	if !src.IsValid() {
		if !r.t.monitored {
			r.recheckAt = now.Add(sourcePoll)
		}
		n.setFault(r, faultNoSource, true, "no usable source address on "+r.cfg.Interface, now)
		return
	}
	r.recheckAt = time.Time{}
	if src != r.m.Addr() {
		n.apply(r, r.m.SetAddr(src, r.acts[:0]), now)
	}
	n.setFault(r, faultNoSource, false, "", now)
}

// apply carries out a machine's actions. acts is r.acts (or grew from
// it). Adverts go out first, with what changes the protocol's course
// (sync group work) and what readers see (state, master); then the rest:
// logs, events, backend hand-offs. Inside onTimer the rest waits in the
// later queue; anywhere else it is done at once, after that queue (so
// that one router's effects never overtake each other).
func (n *Node) apply(r *Router, acts []Action, now time.Time) {
	if !n.deferring && len(n.later) > 0 {
		n.runLater(false)
	}
	// What readers see is updated first, so that a program woken by any
	// event of this batch reads the state and master the batch ends with.
	for i := range acts {
		switch a := &acts[i]; a.Kind {
		case ActState:
			r.state.Store(uint32(a.To))
			switch {
			case a.To == Master:
				r.stats.becameMaster.Add(1)
			case a.From == Master:
				r.stats.leftMaster.Add(1)
			}
			if r.group != nil && a.From == Master && a.To == Backup && a.Reason == ReasonHigherPriority {
				n.groupWork = append(n.groupWork, groupEvent{r: r, kind: groupSteppedDown})
			}
		case ActMaster:
			r.masterMu.Lock()
			r.master = a.Addr
			r.masterMu.Unlock()
		}
	}
	later := false
	for i := range acts {
		switch a := &acts[i]; a.Kind {
		case ActSend:
			if n.send(r, a.Priority, now) && a.Priority == 0 {
				// Logged with the rest, in its place among them.
				a.Kind = actSentZero
				later = true
			}
		case ActWantMaster:
			n.groupWork = append(n.groupWork, groupEvent{r: r, kind: groupWantMaster, reason: a.Reason})
		default:
			later = later || deferrable(a.Kind)
		}
	}
	if later {
		prio := r.m.Priority()
		if n.deferring {
			start := len(n.laterActs)
			for i := range acts {
				if a := &acts[i]; deferrable(a.Kind) {
					n.laterActs = append(n.laterActs, *a)
				}
			}
			if len(n.later) == 0 {
				n.laterSince = n.clock.Now()
			}
			n.later = append(n.later, laterWork{r: r, now: now, prio: prio, from: start, to: len(n.laterActs)})
		} else {
			for i := range acts {
				n.finish(r, &acts[i], now, prio)
			}
		}
	}
	r.acts = acts[:0]
	n.reschedule(r)
	n.runGroupWork(now)
}

// laterWork is the deferred part of one apply: n.laterActs[from:to],
// carried out as of now, when the router's priority was prio.
type laterWork struct {
	r        *Router
	now      time.Time
	prio     uint8
	from, to int
}

// actSentZero marks, in the Node's own copy of the actions, an ActSend
// of priority 0 that went out: it is logged in the second half.
const actSentZero ActionKind = 255

// deferrable: the actions that neither send nor steer the protocol.
func deferrable(k ActionKind) bool {
	switch k {
	case ActState, ActMaster, ActNote, ActAcquire, ActRelease, ActAnnounce, actSentZero:
		return true
	}
	return false
}

// finish carries out the part of an action that can wait.
func (n *Node) finish(r *Router, a *Action, now time.Time, prio uint8) {
	switch a.Kind {
	case ActAcquire, ActRelease, ActAnnounce:
		n.backendOp(r, a.Kind, prio)
	case ActState:
		n.stateChanged(r, a, now, prio)
	case ActMaster:
		r.events.push(Event{Kind: EventMaster, Time: now, Router: r.cfg.Name, Master: a.Addr, Priority: prio})
	case ActNote:
		n.note(r, a)
	case actSentZero:
		n.log.Info("(" + r.cfg.Name + ") sent 0 priority")
	}
}

// runLater carries out the deferred work of timer batches, in order.
// With preempt, it waits while a router's timer is due within holdWindow
// (for maxHold at most): the adverts of a takeover of many routers go out
// one after another as their timers run out, as fast as the master sent
// them, and work done between them would make the last ones late. And
// routers whose timers run out while it works are handled between two
// pieces of it. Without preempt (before an event that is not a timer is
// handled) it does everything at once.
func (n *Node) runLater(preempt bool) {
	if n.inLater || len(n.later) == 0 {
		return
	}
	if preempt && !n.stepping {
		if now := n.clock.Now(); now.Before(n.laterSince.Add(maxHold)) && n.dueBy(now.Add(holdWindow)) {
			return
		}
	}
	n.inLater = true
	defer func() { n.inLater = false }()
	for i := 0; i < len(n.later); i++ {
		if preempt {
			if now := n.clock.Now(); n.dueBy(now) {
				n.onTimer(now)
			}
		}
		w := n.later[i]
		for j := w.from; j < w.to; j++ {
			n.finish(w.r, &n.laterActs[j], w.now, w.prio)
		}
	}
	clear(n.laterActs) // the Detail strings
	n.later, n.laterActs = n.later[:0], n.laterActs[:0]
}

func (n *Node) stateChanged(r *Router, a *Action, now time.Time, prio uint8) {
	n.logState(r, a)
	r.events.push(Event{Kind: EventState, Time: now, Router: r.cfg.Name, From: a.From, To: a.To,
		Reason: a.Reason, Detail: a.Detail, Priority: prio})
}

// track records a tracked object's status and recomputes priority and
// fault.
func (n *Node) track(r *Router, s TrackStatus, remove bool, now time.Time) {
	if r.removed {
		return
	}
	old, had := r.tracks[s.Name]
	if remove {
		if !had {
			return
		}
		delete(r.tracks, s.Name)
		r.trackOrder = slices.DeleteFunc(r.trackOrder, func(x string) bool { return x == s.Name })
		n.recompute(r, now, "tracked "+s.Name+" removed")
		return
	}
	if had && old == s {
		return
	}
	r.tracks[s.Name] = s
	if !had {
		r.trackOrder = append(r.trackOrder, s.Name)
	}
	cause := "tracked " + s.Name + " " + upDown(s.Up)
	if s.Reason != "" {
		cause += " (" + s.Reason + ")"
	}
	if !had || old.Up != s.Up || old.Fault != s.Fault {
		n.log.Info("(" + r.cfg.Name + ") " + cause)
	}
	n.recompute(r, now, cause)
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func (n *Node) setBase(r *Router, p uint8, now time.Time) {
	if r.removed || p == r.base {
		return
	}
	r.base = p
	n.recompute(r, now, "base priority set to "+strconv.Itoa(int(p)))
}

// EffectivePriority is base plus the sum of deltas, clamped to 1..254; an
// owner (base 255) stays at 255 (keepalived's rules for tracked weights).
func EffectivePriority(base uint8, deltaSum int) uint8 {
	if base == OwnerPriority {
		return OwnerPriority
	}
	return uint8(min(max(int(base)+deltaSum, 1), int(OwnerPriority)-1))
}

func (n *Node) recompute(r *Router, now time.Time, cause string) {
	sum := 0
	fault, detail := false, ""
	for _, name := range r.trackOrder {
		s := r.tracks[name]
		sum += s.Delta
		if s.Fault && !fault {
			fault = true
			detail = "tracked " + name + " failed"
			if s.Reason != "" {
				detail += ": " + s.Reason
			}
		}
	}
	n.setFault(r, faultTrack, fault, detail, now)
	eff := EffectivePriority(r.base, sum)
	old := r.m.Priority()
	if eff == old {
		return
	}
	n.log.Info("("+r.cfg.Name+") Changing effective priority from "+strconv.Itoa(int(old))+" to "+strconv.Itoa(int(eff)),
		zap.String("cause", cause))
	n.apply(r, r.m.SetPriority(now, eff, r.acts[:0]), now)
	r.priority.Store(uint32(eff))
	r.events.push(Event{Kind: EventPriority, Time: now, Router: r.cfg.Name, Priority: eff, OldPriority: old, Detail: cause})
}

func (n *Node) resign(r *Router, now time.Time) {
	if r.removed {
		return
	}
	if r.group == nil {
		n.apply(r, r.m.Resign(now, r.acts[:0]), now)
		return
	}
	for _, m := range r.group.members {
		if m == r || m.m.State() == Master {
			n.apply(m, m.m.Resign(now, m.acts[:0]), now)
		}
	}
}

// routerHeap orders routers by their next wake-up; zero (none) sorts last.
type routerHeap []*Router

func (h routerHeap) Len() int { return len(h) }
func (h routerHeap) Less(i, j int) bool {
	a, b := h[i].wake, h[j].wake
	if a.IsZero() || b.IsZero() {
		return !a.IsZero() && b.IsZero()
	}
	return a.Before(b)
}
func (h routerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *routerHeap) Push(x any) {
	r := x.(*Router)
	r.heapIdx = len(*h)
	*h = append(*h, r)
}
func (h *routerHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.heapIdx = -1
	return r
}
