package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// Router is one virtual router running in a Node. Its methods are safe to
// call from any goroutine; changes are carried out by the Node's loop, and
// what they do is seen in State, Priority, Events and the logs.
type Router struct {
	node *Node
	cfg  Config // with defaults
	key  routerKey
	own  bool   // created by NewRouter: Run runs the node
	seq  uint64 // order of Add

	events *eventQueue
	stats  routerStats
	work   worker

	// What readers see, published by the loop.
	state    atomic.Uint32 // State
	priority atomic.Uint32 // effective priority
	base     atomic.Uint32 // base priority, as last set (Config, SetPriority)
	baseMu   sync.Mutex
	viewMu   sync.Mutex
	master   netip.Addr
	changed  chan struct{} // closed at the next state change

	// The auth_hmac in force (see SetHMAC); hmacMu orders SetHMAC calls.
	hmac   atomic.Pointer[auth.HMACConfig]
	hmacMu sync.Mutex

	// Owned by the loop.
	core    *coreRouter
	sendLog rateLimit
}

type routerKey struct {
	iface string
	ipv6  bool
	vrid  int
}

// Name returns Config.Name (or its default).
func (r *Router) Name() string { return r.cfg.Name }

// Config returns the router's configuration with defaults filled in, the
// base priority last set and the HMAC in force. Its slices are copies.
func (r *Router) Config() Config {
	c := r.cfg
	c.VIPs, c.Peers, c.Tracks = slices.Clone(c.VIPs), slices.Clone(c.Peers), slices.Clone(c.Tracks)
	c.PeerHopLimits = slices.Clone(c.PeerHopLimits)
	c.HMAC = cloneHMAC(r.hmac.Load())
	c.Priority = int(r.base.Load())
	return c
}

// State returns the current state.
func (r *Router) State() State {
	return State(r.state.Load())
}

// Master returns the current master's address: ours when we are master,
// the source of the adverts we follow when backup, the zero Addr when
// unknown (starting, after a priority-0 advert, in Fault).
func (r *Router) Master() netip.Addr {
	r.viewMu.Lock()
	defer r.viewMu.Unlock()
	return r.master
}

// Priority returns the effective priority: the base priority plus the
// deltas of tracked objects, clamped to 1..254 (an owner stays at 255).
func (r *Router) Priority() int {
	return int(r.priority.Load())
}

// WaitState waits until the router is in one of the states given (for
// example Master, for a program that serves only while it holds the
// addresses) and returns the state; or it returns ctx's error, or
// ErrNodeStopped once the router stopped for good.
func (r *Router) WaitState(ctx context.Context, states ...State) (State, error) {
	for {
		r.viewMu.Lock()
		s, changed := State(r.state.Load()), r.changed
		r.viewMu.Unlock()
		if slices.Contains(states, s) {
			return s, nil
		}
		if changed == nil {
			return s, ErrNodeStopped
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}

// publish shows readers the state, master and priority the core has for
// r, and wakes WaitState callers when the state changed.
func (r *Router) publish(s State, master netip.Addr, prio uint8) {
	r.priority.Store(uint32(prio))
	r.viewMu.Lock()
	defer r.viewMu.Unlock()
	r.master = master
	if State(r.state.Swap(uint32(s))) != s && r.changed != nil {
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

// stopped ends r's event stream and wakes WaitState callers for good: the
// router will not change again.
func (r *Router) stopped() {
	r.viewMu.Lock()
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	r.viewMu.Unlock()
	r.events.close()
}

// Events returns the router's event stream. It never blocks the protocol:
// when the consumer falls behind, the oldest events are dropped (counted in
// Event.Lost and Stats.EventsLost), never the newest, and State, Master and
// Priority always return the latest values. The channel is closed when the
// router stops for good: its Node's Run returned, or Remove removed it;
// with Config.DiscardEvents it is closed from the start.
func (r *Router) Events() <-chan Event { return r.events.stream() }

// Stats returns the router's counters.
func (r *Router) Stats() Stats {
	s := r.stats.snapshot()
	s.EventsLost = r.events.dropped()
	return s
}

// SetPriority changes the base priority (1..255). A master advertises the
// new effective priority at once; a backup that now outranks the master
// preempts it when its down timer runs out (RFC 5798 §6.4.2).
func (r *Router) SetPriority(p int) error {
	if p < 1 || p > OwnerPriority {
		return &ConfigError{Router: r.cfg.Name, Field: "Priority", Err: errors.New("must be 1..255, got " + strconv.Itoa(p))}
	}
	// Under baseMu, so that base and the core see concurrent calls in
	// one order.
	r.baseMu.Lock()
	defer r.baseMu.Unlock()
	r.base.Store(uint32(p))
	r.node.do(func(c *core, now time.Time) { c.setBase(r.core, p, now) })
	return nil
}

// Resign hands the VIPs to the best backup now, without stopping: a
// master sends a priority-0 advert, releases its addresses and becomes a
// backup that does not preempt until it next becomes master (by
// Master_Down_Interval expiring or by a priority-0 advert). The backup
// with the highest priority takes over after its Skew_Time.
//
// Backups are silent in VRRP, so a master cannot know that one exists: if
// none does, nobody takes over and this router becomes master again after
// Master_Down_Interval. Resign on a router that is not master does
// nothing (it is logged). In a sync group, every master of the group
// resigns.
func (r *Router) Resign() {
	r.node.do(func(c *core, now time.Time) { c.resign(r.core, now) })
}

// Track sets the status of one tracked object (keyed by s.Name, replacing
// the previous status of that name). The effective priority is the base
// priority plus the sum of the Deltas, clamped to 1..254 (an owner stays
// at 255); while any status has Fault set the router is in Fault.
func (r *Router) Track(s TrackStatus) {
	r.node.do(func(c *core, now time.Time) { c.track(r.core, s, false, now) })
}

// Untrack forgets the tracked object name.
func (r *Router) Untrack(name string) {
	r.node.do(func(c *core, now time.Time) { c.track(r.core, TrackStatus{Name: name}, true, now) })
}

// Run runs a router made by NewRouter until ctx ends, then shuts it down
// cleanly: a master sends a priority-0 advert and releases its VIPs (Run
// waits for the Backend, at most NodeConfig.ShutdownTimeout). For a router
// added to a shared Node, run the Node instead.
func (r *Router) Run(ctx context.Context) error {
	if !r.own {
		return errors.New("vrrp: router " + r.cfg.Name + " belongs to a shared Node: run the Node")
	}
	return r.node.Run(ctx)
}

// NewRouter returns a router with a Node of its own, for programs that run
// one virtual router: Run runs both.
func NewRouter(cfg Config, nc NodeConfig) (*Router, error) {
	n, err := NewNode(nc)
	if err != nil {
		return nil, err
	}
	r, err := n.Add(cfg)
	if err != nil {
		return nil, err
	}
	r.own = true
	return r, nil
}

// rateLimit lets one log line through per period and counts the rest.
type rateLimit struct {
	next       time.Time
	suppressed int
}

func (l *rateLimit) allow(now time.Time, period time.Duration) (ok bool, suppressed int) {
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	l.next = now.Add(period)
	s := l.suppressed
	l.suppressed = 0
	return true, s
}
