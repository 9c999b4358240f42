package vrrp

import (
	"testing"
	"time"
)

var p0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// Held work waits while a router's timer is due within the window, for
// the policy's max at most, counted from the oldest work held.
func TestHoldPolicy(t *testing.T) {
	for _, c := range []struct {
		name   string
		queued time.Duration // when the oldest work was queued, from p0
		now    time.Duration
		next   time.Duration // next router timer, from p0; -1: none
		hold   bool
	}{
		{"no timer", 0, 0, -1, false},
		{"timer far off", 0, 0, ms(50), false},
		{"timer just beyond the window", 0, 0, ms(2.001), false},
		{"timer at the window's edge", 0, 0, ms(2), true},
		{"timer due now", 0, ms(1), ms(1), true},
		{"timer overdue", 0, ms(3), ms(1), true},
		{"held for less than max", 0, ms(19.9), ms(20), true},
		{"held for max", 0, ms(20), ms(21), false},
		{"held for longer", ms(5), ms(30), ms(30.5), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newHoldPolicy()
			p.queued(p0.Add(c.queued))
			p.queued(p0.Add(c.queued + ms(1))) // later work does not restart the wait
			var next time.Time
			if c.next >= 0 {
				next = p0.Add(c.next)
			}
			if got := p.hold(p0.Add(c.now), next); got != c.hold {
				t.Errorf("hold = %v, want %v", got, c.hold)
			}
			if d := p.deadline(); !d.Equal(p0.Add(c.queued + p.max)) {
				t.Errorf("deadline %v after p0, want %v", d.Sub(p0), c.queued+p.max)
			}
		})
	}
	p := newHoldPolicy()
	if p.hold(p0, p0) || !p.deadline().IsZero() {
		t.Error("nothing held, yet it holds or has a deadline")
	}
	p.queued(p0)
	p.released()
	if !p.deadline().IsZero() {
		t.Error("released, yet a deadline")
	}
}

// A transport that woke is read after the coalescing wait, again after
// each wait while reads bring a burst, and handed back to its waiter when
// a read brings less; reads before a timer keep its appointment; a read
// that used up the budget is continued at once.
func TestReadPolicy(t *testing.T) {
	p := newReadPolicy()
	var s pollState
	if p.due(&s, p0) {
		t.Fatal("due before its waiter woke")
	}
	p.woke(&s, p0)
	p.woke(&s, p0.Add(ms(0.5))) // a second wake-up does not move the read
	if p.due(&s, p0.Add(ms(0.9))) || !p.due(&s, p0.Add(ms(1))) {
		t.Fatalf("due at %v after waking, want %v", s.pollAt.Sub(p0), p.coalesce)
	}
	// A read before a timer, ahead of the appointment, keeps it.
	if p.read(&s, p0.Add(ms(0.5)), 5, false) || !s.pollAt.Equal(p0.Add(ms(1))) {
		t.Fatal("an early read moved the appointment or handed back")
	}
	// A burst: read again after the wait.
	if p.read(&s, p0.Add(ms(1)), p.burst, false) || !s.pollAt.Equal(p0.Add(ms(2))) {
		t.Fatalf("after a burst: pollAt %v, want 2ms", s.pollAt.Sub(p0))
	}
	// The budget ran out: read on at once.
	if p.read(&s, p0.Add(ms(2)), p.budget, true) || !s.pollAt.Equal(p0.Add(ms(2))) {
		t.Fatal("a full read did not ask to read on at once")
	}
	// Quiet again: back to the waiter.
	if !p.read(&s, p0.Add(ms(2)), p.burst-1, false) || s.polling {
		t.Fatal("a short read did not hand the transport back")
	}
	// Not polled (its waiter has not woken): a read before a timer does
	// not hand back what the waiter still holds.
	if p.read(&s, p0.Add(ms(3)), 0, false) {
		t.Fatal("handed back a transport that was not polled")
	}
}

// With precise wake-ups, only a backup's down timer due within the spin
// window is waited for on the loop; without them, none.
func TestWakePolicy(t *testing.T) {
	precise, coarse := newWakePolicy(true), newWakePolicy(false)
	for _, c := range []struct {
		in   time.Duration
		down bool
		want bool
	}{
		{0, true, true},
		{ms(0.2), true, true},
		{ms(0.201), true, false},
		{ms(0.1), false, false}, // a master's advert timer
		{-ms(1), true, true},    // overdue
	} {
		if got := precise.waitOnLoop(p0, p0.Add(c.in), c.down); got != c.want {
			t.Errorf("precise: timer in %v (down %v): waitOnLoop %v, want %v", c.in, c.down, got, c.want)
		}
		if coarse.waitOnLoop(p0, p0.Add(c.in), c.down) {
			t.Errorf("without precise wake-ups: waits on the loop for a timer in %v", c.in)
		}
	}
	if precise.waitOnLoop(p0, time.Time{}, true) {
		t.Error("waits on the loop with no timer")
	}
}
