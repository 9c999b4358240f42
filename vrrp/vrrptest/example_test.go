package vrrptest_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// Two hosts on an in-memory LAN with 1 ms of latency: an advert sent by
// one arrives at the other when the manual clock has moved by 1 ms.
func ExampleLAN() {
	clock := vrrptest.NewManualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Seed: 1, Clock: clock,
		Link: vrrptest.LinkConfig{Delay: 500 * time.Microsecond}})
	a := lan.AddHost(vrrptest.HostConfig{Name: "a", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	b := lan.AddHost(vrrptest.HostConfig{Name: "b", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}})
	ep := vrrp.Endpoint{Interface: "eth0"}
	ta, _ := a.Open(context.Background(), ep)
	tb, _ := b.Open(context.Background(), ep)

	adv := advert.Advert{Version: 3, VRID: 51, Priority: 100, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	msg, _ := adv.Append(nil, ta.LocalAddr(), advert.GroupIPv4, advert.ChecksumStandard)
	vrrptest.Send(ta, &advert.Packet{Dst: advert.GroupIPv4, HopLimit: 255, Msg: msg})
	clock.Advance(time.Millisecond)

	var p advert.Packet
	buf := make([]byte, 1500)
	vrrptest.Receive(tb, &p, buf)
	var got advert.Advert
	got.Decode(p.Msg, p.Src, p.Dst, advert.ChecksumStandard)
	fmt.Println(p.Src, "->", p.Dst, "hop limit", p.HopLimit, "VRID", got.VRID, "priority", got.Priority)
	// Output:
	// 10.0.0.1 -> 224.0.0.18 hop limit 255 VRID 51 priority 100
}

// Timers due at the same time fire in the order they were set.
func ExampleManualClock() {
	clock := vrrptest.NewManualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	clock.AfterFunc(2*time.Second, func() { fmt.Println("second, at", clock.Now().Format("15:04:05")) })
	clock.AfterFunc(time.Second, func() { fmt.Println("first, at", clock.Now().Format("15:04:05")) })
	clock.AfterFunc(2*time.Second, func() { fmt.Println("third, at", clock.Now().Format("15:04:05")) })
	clock.Advance(5 * time.Second)
	fmt.Println("now", clock.Now().Format("15:04:05"))
	// Output:
	// first, at 00:00:01
	// second, at 00:00:02
	// third, at 00:00:02
	// now 00:00:05
}
