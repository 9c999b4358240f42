package vrrp

import (
	"testing"
	"time"
)

func TestReuseLetsOutgrownStorageGo(t *testing.T) {
	var r retainer
	t0 := time.Unix(1000, 0)
	s := make([]int, 1000) // a burst's use
	s = reuse(&r, s, len(s), t0)
	if cap(s) != 1000 {
		t.Fatalf("cap after a full use = %d, want 1000 kept", cap(s))
	}
	// Small uses, however many, keep it until retainIdle has passed since
	// the first of them.
	for i := range 1000 {
		s = append(s, 1, 2, 3)
		now := t0.Add(time.Millisecond + time.Duration(i)*(retainIdle-time.Millisecond)/1000)
		if s = reuse(&r, s, len(s), now); cap(s) != 1000 {
			t.Fatalf("let go after %v idle, want %v", now.Sub(t0), retainIdle)
		}
	}
	if s = reuse(&r, s, 0, t0.Add(retainIdle+time.Millisecond)); s != nil {
		t.Fatalf("kept cap %d after %v idle", cap(s), retainIdle)
	}
	// Steady use of more than a quarter keeps the storage however long.
	s = make([]int, 0, 1000)
	for i := range 100 {
		s = append(s, make([]int, 300)...)
		if s = reuse(&r, s, len(s), t0.Add(time.Duration(i)*retainIdle)); cap(s) != 1000 {
			t.Fatal("let go storage that steady use fills over a quarter")
		}
	}
	// A use over a quarter starts the idle time again.
	s = reuse(&r, s, 0, t0.Add(200*retainIdle))
	s = append(s, make([]int, 300)...)
	s = reuse(&r, s, len(s), t0.Add(200*retainIdle+retainIdle/2))
	if s = reuse(&r, s, 0, t0.Add(201*retainIdle)); cap(s) != 1000 {
		t.Fatal("a use over a quarter did not restart the idle time")
	}
	// Small storage is always kept.
	s = make([]int, 0, retainMin)
	for i := range 100 {
		if s = reuse(&r, s, 0, t0.Add(time.Duration(i)*retainIdle)); cap(s) != retainMin {
			t.Fatal("let go storage of retainMin")
		}
	}
}

func TestReuseClearsWhatWasUsed(t *testing.T) {
	var r retainer
	p := new(int)
	s := []*int{p, p}
	s = reuse(&r, s, len(s), time.Unix(1000, 0))
	if s[:2][0] != nil || s[:2][1] != nil {
		t.Error("reuse kept pointers alive")
	}
}

// After 250 routers start together, the room their burst of later work
// took is let go within retainIdle and a step, though every step since
// has had work (the masters' adverts) and the held work none.
func TestNodeLetsABurstsStorageGo(t *testing.T) {
	n, clock, tr := newBenchNode(t, NodeConfig{})
	for vrid := 1; vrid <= 250; vrid++ {
		if _, err := n.Add(Config{VRID: vrid, Interface: "eth0", Priority: 255, Interval: 100 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	n.step()
	if burst := max(cap(n.held), cap(n.core.out.later)); burst < 250 {
		t.Fatalf("the start held room for %d pieces of work, want a burst of 250 or more", burst)
	}
	start := clock.now
	for clock.now.Sub(start) <= retainIdle+200*time.Millisecond {
		clock.now = clock.now.Add(50 * time.Millisecond)
		n.step()
	}
	if tr.sent < 250*int(retainIdle/(100*time.Millisecond)) {
		t.Fatalf("%d adverts sent: the masters did not keep sending", tr.sent)
	}
	if cap(n.held) > retainMin || cap(n.core.out.later) > retainMin {
		t.Errorf("after %v: room for %d held and %d later pieces of work kept, want at most %d",
			clock.now.Sub(start), cap(n.held), cap(n.core.out.later), retainMin)
	}
}
