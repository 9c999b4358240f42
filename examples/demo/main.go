// Command demo shows VRRP failover live: three routers share a virtual IP,
// the master is killed, the VIP moves, the old master comes back and takes it
// over again.
//
//	go run ./examples/demo [-interval 100ms] [-memory]
//
// As root on Linux it builds a real lab — network namespaces joined by a
// bridge, one process per router on raw sockets, the VIP on a real interface
// — and cleans it all up afterwards. Without root, or on another system, it
// says so and tells the same story on vrrptest's in-memory network.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// The group every mode runs: VRRPv3, one VIP, 100 ms adverts unless
// -interval says otherwise (the lab test runs slower adverts, so that a
// router process stalled on a loaded machine does not lose mastership).
const (
	vrid            = 51
	vipAddr         = "10.0.0.100"
	defaultInterval = 100 * time.Millisecond
	// pause lets the reader catch up between the story's acts.
	pause = 1500 * time.Millisecond
)

var priorities = []int{200, 150, 100} // h1, h2, h3

// errNoLab: the lab cannot be built here (no privilege for network
// namespaces, or not Linux); the in-memory network stands in.
var errNoLab = errors.New("no lab of network namespaces here")

func main() {
	memory := flag.Bool("memory", false, "use the in-memory network even when running as root")
	interval := flag.Duration("interval", defaultInterval, "advertisement interval: a multiple of 10ms, 10ms..40.95s (VRRPv3)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if nodeMode() {
		runNodeFromEnv(ctx)
		return
	}

	// Refuse a bad interval here rather than in each router process.
	probe := vrrp.Config{Name: "demo", VRID: vrid, Interface: "eth0", Interval: *interval,
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix(vipAddr + "/24")}}}
	if err := probe.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: -interval: %v\n", err)
		os.Exit(2)
	}

	var c cluster
	if !*memory {
		lc, err := newLabCluster(*interval)
		switch {
		case errors.Is(err, errNoLab):
			fmt.Printf("%v,\nso the same story runs on vrrptest's in-memory network instead.\n", err)
			fmt.Println("Run it as root on Linux to see it on real network namespaces and raw sockets.")
			fmt.Println()
		case err != nil:
			fmt.Fprintf(os.Stderr, "demo: building the lab: %v\n", err)
			os.Exit(1)
		default:
			c = lc
		}
	}
	if c == nil {
		c = newMemoryCluster(*interval)
	}
	err := tell(ctx, c, os.Stdout, pause)
	c.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}
