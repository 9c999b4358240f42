package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// A health check wired into a router: the router starts with the
// tracker's initial status (Config.Tracks), the tracker reports every
// change to Router.Track, and the router's effective priority follows.
// Here the check fails once the service stops being healthy, and the
// master's priority drops by 50 — enough for a backup at 120 to take over.
// (The network is vrrptest's in-memory LAN; on Linux it is
// vrrp.NewSocketNetwork() and the Backend vip.NewLinux.)
func Example_router() {
	var healthy atomic.Bool
	healthy.Store(true)
	tracker := &health.Tracker{
		Name: "service",
		Check: health.Func(func(ctx context.Context) error {
			if !healthy.Load() {
				return errors.New("not answering")
			}
			return nil
		}),
		Interval: 20 * time.Millisecond,
		Weight:   -50,
	}

	lan := vrrptest.NewLAN(vrrptest.LANConfig{})
	host := lan.AddHost(vrrptest.HostConfig{Name: "web1", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	r, err := vrrp.NewRouter(vrrp.Config{
		Name:      "VI_1",
		VRID:      51,
		Interface: "eth0",
		Priority:  150,
		Interval:  50 * time.Millisecond,
		VIPs:      []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}},
		Tracks:    []vrrp.TrackStatus{tracker.Initial()},
	}, vrrp.NodeConfig{Network: host})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	trackerDone := make(chan error, 1)
	go func() { trackerDone <- tracker.Run(ctx, nil, r.Track) }()
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(ctx) }()

loop:
	for e := range r.Events() {
		switch e.Kind {
		case vrrp.EventState:
			fmt.Println(e.From, "->", e.To)
			if e.To == vrrp.Master {
				healthy.Store(false) // the service fails while master
			}
		case vrrp.EventPriority:
			fmt.Printf("priority %d -> %d\n", e.OldPriority, e.Priority)
			break loop
		}
	}
	cancel()
	fmt.Println("Run:", <-runDone)
	<-trackerDone
	// Output:
	// INIT -> BACKUP
	// BACKUP -> MASTER
	// priority 150 -> 100
	// Run: <nil>
}
