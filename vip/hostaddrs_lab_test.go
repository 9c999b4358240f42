//go:build linux

package vip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// hostAddrs says "absent" only when it has applied every notification the
// kernel queued: with nobody draining its socket, an address added or
// deleted is "cannot tell" until a drain applies it.
func TestHostAddrsCannotTellWhileANotificationWaits(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	var h4 *hostAddrs
	var dump func() []rtnetlink.AddressMessage
	if err := h.Do(func() error {
		c, err := dialNotifications(unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR)
		if err != nil {
			return err
		}
		t.Cleanup(func() { c.Close() })
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		nl, err := rtnetlink.Dial(nil)
		if err != nil {
			return err
		}
		t.Cleanup(func() { nl.Close() })
		h4 = newHostAddrs(rc)
		dump = func() []rtnetlink.AddressMessage {
			msgs, err := nl.Address.List()
			if err != nil {
				t.Fatal(err)
			}
			return msgs
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ifindex := ifindexIn(t, h, "eth0")
	p := presentAddr{ifindex, netip.MustParseAddr("10.0.0.150"), 32}
	drainAll := func() {
		t.Helper()
		buf := make([]byte, hostAddrsBuffer)
		if err := h4.raw.Control(func(fd uintptr) {
			for {
				r := h4.drain(int(fd), buf)
				if r.err != nil || r.lost {
					t.Fatalf("drain: %+v", r)
				}
				if !r.read {
					return
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
	}

	if got := h4.absent([]presentAddr{p}); got[0] {
		t.Fatal("absent before any dump")
	}
	drainAll()
	h4.reset(dump())
	if got := h4.absent([]presentAddr{p}); !got[0] {
		t.Fatal("not absent after a dump without it")
	}
	if _, err := h.Run("ip", "addr", "add", "10.0.0.150/32", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if got := h4.absent([]presentAddr{p}); got[0] {
		t.Fatal("absent while its RTM_NEWADDR waits on the socket")
	}
	drainAll()
	if got := h4.absent([]presentAddr{p}); got[0] {
		t.Fatal("absent after its RTM_NEWADDR was applied")
	}
	if _, err := h.Run("ip", "addr", "del", "10.0.0.150/32", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	drainAll()
	if got := h4.absent([]presentAddr{p}); !got[0] {
		t.Fatal("not absent after its RTM_DELADDR was applied")
	}
	h4.end()
	if got := h4.absent([]presentAddr{p}); got[0] {
		t.Fatal("absent after the watch ended")
	}
}

func ifindexIn(t *testing.T, h *netlab.Host, name string) int {
	t.Helper()
	var index int
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName(name)
		if err == nil {
			index = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return index
}

// A router's Release of addresses it does not hold asks the kernel only
// for those on the host: an address someone put there a moment ago is
// removed, one that is not there costs no RTM_DELADDR.
func TestLinuxReleaseRemovesOnlyWhatIsThere(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	for _, noRestore := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoRestore=%v", noRestore), func(t *testing.T) {
			l := newLabLinux(t, h, &LinuxConfig{NoRestore: noRestore})
			ctx := context.Background()
			set := func(i int) vrrp.AddressSet {
				return vrrp.AddressSet{Router: fmt.Sprintf("VI_%d", i), VRID: 1 + i, Interface: "eth0",
					VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix(fmt.Sprintf("10.9.0.%d/32", 1+i))}}}
			}
			// Left by "an earlier run", added right before each Release.
			for i := range 10 {
				p := fmt.Sprintf("10.9.0.%d/32", 1+i)
				if _, err := h.Run("ip", "addr", "add", p, "dev", "eth0"); err != nil {
					t.Fatal(err)
				}
				if err := l.Release(ctx, set(i)); err != nil {
					t.Fatal(err)
				}
				if got := find(addrs(t, h, "eth0"), p); len(got) != 0 {
					t.Fatalf("%s still on eth0 after Release", p)
				}
			}
			if noRestore {
				before := l.removals.Load()
				if err := l.Release(ctx, set(20)); err != nil {
					t.Fatal(err)
				}
				if n := l.removals.Load() - before; n != 1 {
					t.Errorf("without the address watch: %d removals, want 1 (it cannot know)", n)
				}
				return
			}
			// Nothing there: once the watch has read what the
			// additions above queued, no Release asks the kernel.
			deadline := time.Now().Add(5 * time.Second)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			ifindex := ifindexIn(t, h, "eth0")
			for !l.addrs.absent([]presentAddr{{ifindex, netip.MustParseAddr("10.9.0.200"), 32}})[0] {
				if time.Now().After(deadline) {
					t.Fatal("the watch never caught up with the host's addresses")
				}
				<-tick.C
			}
			before := l.removals.Load()
			for i := 20; i < 120; i++ {
				if err := l.Release(ctx, set(i)); err != nil {
					t.Fatal(err)
				}
			}
			// A notification of the lab's own (an IPv6 address
			// finishing DAD) may make a few of them ask.
			if n := l.removals.Load() - before; n > 10 {
				t.Errorf("100 Releases of addresses not there made %d removals, want (almost) none", n)
			}
		})
	}
}
