package vrrp

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// On real sockets, a backup's down timer runs from the advert's arrival
// (the kernel's receive stamp), not from when its loop got to the packet:
// with the loop held busy for 300 ms after the master's last advert
// arrived, it still takes over Master_Down_Interval after that advert, as
// seen on the wire.
func TestDownTimerRunsFromKernelArrivalStamp(t *testing.T) {
	lab := netlab.New(t, 2)
	capt := lab.Capture()
	h1, h2 := lab.Host(1), lab.Host(2)

	var master *advert.Conn
	if err := h1.Do(func() (err error) {
		master, err = advert.Listen(context.Background(), advert.Config{Interface: "eth0"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	var network *SocketNetwork
	if err := h2.Do(func() (err error) {
		network, err = NewSocketNetwork()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.Close() })

	const interval = 100 * time.Millisecond
	vip := netip.MustParseAddr("10.0.1.1")
	n, err := NewNode(NodeConfig{Network: network, PreciseWakeups: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.Add(Config{Name: "VI_1", VRID: 1, Interface: "eth0", Priority: 100, Interval: interval,
		VIPs: []VIP{{Prefix: netip.PrefixFrom(vip, 32)}}})
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
	deadline := time.After(5 * time.Second)
	for r.State() != Backup {
		select {
		case <-r.Events():
		case <-deadline:
			t.Fatalf("router %v, not Backup", r.State())
		}
	}

	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: 1, Priority: 200, Interval: interval,
		Addrs: []netip.Addr{vip}}
	msg, err := a.Append(nil, h1.IPv4, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	release := busy(n)
	if err := master.Send(&advert.Packet{Msg: msg}); err != nil {
		t.Fatal(err)
	}
	// The stimulus: the loop stays busy while the advert waits.
	<-time.After(300 * time.Millisecond)
	release()

	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	isVRRP := func(src netip.Addr, prio uint8) func(netlab.Frame) bool {
		return func(f netlab.Frame) bool {
			ip, err := pcapfile.Frame{Data: f.Data}.IP()
			return err == nil && ip.Protocol == advert.ProtocolNumber && ip.Src == src &&
				len(ip.Payload) > 2 && ip.Payload[1] == 1 && (prio == 0 || ip.Payload[2] == prio) &&
				(src != h1.IPv4 || bytes.Equal(ip.Payload, msg))
		}
	}
	last, err := capt.WaitFor(wctx, isVRRP(h1.IPv4, 0))
	if err != nil {
		t.Fatal(err)
	}
	first, err := capt.WaitFor(wctx, isVRRP(h2.IPv4, 100))
	if err != nil {
		t.Fatalf("no takeover advert: %v", err)
	}
	mdi := MasterDownInterval(3, 100, interval)
	// Timed from the loop's turn it would be 300 ms later; the margin
	// covers a loaded machine.
	if got := first.Time.Sub(last.Time); got < mdi || got > mdi+150*time.Millisecond {
		t.Errorf("took over %v after the master's advert, want Master_Down_Interval %v (+ little)", got, mdi)
	}
}
