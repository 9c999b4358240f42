package vrrp

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
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
	core     *core
	ios      map[*port]*portIO
	ioList   []*portIO
	readFrom int // where readDue starts in ioList
	hold     holdPolicy
	read     readPolicy
	spin     wakePolicy
	held     []laterWork
	keepHeld retainer // lets held's storage go after a burst
	rx       rxBuffers
	tx       txScratch
	timer    Timer
	armedAt  time.Time
	workCtx  context.Context
	cancel   context.CancelFunc
	stopIO   chan struct{}
	ioWG     sync.WaitGroup
	workWG   sync.WaitGroup
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
	cfg.HMAC = cloneHMAC(cfg.HMAC)
	buffer := n.cfg.EventBuffer
	if cfg.DiscardEvents {
		buffer = 0
	}
	r := &Router{node: n, cfg: cfg, events: newEventQueue(buffer), changed: make(chan struct{})}
	r.key = routerKey{iface: cfg.Interface, ipv6: cfg.IPv6, vrid: cfg.VRID}
	r.priority.Store(uint32(cfg.Priority))
	r.base.Store(uint32(cfg.Priority))
	r.hmac.Store(cfg.HMAC)
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
		// Done once the removal's events and backend calls are handed
		// on, which may wait behind adverts (holdPolicy): the stream
		// closed below must hold them.
		c.later(laterWork{kind: laterDone, done: done})
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
