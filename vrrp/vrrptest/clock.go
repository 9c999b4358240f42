package vrrptest

import (
	"container/heap"
	"sync"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// ManualClock is a vrrp.Clock whose time moves only when told to. Timers
// fire in order of their time and, for the same time, in the order they
// were set, so runs are deterministic. AfterFunc callbacks run on the
// goroutine that moves the clock; channel timers send without blocking
// (capacity 1), like time.Timer. It is safe for concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers manualHeap
}

var _ vrrp.Clock = (*ManualClock)(nil)

// NewManualClock returns a clock reading start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that sends the clock's time on its channel once
// d has passed.
func (c *ManualClock) NewTimer(d time.Duration) vrrp.Timer {
	t := &manualTimer{c: c, ch: make(chan time.Time, 1), idx: -1}
	c.mu.Lock()
	c.schedule(t, d)
	c.mu.Unlock()
	return t
}

// AfterFunc calls f on the goroutine that advances the clock, once d has
// passed. The returned Timer's C is nil.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) vrrp.Timer {
	t := &manualTimer{c: c, f: f, idx: -1}
	c.mu.Lock()
	c.schedule(t, d)
	c.mu.Unlock()
	return t
}

// Advance moves the clock forward by d, firing every timer due by then,
// each at its own time (Now, inside a callback, reads the timer's time).
// Timers set by callbacks fire too if they fall within d.
func (c *ManualClock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock forward to t (never backwards), firing every
// timer due by then.
func (c *ManualClock) AdvanceTo(t time.Time) {
	for c.fireNext(t) {
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// Next returns when the next timer fires, if any is set.
func (c *ManualClock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// Step moves the clock to the next timer and fires it (only that one),
// reporting whether there was one.
func (c *ManualClock) Step() bool {
	next, ok := c.Next()
	if !ok {
		return false
	}
	return c.fireNext(next)
}

// StepUntil fires the next timer if it is due by limit (moving the clock
// to its time), reporting whether it did: Step with a horizon.
func (c *ManualClock) StepUntil(limit time.Time) bool { return c.fireNext(limit) }

// StepInstant fires every timer due at the earliest instant at or before
// limit, moving the clock there, and reports whether there was one:
// first the AfterFunc callbacks (in the order set), then the channel
// timers. It is for simulations whose Nodes run on goroutines of their own
// inside a testing/synctest bubble: the caller waits (synctest.Wait) after
// each instant, and every goroutine a channel timer wakes finds whatever
// the callbacks (a LAN's deliveries) did at that instant already done.
func (c *ManualClock) StepInstant(limit time.Time) bool {
	c.mu.Lock()
	if len(c.timers) == 0 || c.timers[0].when.After(limit) {
		c.mu.Unlock()
		return false
	}
	at := c.timers[0].when
	var due []*manualTimer
	for len(c.timers) > 0 && c.timers[0].when.Equal(at) {
		due = append(due, heap.Pop(&c.timers).(*manualTimer))
	}
	if at.After(c.now) {
		c.now = at
	}
	now := c.now
	c.mu.Unlock()
	for _, t := range due {
		if t.f != nil {
			t.f()
		}
	}
	for _, t := range due {
		if t.f == nil {
			select {
			case t.ch <- now:
			default:
			}
		}
	}
	return true
}

// Pending returns the number of timers set.
func (c *ManualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// PendingAt returns the number of timers set to fire at exactly t: a test
// waiting for a goroutine to schedule its next run at a known time polls it
// before moving the clock, so the move cannot race the scheduling.
func (c *ManualClock) PendingAt(t time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, tm := range c.timers {
		if tm.when.Equal(t) {
			n++
		}
	}
	return n
}

// fireNext fires the earliest timer if it is due by limit.
func (c *ManualClock) fireNext(limit time.Time) bool {
	c.mu.Lock()
	if len(c.timers) == 0 || c.timers[0].when.After(limit) {
		c.mu.Unlock()
		return false
	}
	t := heap.Pop(&c.timers).(*manualTimer)
	if t.when.After(c.now) {
		c.now = t.when
	}
	now := c.now
	f, ch := t.f, t.ch
	c.mu.Unlock()
	if f != nil {
		f()
	} else {
		select {
		case ch <- now:
		default:
		}
	}
	return true
}

// schedule sets t to fire after d; c.mu is held.
func (c *ManualClock) schedule(t *manualTimer, d time.Duration) {
	c.seq++
	t.when = c.now.Add(max(d, 0))
	t.seq = c.seq
	heap.Push(&c.timers, t)
}

type manualTimer struct {
	c    *ManualClock
	when time.Time
	seq  uint64
	idx  int // in the heap; -1 when not set
	ch   chan time.Time
	f    func()
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

// Reset sets the timer to fire after d; like time.Timer (Go 1.23), no stale
// value is received afterwards.
func (t *manualTimer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	active := t.stop()
	c.schedule(t, d)
	return active
}

// Stop stops the timer; no stale value is received afterwards.
func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.stop()
}

func (t *manualTimer) stop() bool {
	active := t.idx >= 0
	if active {
		heap.Remove(&t.c.timers, t.idx)
	}
	if t.ch != nil {
		select {
		case <-t.ch:
		default:
		}
	}
	return active
}

type manualHeap []*manualTimer

func (h manualHeap) Len() int { return len(h) }
func (h manualHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h manualHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *manualHeap) Push(x any) {
	t := x.(*manualTimer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *manualHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}
