package labtest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// TestHostileTrafficDoesNotMoveTheVIP: a third host sends what an attacker
// on the LAN (or beyond it, in unicast mode) can — adverts forged without
// the key, replays of the master's own signed adverts (its priority-0
// among them, long after it was sent), off-link unicast adverts from a
// stranger's address and from a peer's, and a flood at the highest rate it
// reaches — at a master (h1, priority 200) and its backup (h2, 150), while
// a sampler checks every 50 ms that the VIPs stay on h1 and only there and
// that neither router changes state. Under the flood, a killed master is
// still taken over and a SIGTERM is handled within 100 ms. A control, an
// advert the group must take (right key, new sequence number, higher
// priority), moves the VIPs: the watch is not vacuous.
func TestHostileTrafficDoesNotMoveTheVIP(t *testing.T) {
	for _, m := range []mode{
		{name: "v2-pass-multicast", version: 2, interval: time.Second, auth: advert.AuthPass, pass: "s3cret!"},
		{name: "v2-ah-multicast", version: 2, interval: time.Second, auth: advert.AuthAH, pass: "key12345"},
		{name: "v3-ipv4-unicast", version: 3, unicast: true, interval: 100 * time.Millisecond},
	} {
		t.Run(m.name, func(t *testing.T) { hostile(t, m) })
	}
}

