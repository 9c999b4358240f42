package health

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// collector records what one subscriber hears.
type collector struct {
	mu  sync.Mutex
	got []vrrp.TrackStatus
}

func (c *collector) report(s vrrp.TrackStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, s)
}

func (c *collector) take() []vrrp.TrackStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.got
	c.got = nil
	return out
}

// One check runs once per interval for any number of subscribers, and each
// hears the object's state through its own weight (keepalived: one
// vrrp_script, tracked by several instances with a "weight" each).
func TestSharedRunsOneCheckForEverySubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{start: time.Now(), results: []bool{true, false, true}}
		sh := NewShared(&Tracker{Name: "chk", Check: Func(s.check), Interval: time.Second})
		var a, b collector
		sh.Subscribe("chk_a", Weight{Weight: -20}, a.report)
		unsubB := sh.Subscribe("chk_b", Weight{}, b.report)
		// Both hear the state at once: unknown.
		if diff := cmp.Diff([]vrrp.TrackStatus{{Name: "chk_a", Reason: "no result yet"}}, a.take()); diff != "" {
			t.Errorf("a at subscribe (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]vrrp.TrackStatus{{Name: "chk_b", Fault: true, Reason: "no result yet"}}, b.take()); diff != "" {
			t.Errorf("b at subscribe (-want +got):\n%s", diff)
		}
		select {
		case <-sh.Known():
			t.Fatal("known before the first result")
		default:
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- sh.Run(ctx, vrrp.SystemClock{}) }()
		<-sh.Known()
		time.Sleep(1500 * time.Millisecond) // fake time: two runs
		if diff := cmp.Diff([]vrrp.TrackStatus{
			{Name: "chk_a", Reason: "no result yet"}, // Run's initial report
			{Name: "chk_a", Up: true, Reason: "ok"},
			{Name: "chk_a", Delta: -20, Reason: "exit status 1"},
		}, a.take()); diff != "" {
			t.Errorf("a (-want +got):\n%s", diff)
		}
		if got := b.take(); len(got) != 3 || !got[2].Fault {
			t.Errorf("b heard %+v, want 3 reports ending in Fault", got)
		}
		if st := sh.Status("chk_c", Weight{Weight: -5}); st != (vrrp.TrackStatus{Name: "chk_c", Delta: -5, Reason: "exit status 1"}) {
			t.Errorf("Status for a new weight: %+v", st)
		}
		unsubB()
		time.Sleep(time.Second) // the third run: up again
		if got := b.take(); len(got) != 0 {
			t.Errorf("b heard %+v after unsubscribing", got)
		}
		if got := a.take(); len(got) != 1 || !got[0].Up {
			t.Errorf("a heard %+v, want up", got)
		}
		if n := len(s.times()); n != 3 {
			t.Errorf("the check ran %d times in 2.5 s for two subscribers, want 3", n)
		}
		cancel()
		<-done
	})
}

// A seeded state stands until the tracker knows the object: a restarted
// tracker's first "no result yet" does not undo what the old one knew.
func TestSharedSeedStandsUntilKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		sh := NewShared(&Tracker{Name: "chk", Check: Func(func(context.Context) error {
			<-block
			return nil
		}), Interval: time.Second, Timeout: time.Hour})
		sh.Seed(State{Known: true, Up: false, Reason: "was down"})
		<-sh.Known()
		var a collector
		sh.Subscribe("chk", Weight{}, a.report)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- sh.Run(ctx, vrrp.SystemClock{}) }()
		synctest.Wait()
		want := vrrp.TrackStatus{Name: "chk", Fault: true, Reason: "was down"}
		if got := a.take(); len(got) != 1 || got[0] != want {
			t.Errorf("heard %+v, want only the seeded state %+v", got, want)
		}
		close(block)
		synctest.Wait()
		if got := a.take(); len(got) != 1 || !got[0].Up {
			t.Errorf("after the first result: %+v, want up", got)
		}
		cancel()
		<-done
	})
}
