package vip

import (
	"container/heap"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// target is one address to announce and the interface it goes out on.
type target struct {
	addr    netip.Addr
	ifname  string
	ifindex int
	mac     net.HardwareAddr
	router  bool // IPv6 only: the neighbor advertisement's Router flag
}

// owner is one router's announcements: its schedule and its addresses.
// Its events leave the queue when it is stopped.
type owner struct {
	name    string // the router, for logs
	sched   Schedule
	targets []target // guarded by announcer.mu
	stopped atomic.Bool
}

type eventKind uint8

const (
	evPacket  eventKind = iota // send one packet
	evBatch                    // expand into rounds × targets packets
	evRefresh                  // a batch, then the next refresh
)

type event struct {
	due     time.Time
	seq     uint64 // FIFO among equal due times
	kind    eventKind
	owner   *owner
	t       target   // evPacket
	rounds  int      // evBatch, evRefresh
	targets []target // evBatch: nil means the owner's targets when it fires
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// paceKey is what ARPInterval / NAInterval space packets on: one
// interface and one kind of packet, like keepalived's per-interface
// garp_next_time and gna_next_time.
type paceKey struct {
	ifindex int
	ipv6    bool
}

// announcer runs every router's announcements of one backend on a single
// goroutine and a single timer, in the manner of keepalived's one thread:
// 200 routers cost one goroutine's wake-ups, not 200.
type announcer struct {
	clock vrrp.Clock
	send  func(target) error
	log   *zap.Logger

	mu       sync.Mutex
	seq      uint64
	queue    eventQueue
	nextFree map[paceKey]time.Time
	closed   bool
	failures uint64 // send errors, for rate-limited logging

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newAnnouncer(clock vrrp.Clock, log *zap.Logger, send func(target) error) *announcer {
	a := &announcer{
		clock:    clock,
		send:     send,
		log:      log,
		nextFree: make(map[paceKey]time.Time),
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go a.run()
	return a
}

// start begins o's schedule now: Repeat rounds at once, Repeat more after
// Delay, and a refresh every Refresh.
func (a *announcer) start(o *owner) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	now := a.clock.Now()
	s := o.sched
	a.twiceLocked(o, now, s.Repeat, s.Delay)
	if s.Refresh > 0 && s.RefreshRepeat > 0 {
		a.pushLocked(&event{due: now.Add(s.Refresh), kind: evRefresh, owner: o, rounds: s.RefreshRepeat})
	}
	a.kick()
}

// lowerPrio is Announce: LowerPrioRepeat rounds at once and again after
// LowerPrioDelay (keepalived's reaction to a lower-priority advert).
func (a *announcer) lowerPrio(o *owner) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.twiceLocked(o, a.clock.Now(), o.sched.LowerPrioRepeat, o.sched.LowerPrioDelay)
	a.kick()
}

// twiceLocked queues rounds of o's addresses at now and, when delay is
// set, rounds more after it: keepalived's garp_master_repeat /
// garp_master_delay, and their garp_lower_prio_* twins.
func (a *announcer) twiceLocked(o *owner, now time.Time, rounds int, delay time.Duration) {
	if rounds <= 0 {
		return
	}
	a.pushLocked(&event{due: now, kind: evBatch, owner: o, rounds: rounds})
	if delay > 0 {
		a.pushLocked(&event{due: now.Add(delay), kind: evBatch, owner: o, rounds: rounds})
	}
}

// some announces only ts (addresses restored after someone deleted them)
// with the owner's Repeat rounds, at once.
func (a *announcer) some(o *owner, ts []target) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || o.sched.Repeat == 0 || len(ts) == 0 {
		return
	}
	a.pushLocked(&event{due: a.clock.Now(), kind: evBatch, owner: o, rounds: o.sched.Repeat, targets: ts})
	a.kick()
}

// setTargets replaces what o announces from now on (batches already
// expanded into packets keep their packets).
func (a *announcer) setTargets(o *owner, ts []target) {
	a.mu.Lock()
	o.targets = ts
	a.mu.Unlock()
}

// stop drops every pending announcement of o. A packet already taken off
// the queue is not sent either: the sender checks o.stopped.
func (a *announcer) stop(o *owner) {
	o.stopped.Store(true)
	a.mu.Lock()
	defer a.mu.Unlock()
	kept := a.queue[:0]
	for _, e := range a.queue {
		if e.owner != o {
			kept = append(kept, e)
		}
	}
	for i := len(kept); i < len(a.queue); i++ {
		a.queue[i] = nil
	}
	a.queue = kept
	heap.Init(&a.queue)
}

// close stops the goroutine and drops everything pending.
func (a *announcer) close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return
	}
	a.closed = true
	a.queue = nil
	a.mu.Unlock()
	close(a.quit)
	<-a.done
}

