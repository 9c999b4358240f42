package vrrp

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
)

// floodTransport always has packets waiting, as a socket whose queue a
// master's bursts keep full; it counts what was read from it.
type floodTransport struct {
	*benchTransport
	read int
}

func (t *floodTransport) ReceiveBatch(ps []advert.Packet, bufs [][]byte) (int, error) {
	for i := range ps {
		ps[i] = advert.Packet{Src: netip.MustParseAddr("10.0.0.2"), Dst: advert.GroupIPv4, HopLimit: 255, Msg: bufs[i][:0]}
	}
	t.read += len(ps)
	return len(ps), nil
}

// floodNetwork gives each interface its own floodTransport.
type floodNetwork struct {
	mu  sync.Mutex
	trs map[string]*floodTransport
}

func (n *floodNetwork) Open(_ context.Context, ep Endpoint) (Transport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &floodTransport{benchTransport: newBenchTransport()}
	n.trs[ep.Interface] = t
	return t, nil
}

// floodNode is a Node of one backup on each of ifaces, every transport
// flooded; the counts of what was read start at zero.
func floodNode(t *testing.T, ifaces []string) (*Node, *benchClock, *floodNetwork) {
	t.Helper()
	clock := &benchClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	net := &floodNetwork{trs: make(map[string]*floodTransport)}
	n, err := NewNode(NodeConfig{Clock: clock, Network: net})
	if err != nil {
		t.Fatal(err)
	}
	for _, ifname := range ifaces {
		if _, err := n.Add(Config{VRID: 1, Interface: ifname, Priority: 100, Interval: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	n.step()
	t.Cleanup(func() {
		for _, tr := range net.trs {
			tr.Close()
		}
	})
	if len(n.ioList) != len(ifaces) {
		t.Fatalf("%d transports open, want %d", len(n.ioList), len(ifaces))
	}
	for _, tr := range net.trs {
		tr.read = 0
	}
	return n, clock, net
}

// With every interface's queue full, the read budget goes round them
// all: each gets an equal share over a few wake-ups, none is left unread.
func TestReadBudgetGoesRoundTheTransports(t *testing.T) {
	ifaces := []string{"eth0", "eth1", "eth2", "eth3"}
	n, clock, net := floodNode(t, ifaces)
	const wakeups = 8
	for range wakeups {
		for _, pio := range n.ioList {
			n.read.woke(&pio.poll, clock.now)
		}
		clock.now = clock.now.Add(n.read.coalesce)
		n.readDue(clock.now)
	}
	total := wakeups * n.read.budget
	for _, ifname := range ifaces {
		if got, want := net.trs[ifname].read, total/len(ifaces); got != want {
			t.Errorf("%s: %d packets read over %d wake-ups of %d, want an equal share, %d", ifname, got, wakeups, n.read.budget, want)
		}
	}
}

// Before a router's timer runs, every transport is read until it is empty
// (here: up to the drain bound, as the flood never ends), not just the
// shared budget: the adverts that would reset the timer may be queued.
func TestTimerDueDrainsEveryTransport(t *testing.T) {
	ifaces := []string{"eth0", "eth1", "eth2", "eth3"}
	n, clock, net := floodNode(t, ifaces)
	clock.now = n.core.timers.next()
	if !n.core.due(clock.now) {
		t.Fatal("no timer due at the first deadline")
	}
	n.readDue(clock.now)
	for _, ifname := range ifaces {
		if got := net.trs[ifname].read; got != n.read.drain {
			t.Errorf("%s: %d packets read before the timer, want the drain bound, %d", ifname, got, n.read.drain)
		}
	}
}
