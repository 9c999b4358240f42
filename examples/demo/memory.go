package main

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// memoryCluster runs the routers in this process on vrrptest's in-memory
// LAN, in real time, with in-memory address backends.
type memoryCluster struct {
	lan      *vrrptest.LAN
	interval time.Duration
	events   chan stateChange

	mu     sync.Mutex
	nodes  [3]*memoryNode
	wg     sync.WaitGroup
	closed sync.Once
}

type memoryNode struct {
	host    *vrrptest.Host
	backend *vrrptest.Backend
	cancel  context.CancelFunc
	dead    bool
}

func newMemoryCluster(interval time.Duration) *memoryCluster {
	c := &memoryCluster{
		lan:      vrrptest.NewLAN(vrrptest.LANConfig{Seed: 1}),
		interval: interval,
		events:   make(chan stateChange, 64),
	}
	for i := range c.nodes {
		h := c.lan.AddHost(vrrptest.HostConfig{
			Name:  hostName(i),
			Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})},
		})
		c.nodes[i] = &memoryNode{host: h}
	}
	return c
}

func (c *memoryCluster) Describe() string { return "in-memory LAN (vrrptest), one process" }
func (c *memoryCluster) VIP() string      { return vipAddr }

func (c *memoryCluster) Interval() time.Duration { return c.interval }

func (c *memoryCluster) Start(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	n.backend = &vrrptest.Backend{}
	r, err := vrrp.NewRouter(vrrp.Config{
		Name:      hostName(i),
		VRID:      vrid,
		Interface: n.host.Interface(),
		Priority:  priorities[i],
		Interval:  c.interval,
		VIPs:      []vrrp.VIP{{Prefix: netip.MustParsePrefix(vipAddr + "/24")}},
		Backend:   n.backend,
	}, vrrp.NodeConfig{Network: n.host})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.dead = cancel, false
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		_ = r.Run(ctx)
	}()
	go func() {
		defer c.wg.Done()
		c.forward(i, n, r.Events(), ctx)
	}()
	return nil
}

// forward passes on the router's state changes until its node is killed:
// a dead process says nothing.
func (c *memoryCluster) forward(i int, n *memoryNode, events <-chan vrrp.Event, ctx context.Context) {
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			if e.Kind != vrrp.EventState {
				continue
			}
			c.mu.Lock()
			dead := n.dead
			c.mu.Unlock()
			if dead {
				return
			}
			c.events <- stateChange{Host: hostName(i), Time: e.Time, State: e.To.String(), Reason: e.Reason.String()}
		case <-ctx.Done():
			return
		}
	}
}

func (c *memoryCluster) Kill(i int) error {
	c.mu.Lock()
	n := c.nodes[i]
	n.dead = true
	c.mu.Unlock()
	// Crash first: whatever the router does on its way out (a priority-0
	// advert) never reaches the LAN, as with a process that is killed.
	n.host.Crash()
	n.host.SetLinkUp(false)
	n.cancel()
	return nil
}

func (c *memoryCluster) Revive(i int) error {
	n := c.nodes[i]
	n.host.Restart()
	n.host.SetLinkUp(true)
	return c.Start(i)
}

func (c *memoryCluster) Holders() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var h []string
	for i, n := range c.nodes {
		if !n.dead && n.backend != nil && n.backend.Held() {
			h = append(h, hostName(i))
		}
	}
	return sortedHolders(h), nil
}

func (c *memoryCluster) Events() <-chan stateChange { return c.events }

func (c *memoryCluster) WireTakeover(old, new int) (time.Duration, bool) { return 0, false }

func (c *memoryCluster) Close() {
	c.mu.Lock()
	for _, n := range c.nodes {
		if n.cancel != nil {
			n.cancel()
		}
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.closed.Do(func() { close(c.events) })
}

var _ cluster = (*memoryCluster)(nil)
