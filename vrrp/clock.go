package vrrp

import "time"

// Clock is the only way time reaches the protocol. SystemClock is the real
// one; vrrptest.ManualClock lets tests and simulations move time by hand.
// A Clock must be safe for concurrent use: a Node's loop, its backend
// workers and its link watchers all read it.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d
	// has passed, like time.NewTimer.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the protocol uses.
type Timer interface {
	C() <-chan time.Time
	// Reset changes the timer to fire after d; like time.Timer.Reset
	// (Go 1.23 semantics: no stale value is received after Reset or Stop).
	Reset(d time.Duration) bool
	Stop() bool
}

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
