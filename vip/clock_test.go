package vip

import (
	"sync"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// manualClock is a vrrp.Clock that moves only when the test says. It is
// used inside a synctest bubble: Advance fires each due timer at its own
// time and waits (synctest.Wait) until every goroutine has reacted before
// moving on, so what a goroutine does at 5 s happens at 5 s.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

var _ vrrp.Clock = (*manualClock)(nil)

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) vrrp.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	t.setLocked(d)
	return t
}

// Advance moves the clock forward by d, firing timers in order.
func (c *manualClock) Advance(d time.Duration) {
	synctest.Wait()
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *manualTimer
		for _, t := range c.timers {
			if t.active && !t.when.After(end) && (next == nil || t.when.Before(next.when)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		if next.when.After(c.now) {
			c.now = next.when
		}
		next.active = false
		select {
		case next.ch <- c.now:
		default:
		}
		c.mu.Unlock()
		synctest.Wait()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
	synctest.Wait()
}

type manualTimer struct {
	c      *manualClock
	ch     chan time.Time
	when   time.Time
	active bool
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

// Reset and Stop have Go 1.23 semantics: no stale value is received
// afterwards.
func (t *manualTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.drain()
	t.setLocked(d)
	return was
}

// setLocked arms the timer; like a real one, a timer for now or the past
// fires at once.
func (t *manualTimer) setLocked(d time.Duration) {
	t.when = t.c.now.Add(d)
	t.active = d > 0
	if d <= 0 {
		t.ch <- t.c.now
	}
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.drain()
	t.active = false
	return was
}

func (t *manualTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}