func hostile(t *testing.T, m mode) {
	g := newGroup(t, m)
	h1, h3 := g.hosts[0], g.hosts[2]
	spec := func(i int) spec {
		s := g.spec(i)
		if m.unicast {
			// Peers on the link send with TTL 255: anything less is
			// from beyond it (keepalived's min_ttl).
			for _, p := range s.Config.Peers {
				s.Config.PeerHopLimits = append(s.Config.PeerHopLimits, vrrp.PeerHopLimit{Peer: p, Min: 255})
			}
		}
		return s
	}
	start := func(i int) *proc {
		g.runs[i]++
		p := launch(t, g.hosts[i], fmt.Sprintf("%s#%d", g.hosts[i].Name, g.runs[i]), spec(i))
		p.start()
		return p
	}
	p1, p2 := start(0), start(1)
	p1.waitState(0, vrrp.Master, g.stateTimeout())
	p2.waitState(0, vrrp.Backup, g.stateTimeout())
	var zero netlab.Frame // h1's priority-0 advert, for the replays
	if m.auth == advert.AuthAH {
		// A graceful restart of h1: its priority 0 is on the wire (and
		// in the capture), h2 takes over, h1 preempts back.
		p1.stop()
		zero = g.waitCapture("h1's priority 0", 5*time.Second, isAdvertFrom(g.mac(0), true))
		p2.waitState(0, vrrp.Master, g.stateTimeout())
		p1 = start(0)
		p1.waitState(0, vrrp.Master, g.stateTimeout())
	}
	waitVIPs(t, g.hosts, g.vips, h1)

	atk := newAttacker(t, h3, m)
	watch := newWatch(t, g, p1, p2)
	phase := func(name string, d time.Duration, send func() int) {
		t.Helper()
		watch.from(name)
		stop := time.Now().Add(d)
		sent := 0
		for time.Now().Before(stop) {
			sent += send()
		}
		watch.check(name)
		if sent > 0 {
			g.figure("%s: %d packets in %v, VIPs held by h1 throughout", name, sent, d)
		}
	}
	// every paces an attacker's sends.
	every := func(d time.Duration, f func()) func() int {
		return func() int {
			f()
			<-time.After(d)
			return 1
		}
	}
	higher := advert.Advert{Version: uint8(m.version), Type: advert.TypeAdvertisement, VRID: vrid, Priority: 254,
		Interval: m.interval, AuthType: m.auth}
	for _, v := range g.vips {
		higher.Addrs = append(higher.Addrs, v.Addr())
	}
	if m.version == 3 {
		higher.AuthType = 0
	}
	stranger := netip.MustParseAddr("10.0.0.77")
	switch {
	case m.unicast:
		// From beyond the link: a stranger's address, and a peer's
		// (h3's, which the group lists), TTL 7.
		phase("off-link unicast from a stranger", time.Second, every(10*time.Millisecond, func() {
			atk.send(higher, stranger, g.src(0), 7, nil, 0)
		}))
		phase("off-link unicast from a peer's address", time.Second, every(10*time.Millisecond, func() {
			atk.send(higher, g.src(2), g.src(0), 7, nil, 0)
		}))
	default:
		wrong := higher
		wrong.AuthData = [8]byte{'g', 'u', 'e', 's', 's'}
		var badKey *auth.AH
		if m.auth == advert.AuthAH {
			k, _ := auth.NewPassword("guessed!")
			badKey = auth.NewAH(k, false, 0)
		}
		phase("forged without the key", time.Second, every(10*time.Millisecond, func() {
			atk.send(wrong, h3.IPv4, advert.GroupIPv4, 255, badKey, uint32(time.Now().Unix())+1e6)
		}))
		phase("forged owner (priority 255) from a higher address", time.Second, every(10*time.Millisecond, func() {
			w := wrong
			w.Priority = vrrp.OwnerPriority
			atk.send(w, netip.MustParseAddr("10.0.0.250"), advert.GroupIPv4, 255, badKey, uint32(time.Now().Unix())+1e6)
		}))
	}
	if m.auth == advert.AuthAH {
		// The master's own priority 0, replayed long after, and often
		// (beyond a Master_Down_Interval: a receiver once forgot a sender
		// that kept "replaying" that long).
		phase("replayed priority 0 of the master", 4*time.Second, every(100*time.Millisecond, func() {
			atk.replay(zero)
		}))
	}

	// A flood at full speed, of what the group must drop: the master keeps
	// its VIPs, a killed master is taken over, SIGTERM is handled.
	var flooded atomic.Int64
	floodCtx, endFlood := context.WithCancel(context.Background())
	floodDone := make(chan struct{})
	go func() {
		defer close(floodDone)
		flood := higher
		if m.version == 2 {
			flood.AuthData = [8]byte{'f', 'l', 'o', 'o', 'd'}
		}
		src, dst := h3.IPv4, advert.GroupIPv4
		if m.unicast {
			src, dst = stranger, g.src(1)
		}
		for floodCtx.Err() == nil {
			for range 64 {
				atk.send(flood, src, dst, 255, nil, 0)
			}
			flooded.Add(64)
		}
	}()
	t.Cleanup(func() { endFlood(); <-floodDone })
	// Longer than the backup's Master_Down_Interval: were the master's
	// adverts (on the AH socket, in AH mode) starved by the flood, it
	// would take over.
	floodFor := g.masterDown(1) + 600*time.Millisecond
	phase("flood", floodFor, func() int { <-time.After(100 * time.Millisecond); return 0 })
	watch.from("flood: the master killed")
	m2 := p2.mark()
	p1.kill()
	killed := time.Now()
	p2.waitState(m2, vrrp.Master, g.stateTimeout())
	took := time.Since(killed)
	if bound := g.masterDown(1) + time.Second; took > bound {
		t.Errorf("under the flood, h2 took over %v after h1 was killed, want within Master_Down_Interval + 1 s", took)
	}
	// h1's VIPs stay on its host: it was killed, not stopped.
	for deadline := time.Now().Add(vipTimeout); ; {
		if n, err := addrsOn(g.hosts[1], g.vips); err == nil && n == len(g.vips) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("h2 took over but does not hold the VIPs within %v", vipTimeout)
		}
		<-time.After(50 * time.Millisecond)
	}
	sigterm := time.Now()
	p2.stop()
	stopped := time.Since(sigterm)
	endFlood()
	<-floodDone
	g.figure("flood: %d packets at %.0f/s; VIPs held by h1 throughout %v; master killed: h2 took over in %v; SIGTERM handled and exited in %v",
		flooded.Load(), float64(flooded.Load())/time.Since(sigterm.Add(-floodFor-took)).Seconds(), floodFor.Round(time.Millisecond),
		took.Round(time.Millisecond), stopped.Round(time.Millisecond))
	zeroFrame := g.waitCapture("h2's priority 0", 5*time.Second, func(f netlab.Frame) bool {
		return f.Time.After(sigterm) && isAdvertFrom(g.mac(1), true)(f)
	})
	if d := zeroFrame.Time.Sub(sigterm); d > 100*time.Millisecond {
		t.Errorf("under the flood, h2's priority 0 went out %v after SIGTERM, want within 100 ms", d)
	}

	// The control: an advert the group must take moves the VIPs, so the
	// watch would have seen a move.
	p1 = start(0) // removes the VIPs its killed predecessor left, then takes them
	p1.waitState(0, vrrp.Master, g.stateTimeout())
	waitVIPs(t, g.hosts, g.vips, h1)
	watch = newWatch(t, g, p1, nil)
	watch.from("control")
	control := higher
	copy(control.AuthData[:], m.pass)
	var key *auth.AH
	if m.auth == advert.AuthAH {
		k, _ := auth.NewPassword(m.pass)
		key = auth.NewAH(k, false, 0)
	}
	src, dst := h3.IPv4, advert.GroupIPv4
	if m.unicast {
		src, dst = g.src(2), g.src(0)
	}
	seq := uint32(time.Now().Unix()) + 1000
	deadline := time.Now().Add(5 * time.Second)
	pace := time.NewTicker(m.interval / 4)
	defer pace.Stop()
	for p1.state() == vrrp.Master.String() && time.Now().Before(deadline) {
		seq++
		atk.send(control, src, dst, 255, key, seq)
		<-pace.C
	}
	if !watch.moved() {
		t.Fatalf("the control (right key, new sequence number, priority 254) did not move the VIPs: the watch proves nothing")
	}
	g.figure("control: the VIPs moved off h1")
}

