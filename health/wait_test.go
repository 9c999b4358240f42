package health

import (
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// nextReport returns the next status a tracker reported on c, failing the
// test after 10 s without one.
func nextReport(t testing.TB, c <-chan vrrp.TrackStatus) vrrp.TrackStatus {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
	}
	return vrrp.TrackStatus{}
}
