package health_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// A Go function as a health check: while this node is not the database
// primary its router's priority drops by 50, after two failures in a row.
// A program passes router.Track as the report function; here the statuses
// are printed.
func ExampleTracker() {
	var primary atomic.Bool
	primary.Store(true)
	tr := &health.Tracker{
		Name: "is_primary",
		Check: health.Func(func(ctx context.Context) error {
			if !primary.Load() {
				return errors.New("replica")
			}
			return nil
		}),
		Interval: 10 * time.Millisecond,
		Fall:     2,
		Weight:   -50,
	}
	statuses := make(chan vrrp.TrackStatus, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tr.Run(ctx, vrrp.SystemClock{}, func(s vrrp.TrackStatus) { statuses <- s })

	show := func(s vrrp.TrackStatus) {
		fmt.Printf("%s up=%v delta=%d fault=%v (%s)\n", s.Name, s.Up, s.Delta, s.Fault, s.Reason)
	}
	show(<-statuses) // before the first run
	show(<-statuses) // the first run decides at once
	primary.Store(false)
	show(<-statuses) // two failures later
	// Output:
	// is_primary up=false delta=0 fault=false (no result yet)
	// is_primary up=true delta=0 fault=false (ok)
	// is_primary up=false delta=-50 fault=false (replica)
}

// One keepalived vrrp_script tracked by two instances with different
// weights: RunState reports the script's state once, and each instance
// applies its own Weight.
func ExampleWeight_Status() {
	down := health.State{Name: "chk_haproxy", Known: true, Reason: "exit status 1"}
	for _, w := range []health.Weight{
		{Weight: 0},                  // track_script { chk_haproxy }
		{Weight: -20},                // track_script { chk_haproxy weight -20 }
		{Weight: 20},                 // ... weight 20
		{Weight: 20, Reverse: true},  // ... weight 20 reverse
		{Weight: -20, Reverse: true}, // ... weight -20 reverse
	} {
		s := w.Status(down)
		fmt.Printf("weight %d reverse %v: delta %d fault %v\n", w.Weight, w.Reverse, s.Delta, s.Fault)
	}
	// Output:
	// weight 0 reverse false: delta 0 fault true
	// weight -20 reverse false: delta -20 fault false
	// weight 20 reverse false: delta 0 fault false
	// weight 20 reverse true: delta 0 fault false
	// weight -20 reverse true: delta 20 fault false
}

// One check shared by two routers that weigh it differently — keepalived's
// one vrrp_script tracked by two instances. A program passes each router's
// Track as its report function; here the statuses are printed.
func ExampleShared() {
	var healthy atomic.Bool
	sh := health.NewShared(&health.Tracker{
		Name: "chk_http",
		Check: health.Func(func(ctx context.Context) error {
			if !healthy.Load() {
				return errors.New("connection refused")
			}
			return nil
		}),
		Interval: 10 * time.Millisecond,
	})
	statuses := make(chan vrrp.TrackStatus, 8)
	show := func(s vrrp.TrackStatus) { statuses <- s }
	sh.Subscribe("VI_WEB/chk_http", health.Weight{Weight: -30}, show) // r1.Track in a program
	sh.Subscribe("VI_API/chk_http", health.Weight{}, show)            // r2.Track: Fault while down
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sh.Run(ctx, vrrp.SystemClock{})
	<-sh.Known()
	for range 4 { // at Subscribe, and again when Run starts
		<-statuses
	}
	for range 2 {
		s := <-statuses
		fmt.Printf("%s up=%v delta=%d fault=%v (%s)\n", s.Name, s.Up, s.Delta, s.Fault, s.Reason)
	}
	// Output:
	// VI_WEB/chk_http up=false delta=-30 fault=false (connection refused)
	// VI_API/chk_http up=false delta=0 fault=true (connection refused)
}
