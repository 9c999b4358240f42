package vip_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// A backend that moves a cloud floating IP through a Go function, next
// to one that records what happens; composed with Multi, they acquire in
// order and release in reverse.
func ExampleMulti() {
	cloud := vip.Funcs{
		Label: "cloud",
		OnAcquire: func(ctx context.Context, set vrrp.AddressSet) error {
			fmt.Println("attach", set.VIPs[0].Prefix.Addr(), "to this instance")
			return nil
		},
		OnRelease: func(ctx context.Context, set vrrp.AddressSet) error {
			fmt.Println("detach", set.VIPs[0].Prefix.Addr())
			return nil
		},
	}
	audit := vip.Funcs{
		Label: "audit",
		OnAcquire: func(ctx context.Context, set vrrp.AddressSet) error {
			fmt.Println(set.Router, "is master")
			return nil
		},
		OnRelease: func(ctx context.Context, set vrrp.AddressSet) error {
			fmt.Println(set.Router, "is no longer master")
			return nil
		},
	}
	b := vip.Multi(cloud, audit)

	set := vrrp.AddressSet{Router: "VI_1", VRID: 51, Interface: "eth0",
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("203.0.113.10/32")}}}
	ctx := context.Background()
	_ = b.Acquire(ctx, set)
	_ = b.Release(ctx, set)
	// Output:
	// attach 203.0.113.10 to this instance
	// VI_1 is master
	// VI_1 is no longer master
	// detach 203.0.113.10
}

// The Linux backend with keepalived's announcement settings of one
// vrrp_instance (garp_master_delay 10, garp_master_refresh 60), next to a
// command that tells a cloud API; it needs CAP_NET_ADMIN and CAP_NET_RAW.
func ExampleNewLinux() {
	linux, err := vip.NewLinux(vip.LinuxConfig{}) // in this thread's network namespace
	if err != nil {
		fmt.Println(strings.Contains(err.Error(), "vip: linux:"))
		return
	}
	defer linux.Close()

	s := vip.DefaultSchedule()
	s.Delay = 10 * time.Second
	s.Refresh = time.Minute
	instance, err := linux.WithSchedule(s)
	if err != nil {
		fmt.Println(err)
		return
	}
	cloud, err := vip.NewCommand(vip.CommandConfig{
		Name:    "eip",
		Acquire: []string{"/usr/local/bin/move-eip", "--to-me"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	backend := vip.Multi(instance, cloud)
	_ = backend // hand it to the vrrp.Router
}
