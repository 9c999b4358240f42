package vrrp

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// Benchmarks of the hot paths: one advert received and one timer event,
// through the pure Machine and through the core with the loop's flush
// (receive checks, decode, encode, send), with fakes that cost nothing.

func BenchmarkMachineReceive(b *testing.B) {
	m := NewMachine(MachineConfig{Version: 3, Priority: 100, Interval: time.Second})
	m.SetAddr(netip.MustParseAddr("10.0.0.2"), nil)
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	acts := m.Start(now, make([]Action, 0, 8))
	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: 1, Priority: 200, Interval: time.Second}
	src := netip.MustParseAddr("10.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		acts = m.Receive(now, src, &a, acts[:0])
	}
}

func BenchmarkMachineTimer(b *testing.B) {
	m := NewMachine(MachineConfig{Version: 3, Priority: 255, Interval: time.Second})
	m.SetAddr(netip.MustParseAddr("10.0.0.1"), nil)
	acts := m.Start(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), make([]Action, 0, 8))
	b.ReportAllocs()
	for b.Loop() {
		acts = m.TimerDue(m.Deadline(), acts[:0])
	}
}

// Fakes for the core benchmarks: a clock that moves when told and a
// transport that drops sends. The benchmarks drive the Node's loop body
// (step, flush) on their own goroutine, as its Run would.
type benchClock struct{ now time.Time }

func (c *benchClock) Now() time.Time                                     { return c.now }
func (c *benchClock) NewTimer(time.Duration) Timer                       { return benchTimer{} }
func (benchTimer) C() <-chan time.Time                                   { return nil }
func (benchTimer) Reset(time.Duration) bool                              { return true }
func (benchTimer) Stop() bool                                            { return true }
func (n benchNetwork) Open(context.Context, Endpoint) (Transport, error) { return n.t, nil }

type benchTimer struct{}
type benchNetwork struct{ t *benchTransport }

type benchTransport struct {
	sent   int
	closed chan struct{}
}

func newBenchTransport() *benchTransport { return &benchTransport{closed: make(chan struct{})} }

func (t *benchTransport) SendBatch(ps []advert.Packet) (int, error) {
	t.sent += len(ps)
	return len(ps), nil
}
func (t *benchTransport) WaitReceive() error { <-t.closed; return net.ErrClosed }
func (t *benchTransport) ReceiveBatch([]advert.Packet, [][]byte) (int, error) {
	return 0, nil
}
func (t *benchTransport) LocalAddr() netip.Addr         { return netip.MustParseAddr("10.0.0.2") }
func (t *benchTransport) Link() (bool, <-chan struct{}) { return true, nil }
func (t *benchTransport) Close() error {
	select {
	case <-t.closed:
	default:
		close(t.closed)
	}
	return nil
}

// deliver hands p to the core as the loop does after a read.
func (n *Node) deliver(p *advert.Packet) {
	now := n.clock.Now()
	for pt := range n.ios {
		n.core.receive(now, pt, p)
	}
	n.flush(now)
	n.runHeld(now)
}

// fire handles the timers due, as the loop does when its timer fires.
func (n *Node) fire() {
	now := n.clock.Now()
	n.core.tick(now)
	n.flush(now)
	n.runHeld(now)
}

// newBenchNode is a Node of cfg on the bench clock and one bench
// transport, which the test's end closes.
func newBenchNode(tb testing.TB, cfg NodeConfig) (*Node, *benchClock, *benchTransport) {
	clock := &benchClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := newBenchTransport()
	tb.Cleanup(func() { tr.Close() })
	cfg.Clock, cfg.Network = clock, benchNetwork{tr}
	n, err := NewNode(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return n, clock, tr
}

func benchNode(tb testing.TB, prio int) (*Node, *Router, *benchClock, *benchTransport) {
	n, clock, tr := newBenchNode(tb, NodeConfig{})
	r, err := n.Add(Config{Name: "VI_1", VRID: 1, Interface: "eth0", Priority: prio,
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}, {Prefix: netip.MustParsePrefix("10.0.0.101/24")}}})
	if err != nil {
		tb.Fatal(err)
	}
	n.step()
	return n, r, clock, tr
}