// watch samples, every 50 ms, that the VIPs are on the master's host only,
// and notes any state change of the routers, from a phase's start.
type watch struct {
	t      *testing.T
	g      *group
	ps     []*proc
	marks  []int
	mu     sync.Mutex
	name   string
	broken []string
	stop   chan struct{}
	done   chan struct{}
}

func newWatch(t *testing.T, g *group, p1, p2 *proc) *watch {
	w := &watch{t: t, g: g, stop: make(chan struct{}), done: make(chan struct{})}
	for _, p := range []*proc{p1, p2} {
		if p != nil {
			w.ps = append(w.ps, p)
		}
	}
	go w.sample()
	t.Cleanup(func() {
		close(w.stop)
		<-w.done
	})
	return w
}

func (w *watch) sample() {
	defer close(w.done)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		name := w.name
		w.mu.Unlock()
		if name == "" {
			continue
		}
		for i, h := range w.g.hosts {
			held, err := addrsOn(h, w.g.vips)
			want := 0
			if i == 0 {
				want = len(w.g.vips)
			}
			if err == nil && held != want {
				w.mu.Lock()
				w.broken = append(w.broken, fmt.Sprintf("%s: %s holds %d of %d VIPs at %s", name, h.Name, held, len(w.g.vips),
					time.Now().Format("15:04:05.000")))
				w.mu.Unlock()
			}
		}
	}
}

// from starts a phase: state changes and VIPs are checked from now.
func (w *watch) from(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.name, w.broken = name, nil
	w.marks = w.marks[:0]
	for _, p := range w.ps {
		w.marks = append(w.marks, p.mark())
	}
}

// check fails the test if the phase moved anything.
func (w *watch) check(name string) {
	w.t.Helper()
	w.mu.Lock()
	broken := slices.Clone(w.broken)
	w.name = ""
	w.mu.Unlock()
	for i, p := range w.ps {
		if tr := p.transitions(w.marks[i]); len(tr) > 0 {
			w.t.Errorf("%s: %s changed state: %v", name, p.name, tr)
		}
	}
	if len(broken) > 0 {
		w.t.Errorf("%s: the VIPs left the healthy master: %v", name, broken[:min(len(broken), 5)])
	}
}

// moved reports whether anything moved since the phase started, giving
// the sampler a second to see it.
func (w *watch) moved() bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); <-tick.C {
		w.mu.Lock()
		n := len(w.broken)
		w.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return len(w.ps[0].transitions(w.marks[0])) > 0
}

// addrsOn counts the VIPs on h's eth0, read through netlink in h's
// namespace (no fork per sample).
func addrsOn(h *netlab.Host, vips []netip.Prefix) (int, error) {
	n := 0
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Ifname)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				ip, _ := netip.AddrFromSlice(ipn.IP)
				ones, _ := ipn.Mask.Size()
				if slices.Contains(vips, netip.PrefixFrom(ip.Unmap(), ones)) {
					n++
				}
			}
		}
		return nil
	})
	return n, err
}

// attacker sends crafted IPv4 packets from a lab host: any source, any
// TTL, plain VRRP or AH.
type attacker struct {
	t   *testing.T
	raw *netlab.RawIPv4
}

func newAttacker(t *testing.T, h *netlab.Host, m mode) *attacker {
	t.Helper()
	raw, err := h.RawIPv4()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &attacker{t: t, raw: raw}
}

// send sends adv from src to dst with ttl, sealed with ah at seq when ah
// is set.
func (a *attacker) send(adv advert.Advert, src, dst netip.Addr, ttl uint8, ah *auth.AH, seq uint32) {
	msg, err := adv.Append(nil, src, dst, advert.ChecksumStandard)
	if err != nil {
		a.t.Fatal(err)
	}
	proto, ahLen := byte(advert.ProtocolNumber), 0
	if ah != nil {
		proto, ahLen = auth.ProtocolAH, auth.AHLen
	}
	b := a.raw.Packet(src, dst, ttl, proto, ahLen+len(msg))
	copy(b[20+ahLen:], msg)
	if ah != nil {
		if err := ah.SealAH(b[20:20+ahLen], b[:20], b[20+ahLen:], seq); err != nil {
			a.t.Fatal(err)
		}
	}
	a.sendRaw(b)
}

// replay sends a captured frame's IP packet again, as it was.
func (a *attacker) replay(f netlab.Frame) {
	if len(f.Data) < 14+20 {
		a.t.Fatal("replay: no IPv4 packet in the frame")
	}
	a.sendRaw(f.Data[14:])
}

func (a *attacker) sendRaw(b []byte) {
	if err := a.raw.SendPacket(b); err != nil {
		a.t.Errorf("attacker send: %v", err)
	}
}
