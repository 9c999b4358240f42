package vrrp

import (
	"testing"
	"time"
)

// The loop's timerfd timer fires once the duration has passed, not
// before; a Reset replaces the earlier one; a stopped timer does not fire.
// (Each case has a timer of its own: a fired timer may tick twice, once
// from each source, and a second tick is a spurious wake-up the loop
// tolerates.)
func TestFDTimerFiresAfterResetNotBefore(t *testing.T) {
	newTimer := func() *fdTimer {
		t.Helper()
		tm := newLoopTimer(SystemClock{}, true)
		ft, ok := tm.(*fdTimer)
		if !ok {
			t.Fatalf("newLoopTimer(SystemClock, precise) = %T, want *fdTimer on Linux", tm)
		}
		t.Cleanup(func() { ft.Close() })
		return ft
	}
	wait := func(ft *fdTimer, what string) time.Time {
		t.Helper()
		select {
		case <-ft.C():
			return time.Now()
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: timer did not fire within 5s", what)
		}
		return time.Time{}
	}

	ft := newTimer()
	start := time.Now()
	ft.Reset(3 * time.Millisecond)
	if got := wait(ft, "Reset(3ms)").Sub(start); got < 3*time.Millisecond {
		t.Errorf("fired after %v, want at least 3ms", got)
	}

	// Re-armed for later before it fired: it fires at the later time.
	// (30 ms leave room for a loaded machine between the two calls.)
	ft = newTimer()
	start = time.Now()
	ft.Reset(30 * time.Millisecond)
	ft.Reset(60 * time.Millisecond)
	if got := wait(ft, "Reset(30ms) then Reset(60ms)").Sub(start); got < 60*time.Millisecond {
		t.Errorf("fired after %v, want at least 60ms (the first Reset was replaced)", got)
	}

	// Stopped before it expired: it does not fire.
	ft = newTimer()
	ft.Reset(30 * time.Millisecond)
	ft.Stop()
	select {
	case <-ft.C():
		t.Error("stopped timer fired")
	case <-time.After(100 * time.Millisecond):
	}
}

// The timerfd ticks on its own, without the runtime timer behind it.
func TestFDTimerTicksWithoutBackstop(t *testing.T) {
	ft, err := newFDTimer()
	if err != nil {
		t.Fatal(err)
	}
	defer ft.Close()
	start := time.Now()
	ft.set(3 * time.Millisecond) // the timerfd alone
	select {
	case <-ft.C():
		if got := time.Since(start); got < 3*time.Millisecond {
			t.Errorf("fired after %v, want at least 3ms", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timerfd did not tick within 5s")
	}
}

// Precise wake-ups need the system clock: a Node with any other is
// refused, and without them the loop uses the clock's own timer.
func TestLoopTimerOfOtherClocksIsTheirs(t *testing.T) {
	c := &benchClock{now: time.Unix(0, 0)}
	if _, err := NewNode(NodeConfig{Clock: c, Network: benchNetwork{}, PreciseWakeups: true}); err == nil {
		t.Error("NewNode with PreciseWakeups and a test clock: no error")
	}
	if tm := newLoopTimer(c, false); tm != (benchTimer{}) {
		t.Errorf("newLoopTimer(test clock) = %T, want the clock's own timer", tm)
	}
	if _, err := NewNode(NodeConfig{Clock: SystemClock{}, Network: benchNetwork{}, PreciseWakeups: true}); err != nil {
		t.Errorf("NewNode with PreciseWakeups and the system clock: %v", err)
	}
	if tm := newLoopTimer(SystemClock{}, false); tm == nil {
		t.Error("newLoopTimer(SystemClock, not precise) = nil")
	} else if _, ok := tm.(*fdTimer); ok {
		t.Error("newLoopTimer(SystemClock, not precise) is a timerfd")
	}
}
