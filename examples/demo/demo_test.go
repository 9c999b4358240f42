package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

func TestMain(m *testing.M) {
	// In the lab, the demo re-executes itself (here: the test binary) as
	// each host's router.
	if nodeMode() {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		runNodeFromEnv(ctx)
		return
	}
	os.Exit(m.Run())
}

// The story's milestones, as a newcomer reads them on an undisturbed run:
// election, failover to the next priority, preemption back, each with the
// VIP on exactly one host, and each state change for the reason the RFC
// gives.
var milestones = []string{
	"h1: Entering MASTER STATE (master down)",
	"VIP 10.0.0.100 is on h1, and only there",
	"h2: Entering MASTER STATE (master down)",
	"VIP 10.0.0.100 is on h2, and only there",
	"h1: Entering MASTER STATE (preempted lower priority master)",
	"h2: Entering BACKUP STATE (higher priority master)",
}

func checkStory(t *testing.T, out string) {
	t.Helper()
	for _, m := range milestones {
		if !strings.Contains(out, m) {
			t.Errorf("the story never said %q; it said:\n%s", m, out)
		}
	}
	checkActs(t, out, defaultInterval)
}

// checkActs checks the milestones every run must reach, in order, even
// where a stalled router let another take over for a moment (the lab on a
// loaded machine): h1 elected and alone with the VIP; after the kill h2,
// the next priority, master and alone with it, no sooner than the RFC
// allows; h1 back, master again and alone with it.
func checkActs(t *testing.T, out string, interval time.Duration) {
	t.Helper()
	acts := []string{
		"VIP 10.0.0.100 is on h1, and only there",
		"killing h1",
		"h2 took over ",
		"VIP 10.0.0.100 is on h2, and only there",
		"h1 comes back",
		"h1: Entering MASTER STATE",
		"VIP 10.0.0.100 is on h1, and only there",
		"done: everything the demo started is stopped",
	}
	rest := out
	for _, a := range acts {
		i := strings.Index(rest, a)
		if i < 0 {
			t.Errorf("the story did not say %q (after the milestones before it); it said:\n%s", a, out)
			return
		}
		rest = rest[i+len(a):]
	}
	// RFC 5798 §6.4.2: a backup takes over when it has heard nothing for
	// Master_Down_Interval, and h1's last advert went out at most one
	// Advertisement_Interval before the kill.
	m := regexp.MustCompile(`h2 took over (\S+) after the kill`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no takeover time in:\n%s", out)
	}
	took, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("takeover time %q: %v", m[1], err)
	}
	if low := vrrp.MasterDownInterval(3, priorities[1], interval) - interval; took < low.Round(time.Millisecond) {
		t.Errorf("h2 took over %v after the kill, sooner than Master_Down_Interval - Advertisement_Interval = %v:\n%s", took, low, out)
	}
}

func TestStoryInMemory(t *testing.T) {
	// synctest's fake time: the story's real-time pauses and the routers'
	// 100 ms adverts cost nothing.
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		c := newMemoryCluster(defaultInterval)
		err := tell(t.Context(), c, &out, pause)
		c.Close()
		if err != nil {
			t.Fatalf("story failed: %v\n%s", err, out.String())
		}
		checkStory(t, out.String())
	})
}

// stallingCluster cuts each new lone holder of the VIP off the LAN for a
// few adverts as soon as the story has seen it: what a router process
// stalled on a loaded machine looks like to the others. The next priority
// takes over for a moment, and backs off when the stalled master is heard
// again.
type stallingCluster struct {
	*memoryCluster
	last string
}

func (c *stallingCluster) Holders() ([]string, error) {
	h, err := c.memoryCluster.Holders()
	if len(h) == 1 && h[0] != c.last {
		c.last = h[0]
		c.lan.Partition([]string{h[0]})
		time.AfterFunc(5*c.interval, c.lan.Heal)
	}
	return h, err
}

func TestStoryToleratesTransientMasters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		c := &stallingCluster{memoryCluster: newMemoryCluster(defaultInterval)}
		err := tell(t.Context(), c, &out, pause)
		c.Close()
		if err != nil {
			t.Fatalf("story failed: %v\n%s", err, out.String())
		}
		s := out.String()
		// The stalls did happen: h2 stood in for h1 before the kill,
		// and h3 for h2 after it.
		for _, m := range []string{"h2: Entering MASTER STATE", "h3: Entering MASTER STATE"} {
			if !strings.Contains(s[:strings.Index(s, "h1 comes back")], m) {
				t.Fatalf("no transient master %q before h1 came back; the test stalls nothing:\n%s", m, s)
			}
		}
		checkActs(t, s, defaultInterval)
	})
}

// labInterval is the lab test's Advertisement_Interval: slow enough that
// three race-instrumented router processes on a loaded 2-core machine do
// not stall for a Master_Down_Interval (1.7 s for h2), fast enough to keep
// the test short.
const labInterval = 500 * time.Millisecond

func TestStoryInLab(t *testing.T) {
	c, err := newLabCluster(labInterval)
	if errors.Is(err, errNoLab) {
		t.Skipf("lab: %v (set VRRPKIT_REQUIRE_NETNS=1 to fail instead)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// No pauses: nobody reads along.
	err = tell(t.Context(), c, &out, 0)
	c.Close()
	if err != nil {
		t.Fatalf("story failed: %v\n%s", err, out.String())
	}
	checkActs(t, out.String(), labInterval)
	if !strings.Contains(out.String(), "on the wire: h2's first advert came") {
		t.Errorf("no takeover measured on the wire:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "adverts every 500ms") {
		t.Errorf("the story does not run at the lab's interval:\n%s", out.String())
	}
	t.Logf("story:\n%s", out.String())
}
