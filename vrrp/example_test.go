package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// A program that owns one virtual address: it runs a router, watches its
// events, and stops it cleanly. Here the network is vrrptest's in-memory
// LAN and time a manual clock, so that it runs anywhere; on Linux the
// Network is vrrp.NewSocketNetwork() and the Backend a vip backend.
func Example() {
	clock := vrrptest.NewManualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Clock: clock})
	host := lan.AddHost(vrrptest.HostConfig{Name: "db1", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	vips := &vrrptest.Backend{}

	r, err := vrrp.NewRouter(vrrp.Config{
		Name:      "VI_1",
		VRID:      51,
		Interface: "eth0",
		Priority:  150,
		VIPs:      []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}},
		Backend:   vips,
	}, vrrp.NodeConfig{Clock: clock, Network: host})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()

	// Nobody else is on the LAN: after Master_Down_Interval the router
	// takes over. (Advancing the manual clock stands for time passing.)
	for master := false; !master; {
		select {
		case ev := <-r.Events():
			if ev.Kind == vrrp.EventState {
				fmt.Println(ev.From, "->", ev.To, "("+ev.Reason.String()+")")
				master = ev.To == vrrp.Master
			}
		default:
			clock.Advance(10 * time.Millisecond)
			runtime.Gosched()
		}
	}
	fmt.Println("master:", r.Master())
	// The backend adds the addresses on the router's worker, after the
	// first adverts have gone out; a stop before then would drop them.
	for !slices.Contains(vips.Calls(), "acquire") {
		runtime.Gosched()
	}

	cancel()
	fmt.Println("Run:", <-done)
	fmt.Println("backend:", vips.Calls())
	// Output:
	// INIT -> BACKUP (startup)
	// BACKUP -> MASTER (master down)
	// master: 10.0.0.1
	// Run: <nil>
	// backend: [release acquire release]
}

// Many routers share one Node: one goroutine, one timer, one transport per
// interface and family.
func ExampleNode() {
	clock := vrrptest.NewManualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Clock: clock})
	host := lan.AddHost(vrrptest.HostConfig{Name: "lb1", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	node, err := vrrp.NewNode(vrrp.NodeConfig{Clock: clock, Network: host})
	if err != nil {
		fmt.Println(err)
		return
	}
	var routers []*vrrp.Router
	for vrid := 1; vrid <= 3; vrid++ {
		r, err := node.Add(vrrp.Config{
			Name: fmt.Sprintf("VI_%d", vrid), VRID: vrid, Interface: "eth0", Priority: 255,
			VIPs: []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(vrid), 1}), 24)}},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		routers = append(routers, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- node.Run(ctx) }()
	for _, r := range routers {
		// Priority 255 owns the addresses: master at once.
		for ev := range r.Events() {
			if ev.Kind == vrrp.EventState && ev.To == vrrp.Master {
				fmt.Println(r.Name(), ev.To, "("+ev.Reason.String()+")")
				break
			}
		}
	}
	cancel()
	<-done
	// Output:
	// VI_1 MASTER (address owner)
	// VI_2 MASTER (address owner)
	// VI_3 MASTER (address owner)
}

// The state machine on its own: inputs carry their time, outputs are
// actions for the caller.
func ExampleMachine() {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	m := vrrp.NewMachine(vrrp.MachineConfig{Version: 3, Priority: 200, Interval: time.Second})
	acts := m.SetAddr(netip.MustParseAddr("10.0.0.1"), nil)
	acts = m.Start(t0, acts[:0])
	fmt.Println(m.State(), "until", m.Deadline().Sub(t0))
	acts = m.TimerDue(m.Deadline(), acts[:0])
	for _, a := range acts {
		switch a.Kind {
		case vrrp.ActState:
			fmt.Println("state", a.From, "->", a.To)
		case vrrp.ActSend:
			fmt.Println("send advert, priority", a.Priority)
		case vrrp.ActAcquire:
			fmt.Println("acquire the VIPs")
		}
	}
	// Output:
	// BACKUP until 3.21875s
	// state BACKUP -> MASTER
	// send advert, priority 200
	// acquire the VIPs
}