// BenchmarkCoreReceive: one advert from the master through the receive
// path of a backup: VRID demultiplexing, TTL, decode with checksum, the
// §7.1 checks, the state machine, the timer heap, and the loop's flush of
// an empty output.
func BenchmarkCoreReceive(b *testing.B) {
	n, r, clock, _ := benchNode(b, 100)
	src := netip.MustParseAddr("10.0.0.1")
	a := advert.Advert{Version: 3, VRID: 1, Priority: 200, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")}}
	msg, err := a.Append(nil, src, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		b.Fatal(err)
	}
	p := advert.Packet{Src: src, Dst: advert.GroupIPv4, HopLimit: 255, Msg: msg}
	n.deliver(&p)
	if r.State() != Backup || r.Stats().AdvertsReceived != 1 {
		b.Fatalf("not a backup following the master: %v %+v", r.State(), r.Stats())
	}
	b.ReportAllocs()
	for b.Loop() {
		clock.now = clock.now.Add(time.Second)
		n.deliver(&p)
	}
}

// BenchmarkCoreTick: one Adver_Timer event of a master: the timer heap,
// the state machine, encoding with checksum, and the loop's
// Transport.Send.
func BenchmarkCoreTick(b *testing.B) {
	n, r, clock, tr := benchNode(b, 255)
	if r.State() != Master {
		b.Fatalf("state %v", r.State())
	}
	b.ReportAllocs()
	for b.Loop() {
		clock.now = r.core.m.Deadline()
		n.fire()
	}
	if tr.sent < b.N {
		b.Fatalf("%d adverts sent for %d timer events", tr.sent, b.N)
	}
}

// Dropped packets cost no allocation while their log lines are not
// written (Debug off): a flood of bad packets makes no garbage.
func TestDropsAllocateNothingWithoutDebug(t *testing.T) {
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	n, _, _ := newBenchNode(t, NodeConfig{Logger: log})
	vips := []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}
	v3r, err := n.Add(Config{Name: "VI_1", VRID: 1, Interface: "eth0", VIPs: vips})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := n.Add(Config{Name: "VI_2", VRID: 2, Interface: "eth0", Version: 2, VIPs: vips,
		AuthType: advert.AuthPass, AuthPass: auth.MustPassword("secret")})
	if err != nil {
		t.Fatal(err)
	}
	n.step()
	src := netip.MustParseAddr("10.0.0.1")
	packet := func(a advert.Advert, ttl uint8) *advert.Packet {
		msg, err := a.Append(nil, src, advert.GroupIPv4, advert.ChecksumStandard)
		if err != nil {
			t.Fatal(err)
		}
		return &advert.Packet{Src: src, Dst: advert.GroupIPv4, HopLimit: ttl, Msg: msg}
	}
	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.100")}
	v3 := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: 1, Priority: 200, Interval: time.Second, Addrs: addrs}
	for _, c := range []struct {
		name   string
		p      *advert.Packet
		reason DropReason
	}{
		{"ttl", packet(v3, 64), DropTTL},
		{"version", packet(advert.Advert{Version: 2, Type: advert.TypeAdvertisement, VRID: 1, Priority: 200,
			Interval: time.Second, Addrs: addrs}, 255), DropVersion},
		{"address list", packet(advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: 1, Priority: 200,
			Interval: time.Second, Addrs: []netip.Addr{src}}, 255), DropAddressList},
		{"password", packet(advert.Advert{Version: 2, Type: advert.TypeAdvertisement, VRID: 2, Priority: 200,
			Interval: time.Second, AuthType: advert.AuthPass, AuthData: [8]byte{'x'}, Addrs: addrs}, 255), DropAuth},
	} {
		r := v3r
		if c.p.Msg[1] == 2 {
			r = v2
		}
		before := r.Stats().Drops[c.reason]
		allocs := testing.AllocsPerRun(100, func() { n.deliver(c.p) })
		if got := r.Stats().Drops[c.reason] - before; got != 101 {
			t.Errorf("%s: %d drops counted as %v, want 101", c.name, got, c.reason)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per dropped packet, want 0", c.name, allocs)
		}
	}
}

