package advert

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
	"golang.org/x/sys/unix"
)

// listenIn opens a Conn in h's namespace through Config.Netns, from the
// calling goroutine, which is not in it: how a Node replaces a failed one.
func listenIn(t *testing.T, h *netlab.Host, cfg Config) *Conn {
	t.Helper()
	ns, err := os.Open("/run/netns/" + h.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if cfg.Interface == "" {
		cfg.Interface = h.Ifname
	}
	cfg.Netns = ns
	c, err := Listen(context.Background(), cfg)
	if err != nil {
		return nil
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestConnReopenAfterSocketFailure: a socket error makes Receive return it
// (it does not hang or spin), and a new Conn listening in the same
// namespace (Config.Netns) from a goroutine that is not in it has working
// sockets. The error is provoked the way a real one can arise: with
// IP(V6)_RECVERR switched on under the Conn, an ICMP "protocol
// unreachable" from a host that runs no VRRP becomes a socket error. (The
// Conn itself leaves RECVERR off, so that such ICMP errors, common with
// unicast peers whose daemon is stopped, never disturb it.)
func TestConnReopenAfterSocketFailure(t *testing.T) {
	for _, cfg := range []Config{{}, {AH: true}, {IPv6: true}} {
		t.Run(familyName(cfg.IPv6)+map[bool]string{true: "+AH"}[cfg.AH], func(t *testing.T) {
			lab := netlab.New(t, 2)
			h1, h2 := lab.Host(1), lab.Host(2)
			c2 := listenOn(t, h2, cfg)
			in := receiveAll(c2)

			s, _ := c2.current()
			level, opt, peer := unix.IPPROTO_IP, unix.IP_RECVERR, h1.IPv4
			if cfg.IPv6 {
				level, opt, peer = unix.IPPROTO_IPV6, unix.IPV6_RECVERR, h1.IPv6
			}
			if err := unix.SetsockoptInt(s.vrrpFD, level, opt, 1); err != nil {
				t.Fatal(err)
			}
			src := c2.LocalAddr()
			if cfg.IPv6 {
				src = h2.IPv6
			}
			// h1 has no VRRP socket yet: its kernel answers with ICMP.
			if err := c2.Send(&Packet{Src: src, Dst: peer, Msg: encode(t, testAdvert(3, 7, 100), src, peer)}); err != nil {
				t.Fatal(err)
			}
			select {
			case g := <-in:
				if g.err == nil || errors.Is(g.err, net.ErrClosed) {
					t.Fatalf("Receive after the socket failed: %v, %+v", g.err, g.p)
				}
				t.Logf("Receive: %v", g.err)
			case <-time.After(waitTimeout):
				t.Fatal("Receive did not report the failed socket")
			}
			c1 := listenOn(t, h1, Config{IPv6: cfg.IPv6})
			c2.Close()
			if c2 = listenIn(t, h2, cfg); c2 == nil {
				t.Fatal("Listen again failed")
			}
			in = receiveAll(c2)
			msg := encode(t, testAdvert(3, 7, 100), c1.LocalAddr(), c1.group)
			if err := c1.Send(&Packet{Msg: msg}); err != nil {
				t.Fatal(err)
			}
			if p := next(t, in, "after listening again"); !bytes.Equal(p.Msg, msg) {
				t.Errorf("received %x, want %x", p.Msg, msg)
			}
			// And it still sends.
			if err := c2.Send(&Packet{Msg: encode(t, testAdvert(3, 8, 100), c2.LocalAddr(), c2.group)}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestConnInterfaceDeletedAndRecreated: deleting the interface takes the
// link down and ends a blocked Receive with ErrInterfaceGone; once an
// interface of the same name is back, a new Conn binds to it.
func TestConnInterfaceDeletedAndRecreated(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	secondLink(t, h1, h2)
	c := listenOn(t, h2, Config{Interface: "vb"})
	oldIndex := c.Ifindex()
	waitFor(t, "vb up", func() bool { up, _ := c.Link(); return up })
	_, changed := c.Link()
	in := receiveAll(c)

	if _, err := h2.Run("ip", "link", "del", "vb"); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-in:
		if !errors.Is(g.err, ErrInterfaceGone) {
			t.Fatalf("Receive after the interface was deleted: %v", g.err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Receive still blocked after the interface was deleted")
	}
	waitChange(t, changed)
	if up, _ := c.Link(); up {
		t.Error("link up after the interface was deleted")
	}
	c.Close()
	if listenIn(t, h2, Config{Interface: "vb"}) != nil {
		t.Error("Listen succeeded without the interface")
	}

	secondLink(t, h1, h2)
	if c = listenIn(t, h2, Config{Interface: "vb"}); c == nil {
		t.Fatal("Listen on the new interface failed")
	}
	if c.Ifindex() == oldIndex {
		t.Errorf("still bound to index %d", oldIndex)
	}
	waitFor(t, "vb up again", func() bool { up, _ := c.Link(); return up })
	sender := listenOn(t, h1, Config{Interface: "va"})
	in = receiveAll(c)
	msg := encode(t, testAdvert(3, 9, 100), waitLocalAddr(t, sender), GroupIPv4)
	if err := sender.Send(&Packet{Msg: msg}); err != nil {
		t.Fatal(err)
	}
	if p := next(t, in, "after listening again"); !bytes.Equal(p.Msg, msg) || p.Ifindex != c.Ifindex() {
		t.Errorf("received %+v", p)
	}
}

// TestConnIgnoresICMPErrors: a unicast advert to a host that runs no VRRP
// draws an ICMP error; the Conn does not turn it into a Receive error.
func TestConnIgnoresICMPErrors(t *testing.T) {
	for _, ipv6 := range []bool{false, true} {
		t.Run(familyName(ipv6), func(t *testing.T) {
			lab := netlab.New(t, 2)
			h1, h2 := lab.Host(1), lab.Host(2)
			c2 := listenOn(t, h2, Config{IPv6: ipv6})
			in := receiveAll(c2)
			src, peer := h2.IPv4, h1.IPv4
			if ipv6 {
				src, peer = h2.IPv6, h1.IPv6
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			capt := lab.Capture()
			if err := c2.Send(&Packet{Src: src, Dst: peer, Msg: encode(t, testAdvert(3, 7, 100), src, peer)}); err != nil {
				t.Fatal(err)
			}
			// Wait until the ICMP error has come back to h2.
			if _, err := capt.WaitFor(ctx, func(f netlab.Frame) bool {
				ip, err := pcapfile.Frame{Data: f.Data}.IP()
				return err == nil && ip.Src == peer && (ip.Protocol == 1 || ip.Protocol == 58)
			}); err != nil {
				t.Fatal(err)
			}
			c1 := listenOn(t, h1, Config{IPv6: ipv6})
			msg := encode(t, testAdvert(3, 8, 100), c1.LocalAddr(), c1.group)
			if err := c1.Send(&Packet{Msg: msg}); err != nil {
				t.Fatal(err)
			}
			if p := next(t, in, "h2"); !bytes.Equal(p.Msg, msg) {
				t.Errorf("received %x, want %x", p.Msg, msg)
			}
		})
	}
}