// pending reports the number of queued events (tests).
func (a *announcer) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}

func (a *announcer) pushLocked(e *event) {
	a.seq++
	e.seq = a.seq
	heap.Push(&a.queue, e)
}

func (a *announcer) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// expandLocked turns a batch into packets: rounds × targets, each spaced
// after the previous packet of its kind on its interface.
func (a *announcer) expandLocked(e *event, now time.Time) {
	ts := e.targets
	if ts == nil {
		ts = e.owner.targets
	}
	for r := 0; r < e.rounds; r++ {
		for _, t := range ts {
			k := paceKey{ifindex: t.ifindex, ipv6: t.addr.Is6()}
			gap := e.owner.sched.ARPInterval
			if k.ipv6 {
				gap = e.owner.sched.NAInterval
			}
			due := now
			if next, ok := a.nextFree[k]; ok && next.After(due) {
				due = next
			}
			if gap > 0 {
				a.nextFree[k] = due.Add(gap)
			} else if due.After(now) {
				a.nextFree[k] = due
			} else {
				delete(a.nextFree, k)
			}
			a.pushLocked(&event{due: due, kind: evPacket, owner: e.owner, t: t})
		}
	}
}

// dueLocked takes every event due at now off the queue, expanding batches
// and rescheduling refreshes, and returns the packets to send in order.
func (a *announcer) dueLocked(now time.Time, out []*event) []*event {
	for len(a.queue) > 0 && !a.queue[0].due.After(now) {
		e := heap.Pop(&a.queue).(*event)
		switch e.kind {
		case evPacket:
			out = append(out, e)
		case evBatch:
			a.expandLocked(e, now)
		case evRefresh:
			a.expandLocked(e, now)
			// From the due time, not now, so refreshes do not drift.
			a.pushLocked(&event{due: e.due.Add(e.owner.sched.Refresh), kind: evRefresh, owner: e.owner, rounds: e.rounds})
		}
	}
	return out
}

func (a *announcer) run() {
	defer close(a.done)
	timer := a.clock.NewTimer(time.Hour)
	timer.Stop()
	var batch []*event
	for {
		a.mu.Lock()
		batch = a.dueLocked(a.clock.Now(), batch[:0])
		a.mu.Unlock()
		for i, e := range batch {
			if !e.owner.stopped.Load() {
				if err := a.send(e.t); err != nil {
					a.sendFailed(e, err)
				}
				if i < len(batch)-1 {
					// A takeover of 200 routers queues 1,000 packets
					// at once, 10 ms of sending: let a protocol loop
					// sharing the thread (GOMAXPROCS=1) send its adverts
					// in between rather than after.
					runtime.Gosched()
				}
			}
			batch[i] = nil
		}

		a.mu.Lock()
		var wait time.Duration = -1
		if len(a.queue) > 0 {
			wait = max(a.queue[0].due.Sub(a.clock.Now()), 0)
		}
		a.mu.Unlock()
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-timer.C():
		case <-a.wake:
		case <-a.quit:
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// sendFailed logs send errors at 1, 2, 4, 8… failures so a dead link does
// not flood the log.
func (a *announcer) sendFailed(e *event, err error) {
	a.mu.Lock()
	a.failures++
	n := a.failures
	a.mu.Unlock()
	if n&(n-1) == 0 {
		a.log.Warn("sending announcement failed",
			zap.String("router", e.owner.name),
			zap.Stringer("address", e.t.addr),
			zap.String("interface", e.t.ifname),
			zap.Uint64("failures", n),
			zap.Error(err))
	}
}