// BenchmarkNodeTakeover200: 200 backups whose down timers run out
// together become master in one timer batch: per op, one router's share
// of the batch (timer heap, state machine, send through a fake transport,
// the held logs and events, backend hand-offs to no backend), with Info
// logging to io.Discard.
func BenchmarkNodeTakeover200(b *testing.B) {
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	b.ReportAllocs()
	var routers int
	// Not b.Loop: each op builds its Node with the timer stopped.
	for range b.N {
		b.StopTimer()
		clock := &benchClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
		tr := newBenchTransport()
		n, err := NewNode(NodeConfig{Clock: clock, Network: benchNetwork{tr}, Logger: log})
		if err != nil {
			b.Fatal(err)
		}
		for vrid := 1; vrid <= 200; vrid++ {
			if _, err := n.Add(Config{VRID: vrid, Interface: "eth0", Interval: 100 * time.Millisecond,
				VIPs: []VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(vrid), 1}), 32)}}}); err != nil {
				b.Fatal(err)
			}
		}
		n.step()
		clock.now = clock.now.Add(time.Second)
		b.StartTimer()
		n.fire()
		b.StopTimer()
		tr.Close()
		routers += 200
		if tr.sent != 200 {
			b.Fatalf("%d adverts sent, want 200", tr.sent)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(routers), "ns/router")
}

// BenchmarkCoreReceive1000: the backup side of 1,000 routers (4
// interfaces × 250 VRIDs, 100 ms), each advert for the next router in
// turn, 100 µs apart: what a backup of a thousand routers does 10,000
// times a second, with the routers' state and the timer heap out of the
// CPU's caches as they are then.
func BenchmarkCoreReceive1000(b *testing.B) {
	n, clock, _ := newBenchNode(b, NodeConfig{})
	src := netip.MustParseAddr("10.0.0.1")
	type target struct {
		port *port
		p    advert.Packet
	}
	var ts []target
	for k := range 4 {
		iface := "eth" + strconv.Itoa(k)
		for vrid := 1; vrid <= 250; vrid++ {
			vip := netip.AddrFrom4([4]byte{10, byte(k + 1), byte(vrid), 1})
			if _, err := n.Add(Config{VRID: vrid, Interface: iface, Priority: 100, Interval: 100 * time.Millisecond,
				VIPs: []VIP{{Prefix: netip.PrefixFrom(vip, 32)}}}); err != nil {
				b.Fatal(err)
			}
			a := advert.Advert{Version: 3, VRID: uint8(vrid), Priority: 200, Interval: 100 * time.Millisecond, Addrs: []netip.Addr{vip}}
			msg, err := a.Append(nil, src, advert.GroupIPv4, advert.ChecksumStandard)
			if err != nil {
				b.Fatal(err)
			}
			ts = append(ts, target{p: advert.Packet{Src: src, Dst: advert.GroupIPv4, HopLimit: 255, Msg: msg}})
		}
	}
	n.step()
	for i := range ts {
		iface := "eth" + strconv.Itoa(i/250)
		for pt := range n.ios {
			if pt.key.iface == iface {
				ts[i].port = pt
			}
		}
	}
	deliver := func(t *target) {
		now := n.clock.Now()
		n.core.receive(now, t.port, &t.p)
		n.flush(now)
		n.runHeld(now)
	}
	for i := range ts { // every router a backup following the master
		deliver(&ts[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clock.now = clock.now.Add(100 * time.Microsecond)
		deliver(&ts[i])
		if i++; i == len(ts) {
			i = 0
		}
	}
	for _, r := range n.core.routers {
		if r.m.State() != Backup {
			b.Fatalf("%s is %v, want every router a backup", r.cfg.Name, r.m.State())
		}
	}
}
