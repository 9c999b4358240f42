package vrrp

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// A router whose interface is deleted and re-created (a new index), or
// renamed away and another takes the name, is back in service — out of
// Fault, on the interface now carrying the name — within one advert
// interval of the link coming up: the transport is reopened every
// interval while the interface is missing, not after a growing backoff.
func TestRouterFollowsARecreatedOrRenamedInterface(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	link := func() {
		t.Helper()
		for _, step := range []struct {
			h    *netlab.Host
			args []string
		}{
			{h2, []string{"link", "add", "vb", "type", "veth", "peer", "name", "va", "netns", h1.Namespace}},
			{h2, []string{"addr", "add", "192.168.9.2/24", "dev", "vb"}},
			{h1, []string{"link", "set", "va", "up"}},
		} {
			if _, err := step.h.Run("ip", step.args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	// up sets vb up and returns when the kernel has its carrier (a veth's
	// comes up to a second later, when the kernel's link watcher runs).
	up := func() time.Time {
		t.Helper()
		if _, err := h2.Run("ip", "link", "set", "vb", "up"); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if out, err := h2.Run("cat", "/sys/class/net/vb/carrier"); err == nil && strings.TrimSpace(string(out)) == "1" {
				return time.Now()
			}
		}
		t.Fatal("vb has no carrier 5 s after it was set up")
		return time.Time{}
	}
	link()
	up()

	var network *SocketNetwork
	if err := h2.Do(func() (err error) {
		network, err = NewSocketNetwork()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.Close() })
	const interval = 100 * time.Millisecond
	n, err := NewNode(NodeConfig{Network: network, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.Add(Config{Name: "VI_1", VRID: 1, Interface: "vb", Priority: 100, Interval: interval,
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("192.168.9.100/32")}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	await := func(what string, want ...State) time.Time {
		t.Helper()
		st, err := r.WaitState(waitCtx(t, 10*time.Second), want...)
		if err != nil {
			t.Fatalf("%s: still %v: %v", what, st, err)
		}
		return time.Now()
	}
	await("first start", Master)

	back := func(what string, linkUp time.Time) {
		t.Helper()
		inService := await(what, Backup, Master)
		// One advert interval, and what it takes to open the sockets and
		// hear of the link on a loaded machine.
		if d := inService.Sub(linkUp); d > interval+200*time.Millisecond {
			t.Errorf("%s: back in service %v after the link came up, want within one advert interval (%v)", what, d, interval)
		}
		t.Logf("figure: %s: back in service %v after the link came up", what, inService.Sub(linkUp).Round(time.Millisecond))
	}

	// Deleted, then re-created after a while.
	if _, err := h2.Run("ip", "link", "del", "vb"); err != nil {
		t.Fatal(err)
	}
	await("deleted", Fault)
	// Long enough for a doubling backoff to grow past a second.
	if st, err := r.WaitState(waitCtx(t, 3*time.Second), Backup, Master); err == nil {
		t.Fatalf("%v with the interface gone", st)
	}
	link()
	back("re-created", up())

	// Renamed away (the router's Conn is bound to it by index): Fault;
	// then another interface takes the name.
	if _, err := h2.Run("ip", "link", "set", "vb", "down"); err != nil {
		t.Fatal(err)
	}
	if _, err := h2.Run("ip", "link", "set", "vb", "name", "vbold"); err != nil {
		t.Fatal(err)
	}
	await("renamed away", Fault)
	if _, err := h2.Run("ip", "link", "set", "vbold", "name", "vb"); err != nil {
		t.Fatal(err)
	}
	back("renamed back", up())
}

func waitCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
