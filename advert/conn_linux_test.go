package advert

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// The socket tests run in a netlab lab: real raw sockets, real netlink,
// the packets checked on the wire as captured on the bridge.

const waitTimeout = 5 * time.Second

// listenOn opens a Conn inside the host's namespace, closed at cleanup.
func listenOn(t testing.TB, h *netlab.Host, cfg Config) *Conn {
	t.Helper()
	if cfg.Interface == "" {
		cfg.Interface = h.Ifname
	}
	var c *Conn
	if err := h.Do(func() (err error) {
		c, err = Listen(context.Background(), cfg)
		return err
	}); err != nil {
		t.Fatalf("%s: Listen: %v", h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ifindexOf(t testing.TB, h *netlab.Host, name string) int {
	t.Helper()
	var idx int
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		idx = ifi.Index
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

// got is one Receive result, with the packet's slices copied.
type got struct {
	p   Packet
	err error
}

// receiveAll runs Receive in a loop until it fails and delivers copies of
// what it returns. The loop ends when the Conn is closed (at cleanup).
func receiveAll(c *Conn) <-chan got {
	ch := make(chan got, 64)
	go func() {
		buf := make([]byte, 2048)
		for {
			var p Packet
			err := c.Receive(&p, buf)
			if err == nil {
				p.Msg = bytes.Clone(p.Msg)
				p.AH = bytes.Clone(p.AH)
				p.IPHeader = bytes.Clone(p.IPHeader)
			}
			ch <- got{p, err}
			if err != nil {
				close(ch)
				return
			}
		}
	}()
	return ch
}

func next(t testing.TB, ch <-chan got, what string) Packet {
	t.Helper()
	select {
	case g, ok := <-ch:
		if !ok {
			t.Fatalf("%s: receiver stopped", what)
		}
		if g.err != nil {
			t.Fatalf("%s: Receive: %v", what, g.err)
		}
		return g.p
	case <-time.After(waitTimeout):
		t.Fatalf("%s: nothing received within %v", what, waitTimeout)
	}
	return Packet{}
}

func testAdvert(version uint8, vrid, prio uint8, addrs ...netip.Addr) *Advert {
	a := &Advert{Version: version, Type: TypeAdvertisement, VRID: vrid, Priority: prio, Interval: time.Second, Addrs: addrs}
	return a
}

func encode(t testing.TB, a *Advert, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Append(nil, src, dst, ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wireMatch finds the captured frame carrying msg as its VRRP message.
func wireMatch(proto uint8, src netip.Addr, msgTail []byte) func(netlab.Frame) bool {
	return func(f netlab.Frame) bool {
		p, err := pcapfile.Frame{Data: f.Data}.IP()
		return err == nil && p.Protocol == proto && p.Src == src && bytes.HasSuffix(p.Payload, msgTail)
	}
}

func TestConnExchangesAdverts(t *testing.T) {
	lab := netlab.New(t, 3)
	capt := lab.Capture()
	h1, h2 := lab.Host(1), lab.Host(2)
	ifindex2 := ifindexOf(t, h2, "eth0")

	for _, tc := range []struct {
		name    string
		ipv6    bool
		unicast bool
		version uint8
	}{
		{"v2-ipv4-multicast", false, false, 2},
		{"v3-ipv4-multicast", false, false, 3},
		{"v3-ipv4-unicast", false, true, 3},
		{"v3-ipv6-multicast", true, false, 3},
		{"v3-ipv6-unicast", true, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c1 := listenOn(t, h1, Config{IPv6: tc.ipv6})
			c2 := listenOn(t, h2, Config{IPv6: tc.ipv6})
			in1, in2 := receiveAll(c1), receiveAll(c2)

			src1, src2 := h1.IPv4, h2.IPv4
			group, vip := GroupIPv4, netip.MustParseAddr("10.0.0.100")
			if tc.ipv6 {
				src1, src2 = h1.LinkLocal, h2.LinkLocal
				group, vip = GroupIPv6, netip.MustParseAddr("fd00::100")
			}
			if got := c1.LocalAddr(); got != src1 {
				t.Fatalf("h1 LocalAddr = %v, want %v", got, src1)
			}
			dst := group
			if tc.unicast {
				dst = h2.IPv4
				if tc.ipv6 {
					dst = h2.IPv6
				}
			}
			a := testAdvert(tc.version, 51, 200, vip)
			msg := encode(t, a, src1, dst)
			var sendDst netip.Addr // zero: the group
			if tc.unicast {
				sendDst = dst
			}
			if err := c1.Send(&Packet{Dst: sendDst, Msg: msg}); err != nil {
				t.Fatal(err)
			}

			p := next(t, in2, "h2")
			if p.Src != src1 || p.Dst != dst || p.HopLimit != 255 || p.Ifindex != ifindex2 || !bytes.Equal(p.Msg, msg) {
				t.Errorf("h2 received %+v\nwant Src %v Dst %v HopLimit 255 Ifindex %d Msg %x", p, src1, dst, ifindex2, msg)
			}
			var dec Advert
			if _, err := dec.Decode(p.Msg, p.Src, p.Dst, ChecksumStandard); err != nil {
				t.Errorf("received advert does not decode: %v", err)
			}

			// On the wire: TTL / hop limit 255, the right source and
			// destination, keepalived's TOS / traffic class, and a
			// checksum that verifies against the addresses on the wire.
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			f, err := capt.WaitFor(ctx, wireMatch(ProtocolNumber, src1, msg))
			if err != nil {
				t.Fatal(err)
			}
			ip, _ := pcapfile.Frame{Data: f.Data}.IP()
			if ip.TTL != 255 || ip.Dst != dst {
				t.Errorf("on the wire: TTL %d, dst %v; want 255, %v", ip.TTL, ip.Dst, dst)
			}
			if _, err := dec.Decode(ip.Payload, ip.Src, ip.Dst, ChecksumStandard); err != nil {
				t.Errorf("advert on the wire: %v", err)
			}
			if tc.ipv6 {
				if tclass := ip.Header[0]<<4 | ip.Header[1]>>4; tclass != 0xc0 {
					t.Errorf("traffic class %#x, want 0xc0", tclass)
				}
			} else {
				h := ip.Header
				id := uint16(h[4])<<8 | uint16(h[5])
				if h[1] != 0xc0 || id == 0 || h[6]|h[7] != 0 {
					t.Errorf("IPv4 header %x: want TOS 0xc0, non-zero ID, no flags (as keepalived)", h)
				}
			}

			// Own packets are not received: h2 answers, and h1's first
			// packet is h2's, not its own advert coming back.
			reply := encode(t, testAdvert(tc.version, 51, 100, vip), src2, map[bool]netip.Addr{false: group, true: src1}[tc.unicast && !tc.ipv6])
			if tc.ipv6 && tc.unicast {
				reply = encode(t, testAdvert(tc.version, 51, 100, vip), src2, h1.LinkLocal)
			}
			replyDst := netip.Addr{}
			if tc.unicast {
				replyDst = src1
				if tc.ipv6 {
					replyDst = h1.LinkLocal
				}
			}
			if err := c2.Send(&Packet{Dst: replyDst, Msg: reply}); err != nil {
				t.Fatal(err)
			}
			if p := next(t, in1, "h1"); !bytes.Equal(p.Msg, reply) || p.Src != src2 {
				t.Errorf("h1 received %+v first, want h2's reply from %v", p, src2)
			}
			if s := c2.Stats(); s.Received != 1 || s.Sent != 1 {
				t.Errorf("h2 stats %+v", s)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "exchange.pcap")
	if err := capt.WritePcap(path); err != nil {
		t.Fatal(err)
	}
	checkTshark(t, path)
}

// checkTshark has Wireshark's VRRP dissector verify every advert's
// checksum in a capture.
func checkTshark(t *testing.T, path string) {
	t.Helper()
	tshark, ok := netlab.HaveTool(t, "tshark", "to have Wireshark's dissector check the checksums")
	if !ok {
		return
	}
	out, err := exec.Command(tshark, "-r", path, "-Y", "vrrp", "-T", "fields", "-e", "vrrp.checksum.status").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		t.Fatalf("tshark found no VRRP in %s", path)
	}
	for _, l := range lines {
		if l != "1" { // 1 = good
			t.Errorf("tshark: checksum status %q in %s:\n%s", l, path, out)
			break
		}
	}
}

// TestConnUnicastToSelfNotReceived: a unicast advert to one of the host's
// own addresses is routed through lo, and the socket bound to eth0 does
// not see it.
func TestConnUnicastToSelfNotReceived(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	c1 := listenOn(t, h1, Config{})
	c2 := listenOn(t, h2, Config{})
	in1 := receiveAll(c1)
	self := encode(t, testAdvert(3, 1, 100), h1.IPv4, h1.IPv4)
	if err := c1.Send(&Packet{Dst: h1.IPv4, Msg: self}); err != nil {
		t.Fatal(err)
	}
	fromH2 := encode(t, testAdvert(3, 2, 100), h2.IPv4, h1.IPv4)
	if err := c2.Send(&Packet{Dst: h1.IPv4, Msg: fromH2}); err != nil {
		t.Fatal(err)
	}
	if p := next(t, in1, "h1"); !bytes.Equal(p.Msg, fromH2) {
		t.Errorf("h1 received %x first, want h2's %x", p.Msg, fromH2)
	}
}

// secondLink joins h1 and h2 by a second cable beside the lab's bridge: a
// veth pair, va (192.168.9.1/24) in h1 and vb (192.168.9.2/24) in h2, up.
func secondLink(t testing.TB, h1, h2 *netlab.Host) {
	t.Helper()
	for _, step := range []struct {
		h    *netlab.Host
		args []string
	}{
		{h2, []string{"link", "add", "vb", "type", "veth", "peer", "name", "va", "netns", h1.Namespace}},
		{h1, []string{"addr", "add", "192.168.9.1/24", "dev", "va"}},
		{h2, []string{"addr", "add", "192.168.9.2/24", "dev", "vb"}},
		{h1, []string{"link", "set", "va", "up"}},
		{h2, []string{"link", "set", "vb", "up"}},
	} {
		if _, err := step.h.Run("ip", step.args...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConnIgnoresOtherInterfaces: an advert arriving on another interface
// of the host is not returned by a Conn on eth0.
func TestConnIgnoresOtherInterfaces(t *testing.T) {
	for _, ipv6 := range []bool{false, true} {
		t.Run(familyName(ipv6), func(t *testing.T) {
			lab := netlab.New(t, 2)
			h1, h2 := lab.Host(1), lab.Host(2)
			secondLink(t, h1, h2)
			c := listenOn(t, h2, Config{IPv6: ipv6})
			onVB := listenOn(t, h2, Config{Interface: "vb", IPv6: ipv6})
			sender := listenOn(t, h1, Config{Interface: "va", IPv6: ipv6})
			c1 := listenOn(t, h1, Config{IPv6: ipv6})
			in, inVB := receiveAll(c), receiveAll(onVB)

			src := waitLocalAddr(t, sender)
			other := encode(t, testAdvert(3, 9, 100), src, sender.group)
			if err := sender.Send(&Packet{Msg: other}); err != nil {
				t.Fatal(err)
			}
			// The control: it did arrive on vb.
			if p := next(t, inVB, "vb"); !bytes.Equal(p.Msg, other) {
				t.Fatalf("vb received %x, want %x", p.Msg, other)
			}
			src1 := c1.LocalAddr()
			mine := encode(t, testAdvert(3, 1, 100), src1, c1.group)
			if err := c1.Send(&Packet{Msg: mine}); err != nil {
				t.Fatal(err)
			}
			if p := next(t, in, "eth0"); !bytes.Equal(p.Msg, mine) {
				t.Errorf("eth0 conn received %x first, want h1's %x", p.Msg, mine)
			}
		})
	}
}

// waitLocalAddr waits until the Conn has a usable source address (an IPv6
// link-local address appears once the link is up).
func waitLocalAddr(t testing.TB, c *Conn) netip.Addr {
	t.Helper()
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if a := c.LocalAddr(); a.IsValid() {
			return a
		}
		select {
		case <-deadline:
			t.Fatal("no local address")
		case <-tick.C:
		}
	}
}

func TestConnLinkAndLocalAddrFollowNetlink(t *testing.T) {
	lab := netlab.New(t, 2)
	h1 := lab.Host(1)
	c := listenOn(t, h1, Config{})
	up, changed := c.Link()
	if !up {
		t.Fatal("link down at start")
	}
	if err := h1.LinkDown(); err != nil {
		t.Fatal(err)
	}
	waitChange(t, changed)
	if up, changed = c.Link(); up {
		t.Fatal("link still up after the cable was cut")
	}
	if err := h1.LinkUp(); err != nil {
		t.Fatal(err)
	}
	waitChange(t, changed)
	if up, _ = c.Link(); !up {
		t.Fatal("link still down after LinkUp")
	}

	// LocalAddr: the first primary address; a secondary in the same
	// subnet (a VIP) does not replace it, removing the primary does.
	if _, err := h1.Run("ip", "addr", "add", "10.0.0.100/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if _, err := h1.Run("ip", "addr", "add", "192.168.5.1/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "192.168.5.1 seen", func() bool {
		s, _ := c.current()
		s.mon.mu.Lock()
		defer s.mon.mu.Unlock()
		return s.mon.indexLocked(netip.MustParseAddr("192.168.5.1")) >= 0
	})
	if a := c.LocalAddr(); a != h1.IPv4 {
		t.Errorf("LocalAddr = %v, want %v", a, h1.IPv4)
	}
	if _, err := h1.Run("ip", "addr", "del", "10.0.0.1/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "LocalAddr moves to 192.168.5.1", func() bool { return c.LocalAddr() == netip.MustParseAddr("192.168.5.1") })
}

// vrrp.Transport's Link: the channel also closes when LocalAddr changes, so
// that a router without a source address learns at once that it has one.
// A secondary address, which leaves LocalAddr as it is, does not close it.
func TestConnLinkSignalsLocalAddrChanges(t *testing.T) {
	lab := netlab.New(t, 1)
	h1 := lab.Host(1)
	for _, tc := range []struct {
		name      string
		cfg       Config
		remove    string // ip arguments that take every source address away
		add       string // the address that appears
		secondary string // then one that is not LocalAddr
	}{
		{"IPv4", Config{},
			"addr del " + h1.IPv4.String() + "/24 dev eth0",
			"192.168.7.1/24", "192.168.7.2/24"},
		{"IPv6", Config{IPv6: true},
			"-6 addr flush dev eth0 scope link",
			"fe80::7:1/64", "fe80::7:2/64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := listenOn(t, h1, tc.cfg)
			waitLocalAddr(t, c)
			_, changed := c.Link()
			if _, err := h1.Run("ip", strings.Fields(tc.remove)...); err != nil {
				t.Fatal(err)
			}
			waitChange(t, changed)
			if a := c.LocalAddr(); a.IsValid() {
				t.Fatalf("LocalAddr = %v after its address was removed", a)
			}
			_, changed = c.Link()
			if _, err := h1.Run("ip", "addr", "add", tc.add, "dev", "eth0", "nodad"); err != nil {
				t.Fatal(err)
			}
			waitChange(t, changed)
			want := netip.MustParsePrefix(tc.add).Addr()
			if a := c.LocalAddr(); a != want {
				t.Fatalf("LocalAddr = %v once the channel closed, want %v", a, want)
			}

			_, changed = c.Link()
			if _, err := h1.Run("ip", "addr", "add", tc.secondary, "dev", "eth0", "nodad"); err != nil {
				t.Fatal(err)
			}
			other := netip.MustParsePrefix(tc.secondary).Addr()
			waitFor(t, other.String()+" seen", func() bool {
				s, _ := c.current()
				s.mon.mu.Lock()
				defer s.mon.mu.Unlock()
				return s.mon.indexLocked(other) >= 0
			})
			select {
			case <-changed:
				t.Errorf("channel closed by %s, LocalAddr still %v", other, c.LocalAddr())
			default:
			}
		})
	}
}

func waitChange(t testing.TB, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatal("no link change notified")
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting: %s", what)
		case <-tick.C:
		}
	}
}

func TestConnCloseUnblocksReceive(t *testing.T) {
	lab := netlab.New(t, 1)
	for _, cfg := range []Config{{}, {AH: true}, {IPv6: true}} {
		c := listenOn(t, lab.Host(1), cfg)
		in := receiveAll(c)
		c.Close()
		select {
		case g := <-in:
			if !errors.Is(g.err, net.ErrClosed) {
				t.Errorf("%+v: Receive after Close: %v, want net.ErrClosed", cfg, g.err)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("%+v: Receive still blocked after Close", cfg)
		}
	}
}

// Packet.Age is how long a packet waited in the socket: the kernel's
// receive stamp, not the moment Receive got to it.
func TestReceiveAgeIsTimeWaitedInSocket(t *testing.T) {
	netlab.NeedTool(t, "ping", "to check reachability in the lab")
	lab := netlab.New(t, 2)
	capt := lab.Capture()
	h1, h2 := lab.Host(1), lab.Host(2)
	for _, ipv6 := range []bool{false, true} {
		t.Run(familyName(ipv6), func(t *testing.T) {
			c1 := listenOn(t, h1, Config{IPv6: ipv6})
			c2 := listenOn(t, h2, Config{IPv6: ipv6})
			src, vip := h1.IPv4, netip.MustParseAddr("10.0.0.100")
			group := GroupIPv4
			if ipv6 {
				src, vip, group = h1.LinkLocal, netip.MustParseAddr("fd00::100"), GroupIPv6
			}
			msg := encode(t, testAdvert(3, 7, 200, vip), src, group)
			sent := time.Now()
			if err := c1.Send(&Packet{Msg: msg}); err != nil {
				t.Fatal(err)
			}
			sendDone := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if _, err := capt.WaitFor(ctx, wireMatch(ProtocolNumber, src, msg)); err != nil {
				t.Fatal(err)
			}
			// Let the packet wait in h2's socket for a round trip of
			// ping (a process started and reaped: milliseconds).
			if _, err := h2.Run("ping", "-c", "1", "-W", "2", h1.IPv4.String()); err != nil {
				t.Fatal(err)
			}
			readStart := time.Now()
			var p Packet
			if err := c2.Receive(&p, make([]byte, 2048)); err != nil {
				t.Fatal(err)
			}
			readDone := time.Now()
			if !bytes.Equal(p.Msg, msg) {
				t.Fatalf("received %x, want %x", p.Msg, msg)
			}
			// The packet arrived while Send ran; Receive computed Age
			// between readStart and readDone.
			const slack = 200 * time.Microsecond
			earliest := readStart.Sub(sendDone) - slack
			latest := readDone.Sub(sent) + slack
			if p.Age < earliest || p.Age > latest {
				t.Errorf("Age = %v; the packet waited %v..%v in the socket", p.Age, earliest+slack, latest-slack)
			}
		})
	}
}

func TestStampAgeIgnoresImpossibleStamps(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, c := range []struct {
		stamp int64
		want  time.Duration
	}{
		{0, 0}, // no stamp
		{now - int64(3*time.Millisecond), 3 * time.Millisecond},
		{now + int64(time.Millisecond), 0}, // from the future: the wall clock stepped back
		{now - int64(2*time.Second), 0},    // older than maxStampAge: the wall clock stepped forward, maybe
	} {
		if got := stampAge(c.stamp, now); got != c.want {
			t.Errorf("stampAge(now%+v) = %v, want %v", time.Duration(c.stamp-now), got, c.want)
		}
	}
}

// A batch reader: WaitReceive returns once packets may be waiting (also
// ones that arrived before it was called), ReceiveBatch takes them in one
// call without blocking, and WaitReceive blocks while nothing waits.
func TestWaitReceiveAndReceiveBatch(t *testing.T) {
	lab := netlab.New(t, 2)
	capt := lab.Capture()
	h1, h2 := lab.Host(1), lab.Host(2)
	for _, cfg := range []Config{{}, {AH: true}, {IPv6: true}} {
		t.Run(familyName(cfg.IPv6)+map[bool]string{true: "+AH"}[cfg.AH], func(t *testing.T) {
			c1 := listenOn(t, h1, Config{IPv6: cfg.IPv6})
			c2 := listenOn(t, h2, cfg)
			ps := make([]Packet, 32)
			bufs := make([][]byte, 32)
			for i := range bufs {
				bufs[i] = make([]byte, 2048)
			}
			if n, err := c2.ReceiveBatch(ps, bufs); n != 0 || err != nil {
				t.Fatalf("ReceiveBatch with nothing sent = %d, %v", n, err)
			}
			waited := make(chan error, 1)
			go func() { waited <- c2.WaitReceive() }()
			select {
			case err := <-waited:
				t.Fatalf("WaitReceive returned (%v) with nothing sent", err)
			case <-time.After(50 * time.Millisecond):
			}
			src, vip := c1.LocalAddr(), netip.MustParseAddr("10.0.0.100")
			if cfg.IPv6 {
				vip = netip.MustParseAddr("fd00::100")
			}
			const sent = 10
			for vrid := range uint8(sent) {
				if err := c1.Send(&Packet{Msg: encode(t, testAdvert(3, vrid+1, 100, vip), src, c1.group)}); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case err := <-waited:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(waitTimeout):
				t.Fatal("WaitReceive did not return after packets arrived")
			}
			got, calls := 0, 0
			deadline := time.Now().Add(waitTimeout)
			for got < sent && time.Now().Before(deadline) {
				n, err := c2.ReceiveBatch(ps, bufs)
				if err != nil {
					t.Fatal(err)
				}
				calls++
				for i := range n {
					if ps[i].Src != src || ps[i].Msg[1] != uint8(got+i+1) {
						t.Errorf("packet %d: from %v VRID %d, want %v VRID %d", got+i, ps[i].Src, ps[i].Msg[1], src, got+i+1)
					}
				}
				got += n
				if n == 0 {
					if err := c2.WaitReceive(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got != sent {
				t.Fatalf("read %d packets, want %d", got, sent)
			}
			// Sent before anyone waited: a new WaitReceive still sees it.
			late := encode(t, testAdvert(3, 99, 100, vip), src, c1.group)
			if err := c1.Send(&Packet{Msg: late}); err != nil {
				t.Fatal(err)
			}
			proto := uint8(ProtocolNumber)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if _, err := capt.WaitFor(ctx, wireMatch(proto, src, late)); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c2.WaitReceive() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(waitTimeout):
				t.Fatal("WaitReceive did not see a packet that was already waiting")
			}
			// Close wakes a waiting WaitReceive.
			if n, err := c2.ReceiveBatch(ps, bufs); n != 1 || err != nil {
				t.Fatalf("ReceiveBatch = %d, %v; want the waiting packet", n, err)
			}
			go func() { done <- c2.WaitReceive() }()
			c2.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("WaitReceive after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(waitTimeout):
				t.Fatal("Close did not wake WaitReceive")
			}
		})
	}
}
