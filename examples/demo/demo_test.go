package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
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

// The story's milestones: election, failover to the next priority, preemption
// back, each with the VIP on exactly one host.
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
	if strings.Count(out, "VIP 10.0.0.100 is on h1, and only there") != 2 {
		t.Errorf("the VIP did not come back to h1 after the preemption:\n%s", out)
	}
}

func TestStoryInMemory(t *testing.T) {
	// synctest's fake time: the story's real-time pauses and the routers'
	// 100 ms adverts cost nothing.
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		c := newMemoryCluster()
		err := tell(t.Context(), c, &out)
		c.Close()
		if err != nil {
			t.Fatalf("story failed: %v\n%s", err, out.String())
		}
		checkStory(t, out.String())
	})
}

func TestStoryInLab(t *testing.T) {
	c, err := newLabCluster()
	if errors.Is(err, errNoPrivilege) {
		t.Skipf("lab: %v (set VRRPKIT_REQUIRE_NETNS=1 to fail instead)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = tell(t.Context(), c, &out)
	c.Close()
	if err != nil {
		t.Fatalf("story failed: %v\n%s", err, out.String())
	}
	checkStory(t, out.String())
	if !strings.Contains(out.String(), "on the wire: h2's first advert came") {
		t.Errorf("no takeover measured on the wire:\n%s", out.String())
	}
}
