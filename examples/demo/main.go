// Command demo shows VRRP failover live: three routers share a virtual IP,
// the master is killed, the VIP moves, the old master comes back and takes it
// over again.
//
//	go run ./examples/demo
//
// As root it builds a real lab — network namespaces joined by a bridge, one
// process per router on raw sockets, the VIP on a real interface — and cleans
// it all up afterwards. Without root it says so and tells the same story on
// vrrptest's in-memory network.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The group every mode runs: VRRPv3, 100 ms adverts, one VIP.
const (
	vrid     = 51
	interval = 100 * time.Millisecond
)

var priorities = []uint8{200, 150, 100} // h1, h2, h3

func main() {
	memory := flag.Bool("memory", false, "use the in-memory network even when running as root")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if nodeMode() {
		runNodeFromEnv(ctx)
		return
	}

	var c cluster
	if !*memory {
		lc, err := newLabCluster()
		switch {
		case errors.Is(err, errNoPrivilege):
			fmt.Printf("Not running as root (%v),\nso the same story runs on vrrptest's in-memory network instead.\n", err)
			fmt.Println("Run it as root to see it on real network namespaces and raw sockets.")
			fmt.Println()
		case err != nil:
			fmt.Fprintf(os.Stderr, "demo: building the lab: %v\n", err)
			os.Exit(1)
		default:
			c = lc
		}
	}
	if c == nil {
		c = newMemoryCluster()
	}
	err := tell(ctx, c, os.Stdout)
	c.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}
