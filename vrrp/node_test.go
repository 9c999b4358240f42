package vrrp_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// Tests of Node and Router running for real — goroutines, timers, the
// receive goroutines and backend workers — inside a testing/synctest
// bubble, where time is fake and advances when every goroutine waits.

func newLAN(t *testing.T) *vrrptest.LAN {
	t.Helper()
	return vrrptest.NewLAN(vrrptest.LANConfig{Seed: 1, Link: vrrptest.LinkConfig{Delay: 200 * time.Microsecond}})
}

func addHost(lan *vrrptest.LAN, name, addr string) *vrrptest.Host {
	return lan.AddHost(vrrptest.HostConfig{Name: name, Addrs: []netip.Addr{netip.MustParseAddr(addr)}})
}

func cfg(name string, vrid, prio int) vrrp.Config {
	return vrrp.Config{Name: name, VRID: vrid, Interface: "eth0", Priority: prio,
		VIPs: []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(vrid), 100}), 24)}}}
}

// running is a Node (or router's own Node) running in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func run(f func(context.Context) error) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- f(ctx) }()
	return r
}

// stop cancels and waits for Run to return.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return <-r.done
}

// waitState reads r's events until it enters want, failing after d of
// (fake) time.
func waitState(t *testing.T, r *vrrp.Router, want vrrp.State, d time.Duration) vrrp.Event {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-r.Events():
			if ev.Kind == vrrp.EventState && ev.To == want {
				return ev
			}
		case <-timeout:
			t.Fatalf("%s: not %v within %v (state %v)", r.Name(), want, d, r.State())
		}
	}
}

// pass lets d of fake time go by.
func pass(d time.Duration) {
	<-time.After(d)
	synctest.Wait()
}

func TestRouterRunElectsFailsOverAndShutsDownCleanly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		b1, b2 := &vrrptest.Backend{}, &vrrptest.Backend{}
		c1, c2 := cfg("VI_1", 51, 200), cfg("VI_1", 51, 100)
		c1.Backend, c2.Backend = b1, b2
		r1, err := vrrp.NewRouter(c1, vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := vrrp.NewRouter(c2, vrrp.NodeConfig{Network: addHost(lan, "b", "10.0.0.2")})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		run1, run2 := run(r1.Run), run(r2.Run)
		// RFC 5798 §6.4.2: the higher priority's down timer runs out first.
		ev := waitState(t, r1, vrrp.Master, 5*time.Second)
		if got, want := ev.Time.Sub(start), vrrp.MasterDownInterval(3, 200, time.Second); got != want {
			t.Errorf("master after %v, want Master_Down_Interval %v", got, want)
		}
		// Whoever is woken by the event reads the outcome of its batch.
		if r1.State() != vrrp.Master || r1.Master() != netip.MustParseAddr("10.0.0.1") {
			t.Fatalf("after the event: %v, master %v", r1.State(), r1.Master())
		}
		pass(time.Second)
		if r2.State() != vrrp.Backup || r2.Master() != netip.MustParseAddr("10.0.0.1") {
			t.Fatalf("r2: %v, master %v", r2.State(), r2.Master())
		}
		if !b1.Held() || b2.Held() {
			t.Fatalf("VIPs: a=%v b=%v", b1.Held(), b2.Held())
		}
		// A clean stop: priority 0, release, and Run returns nil.
		stopped := time.Now()
		if err := run1.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
		// The release at startup clears what a crashed predecessor may have left.
		if got := b1.Calls(); !slices.Equal(got, []string{"release", "acquire", "release"}) {
			t.Errorf("backend calls %v", got)
		}
		if r1.State() != vrrp.Initialize {
			t.Errorf("r1 after Run: %v", r1.State())
		}
		// RFC 5798 §6.4.2: the backup takes over after Skew_Time.
		ev = waitState(t, r2, vrrp.Master, 5*time.Second)
		if got, max := ev.Time.Sub(stopped), vrrp.SkewTime(3, 100, time.Second)+time.Millisecond; got > max {
			t.Errorf("takeover %v after the stop, want at most Skew_Time %v", got, max)
		}
		if s := r1.Stats(); s.PriorityZeroSent != 1 {
			t.Errorf("r1 stats: %+v", s)
		}
		if s := r2.Stats(); s.PriorityZeroReceived != 1 {
			t.Errorf("r2 stats: %+v", s)
		}
		if err := run2.stop(t); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNodeSharesOneTransportAcrossRoutersAndRemovesOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		na, _ := vrrp.NewNode(vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		nb, _ := vrrp.NewNode(vrrp.NodeConfig{Network: addHost(lan, "b", "10.0.0.2")})
		var ra, rb []*vrrp.Router
		for vrid := 1; vrid <= 3; vrid++ {
			r, err := na.Add(cfg("A"+strconv.Itoa(vrid), vrid, 200))
			if err != nil {
				t.Fatal(err)
			}
			ra = append(ra, r)
			r, err = nb.Add(cfg("B"+strconv.Itoa(vrid), vrid, 100))
			if err != nil {
				t.Fatal(err)
			}
			rb = append(rb, r)
		}
		if _, err := na.Add(cfg("dup", 2, 100)); err == nil || !strings.Contains(err.Error(), "VRID") {
			t.Fatalf("duplicate VRID: %v", err)
		}
		runA, runB := run(na.Run), run(nb.Run)
		for _, r := range ra {
			waitState(t, r, vrrp.Master, 5*time.Second)
		}
		pass(2 * time.Second)
		for _, r := range rb {
			if r.State() != vrrp.Backup {
				t.Fatalf("%s: %v", r.Name(), r.State())
			}
		}
		// A reload removes A2: it leaves cleanly and B2 takes over; the
		// others do not notice.
		if err := na.Remove(context.Background(), ra[1]); err != nil {
			t.Fatal(err)
		}
		waitState(t, rb[1], vrrp.Master, time.Second)
		pass(5 * time.Second)
		for _, i := range []int{0, 2} {
			if ra[i].State() != vrrp.Master || rb[i].State() != vrrp.Backup {
				t.Fatalf("VRID %d: a=%v b=%v", i+1, ra[i].State(), rb[i].State())
			}
			if s := ra[i].Stats(); s.BecameMaster != 1 {
				t.Fatalf("%s became master %d times", ra[i].Name(), s.BecameMaster)
			}
		}
		if got := len(na.Routers()); got != 2 {
			t.Fatalf("Routers: %d", got)
		}
		// And a reload adds one while running.
		r4, err := na.Add(cfg("A4", 4, 200))
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, r4, vrrp.Master, 5*time.Second)
		runA.stop(t)
		runB.stop(t)
	})
}

func TestSlowBackendDoesNotDelayAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		slow := &vrrptest.Backend{Gate: make(chan struct{})}
		c1 := cfg("VI_1", 1, 200)
		c1.Backend = slow
		na, _ := vrrp.NewNode(vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1"), ShutdownTimeout: 2 * time.Second})
		r1, _ := na.Add(c1)
		r2, _ := vrrp.NewRouter(cfg("VI_1", 1, 100), vrrp.NodeConfig{Network: addHost(lan, "b", "10.0.0.2")})
		runA, runB := run(na.Run), run(r2.Run)
		waitState(t, r1, vrrp.Master, 5*time.Second)
		// Acquire hangs, yet the master keeps advertising: the backup
		// never times out.
		pass(30 * time.Second)
		if r2.State() != vrrp.Backup {
			t.Fatalf("backup %v while the master's backend hangs", r2.State())
		}
		if s := r1.Stats(); s.AdvertsSent < 30 {
			t.Fatalf("master sent %d adverts in 30 s", s.AdvertsSent)
		}
		// Shutdown waits for the backend at most ShutdownTimeout.
		start := time.Now()
		err := runA.stop(t)
		if err == nil || !strings.Contains(err.Error(), "did not finish") {
			t.Fatalf("Run: %v", err)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("waited %v for the backend, want ShutdownTimeout 2s", waited)
		}
		runB.stop(t)
	})
}

func TestEventsDropOldestNeverBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		r, _ := vrrp.NewRouter(cfg("VI_1", 1, 100), vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1"), EventBuffer: 4})
		runner := run(r.Run)
		pass(5 * time.Second)
		// Nobody reads events; 50 priority changes must not block.
		for p := 1; p <= 50; p++ {
			if err := r.SetPriority(p); err != nil {
				t.Fatal(err)
			}
		}
		pass(time.Millisecond)
		if r.Priority() != 50 {
			t.Fatalf("priority %d", r.Priority())
		}
		if got := r.Config().Priority; got != 50 {
			t.Errorf("Config().Priority = %d after SetPriority(50)", got)
		}
		var last vrrp.Event
		n := 0
	drain:
		for {
			select {
			case ev := <-r.Events():
				last = ev
				n++
			default:
				break drain
			}
		}
		if n != 4 || last.Kind != vrrp.EventPriority || last.Priority != 50 {
			t.Fatalf("%d events, last %+v", n, last)
		}
		if s := r.Stats(); s.EventsLost == 0 {
			t.Fatal("no events counted lost")
		}
		runner.stop(t)
	})
}

// A router whose events are discarded still runs, elects and reports its
// state; its stream is closed from the start and nothing counts as lost.
func TestDiscardEventsKeepsNoStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		c := cfg("VI_1", 1, 100)
		c.DiscardEvents = true
		r, _ := vrrp.NewRouter(c, vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		if _, open := <-r.Events(); open {
			t.Fatal("Events of a router that discards them is open")
		}
		runner := run(r.Run)
		pass(5 * time.Second)
		if r.State() != vrrp.Master {
			t.Fatalf("state %v, want MASTER alone on the LAN", r.State())
		}
		for p := 1; p <= 20; p++ {
			if err := r.SetPriority(p); err != nil {
				t.Fatal(err)
			}
		}
		pass(time.Millisecond)
		if r.Priority() != 20 {
			t.Fatalf("priority %d", r.Priority())
		}
		if _, open := <-r.Events(); open {
			t.Fatal("an event reached a router's discarded stream")
		}
		if s := r.Stats(); s.EventsLost != 0 {
			t.Errorf("%d events counted lost; discarded events are not lost", s.EventsLost)
		}
		runner.stop(t)
	})
}

func TestReceiveErrorFaultsAndReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		host := addHost(lan, "a", "10.0.0.1")
		r, _ := vrrp.NewRouter(cfg("VI_1", 1, 100), vrrp.NodeConfig{Network: host, ReopenBackoff: 500 * time.Millisecond})
		runner := run(r.Run)
		waitState(t, r, vrrp.Master, 5*time.Second)
		host.FailReceive(errors.New("socket exploded"))
		ev := waitState(t, r, vrrp.Fault, time.Second)
		if !strings.Contains(ev.Detail, "socket exploded") {
			t.Fatalf("fault detail %q", ev.Detail)
		}
		start := time.Now()
		ev = waitState(t, r, vrrp.Backup, 5*time.Second)
		if d := ev.Time.Sub(start); d != 500*time.Millisecond {
			t.Errorf("reopened after %v, want the backoff 500ms", d)
		}
		waitState(t, r, vrrp.Master, 5*time.Second)
		runner.stop(t)
	})
}

func TestLinkDownFaultsAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		host := addHost(lan, "a", "10.0.0.1")
		b := &vrrptest.Backend{}
		c := cfg("VI_1", 1, 255)
		c.Backend = b
		r, _ := vrrp.NewRouter(c, vrrp.NodeConfig{Network: host})
		runner := run(r.Run)
		waitState(t, r, vrrp.Master, time.Second)
		host.SetLinkUp(false)
		ev := waitState(t, r, vrrp.Fault, time.Second)
		if ev.Detail != "link down on eth0" {
			t.Fatalf("detail %q", ev.Detail)
		}
		pass(time.Second)
		if b.Held() {
			t.Fatal("VIPs held in Fault")
		}
		host.SetLinkUp(true)
		// An owner leaves Fault straight to Master.
		waitState(t, r, vrrp.Master, time.Second)
		runner.stop(t)
	})
}

// keepalived's dont_track_primary: the interface going down is no Fault.
func TestIgnoreLinkDownKeepsTheRouterInItsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		host := addHost(lan, "a", "10.0.0.1")
		b := &vrrptest.Backend{}
		c := cfg("VI_1", 1, 255)
		c.Backend, c.IgnoreLinkDown = b, true
		r, _ := vrrp.NewRouter(c, vrrp.NodeConfig{Network: host})
		runner := run(r.Run)
		waitState(t, r, vrrp.Master, time.Second)
		host.SetLinkUp(false)
		pass(time.Second)
		for len(r.Events()) > 0 {
			if ev := <-r.Events(); ev.Kind == vrrp.EventState {
				t.Errorf("state event with the link down: %+v", ev)
			}
		}
		if r.State() != vrrp.Master || !b.Held() {
			t.Fatalf("with the link down: %v, VIPs held %v; want Master holding them", r.State(), b.Held())
		}
		host.SetLinkUp(true)
		pass(time.Second)
		if r.State() != vrrp.Master {
			t.Fatalf("after the link came back: %v", r.State())
		}
		runner.stop(t)
	})
}

func TestNoSourceAddressFaultsUntilOneAppears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		host := lan.AddHost(vrrptest.HostConfig{Name: "a"}) // no IPv4 address
		r, _ := vrrp.NewRouter(cfg("VI_1", 1, 100), vrrp.NodeConfig{Network: host})
		runner := run(r.Run)
		ev := waitState(t, r, vrrp.Fault, time.Second)
		if !strings.Contains(ev.Detail, "no usable source address") {
			t.Fatalf("detail %q", ev.Detail)
		}
		host.SetAddrs(netip.MustParseAddr("10.0.0.1"))
		waitState(t, r, vrrp.Backup, 2*time.Second)
		waitState(t, r, vrrp.Master, 5*time.Second)
		if r.Master() != netip.MustParseAddr("10.0.0.1") {
			t.Fatalf("master %v", r.Master())
		}
		runner.stop(t)
	})
}

// probeNetwork opens the host's transports and counts their LocalAddr
// calls; with hideLink they cannot watch their link (Link gives no
// channel).
type probeNetwork struct {
	host     *vrrptest.Host
	hideLink bool
	calls    atomic.Int32
}

func (n *probeNetwork) Open(ctx context.Context, ep vrrp.Endpoint) (vrrp.Transport, error) {
	tr, err := n.host.Open(ctx, ep)
	if err != nil {
		return nil, err
	}
	return &probeTransport{Transport: tr, calls: &n.calls, hideLink: n.hideLink}, nil
}

type probeTransport struct {
	vrrp.Transport
	calls    *atomic.Int32
	hideLink bool
}

func (t *probeTransport) Link() (bool, <-chan struct{}) {
	if t.hideLink {
		return true, nil
	}
	return t.Transport.Link()
}

func (t *probeTransport) LocalAddr() netip.Addr {
	t.calls.Add(1)
	return t.Transport.LocalAddr()
}

// A transport's Link channel closes when LocalAddr changes: the router
// reads it then, and neither polls for an address nor waits for a poll.
func TestSourceAddressAppearingEndsFaultAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		nw := &probeNetwork{host: lan.AddHost(vrrptest.HostConfig{Name: "a"})} // no IPv4 address
		r, _ := vrrp.NewRouter(cfg("VI_1", 1, 100), vrrp.NodeConfig{Network: nw})
		runner := run(r.Run)
		waitState(t, r, vrrp.Fault, time.Second)
		synctest.Wait() // the link watcher's first look is not a poll
		before := nw.calls.Load()
		pass(10*time.Second + 500*time.Millisecond)
		if got := nw.calls.Load() - before; got != 0 {
			t.Errorf("LocalAddr asked %d times in 10 s of Fault: polled though the transport signals changes", got)
		}
		at := time.Now()
		nw.host.SetAddrs(netip.MustParseAddr("10.0.0.1"))
		if ev := waitState(t, r, vrrp.Backup, 2*time.Second); !ev.Time.Equal(at) {
			t.Errorf("left Fault %v after the address appeared, want at once", ev.Time.Sub(at))
		}
		runner.stop(t)
	})
}

// Without a Link channel nothing says when an address appears: the router
// asks every second, and leaves Fault at the first poll after it does.
func TestSourceAddressIsPolledWithoutLinkMonitor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		nw := &probeNetwork{host: lan.AddHost(vrrptest.HostConfig{Name: "a"}), hideLink: true}
		r, _ := vrrp.NewRouter(cfg("VI_1", 1, 100), vrrp.NodeConfig{Network: nw})
		runner := run(r.Run)
		waitState(t, r, vrrp.Fault, time.Second)
		synctest.Wait() // the link watcher's first look is not a poll
		before := nw.calls.Load()
		pass(10*time.Second + 500*time.Millisecond)
		if got := nw.calls.Load() - before; got != 10 {
			t.Errorf("LocalAddr asked %d times in 10.5 s of Fault, want 10 (once a second)", got)
		}
		at := time.Now()
		nw.host.SetAddrs(netip.MustParseAddr("10.0.0.1"))
		ev := waitState(t, r, vrrp.Backup, 2*time.Second)
		if d := ev.Time.Sub(at); d != 500*time.Millisecond {
			t.Errorf("left Fault %v after the address appeared, want 500ms (at the next poll)", d)
		}
		runner.stop(t)
	})
}

func TestControlFromManyGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		r1, _ := vrrp.NewRouter(cfg("VI_1", 1, 200), vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		r2, _ := vrrp.NewRouter(cfg("VI_1", 1, 150), vrrp.NodeConfig{Network: addHost(lan, "b", "10.0.0.2")})
		run1, run2 := run(r1.Run), run(r2.Run)
		waitState(t, r1, vrrp.Master, 5*time.Second)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 20 {
					r1.Track(vrrp.TrackStatus{Name: "chk" + string('a'+rune(i)), Up: j%2 == 0, Delta: -(j % 3)})
					_ = r1.State()
					_ = r1.Master()
					_ = r1.Stats()
				}
			}()
		}
		wg.Wait()
		for i := range 8 {
			r1.Untrack("chk" + string('a'+rune(i)))
		}
		pass(5 * time.Second)
		if r1.Priority() != 200 || r1.State() != vrrp.Master {
			t.Fatalf("after untracking: %v prio %d", r1.State(), r1.Priority())
		}
		// Resign from another goroutine: r2 takes over, r1 does not preempt back.
		go r1.Resign()
		waitState(t, r2, vrrp.Master, 2*time.Second)
		pass(10 * time.Second)
		if r1.State() != vrrp.Backup || r2.State() != vrrp.Master {
			t.Fatalf("after resign: r1 %v, r2 %v", r1.State(), r2.State())
		}
		run1.stop(t)
		run2.stop(t)
	})
}

func TestNodeRunsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		n, _ := vrrp.NewNode(vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		runner := run(n.Run)
		pass(time.Second)
		if err := n.Run(context.Background()); err == nil {
			t.Fatal("second Run succeeded")
		}
		runner.stop(t)
		if _, err := n.Add(cfg("late", 1, 100)); !errors.Is(err, vrrp.ErrNodeStopped) {
			t.Fatalf("Add after stop: %v", err)
		}
	})
	if _, err := vrrp.NewNode(vrrp.NodeConfig{}); err == nil {
		t.Fatal("NewNode without Network succeeded")
	}
}

func TestTrackedFaultBeforeRunStartsInFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		r, _ := vrrp.NewRouter(cfg("VI_1", 1, 100), vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		// keepalived's init_fail: a check that starts failed.
		r.Track(vrrp.TrackStatus{Name: "chk", Fault: true, Reason: "init_fail"})
		runner := run(r.Run)
		ev := <-r.Events()
		if ev.Kind != vrrp.EventState || ev.From != vrrp.Initialize || ev.To != vrrp.Fault {
			t.Fatalf("first event %+v", ev)
		}
		r.Track(vrrp.TrackStatus{Name: "chk", Up: true})
		waitState(t, r, vrrp.Backup, time.Second)
		runner.stop(t)
	})
}

// Config.Tracks are in place before the router starts, also when it is
// added to a running Node (Router.Track right after Add can lose the
// race with the router's start).
func TestTracksInConfigAreSetBeforeTheRouterStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		n, _ := vrrp.NewNode(vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		runner := run(n.Run)
		synctest.Wait()
		// keepalived's init_fail: a check that starts failed.
		c1 := cfg("VI_1", 1, 100)
		c1.Tracks = []vrrp.TrackStatus{{Name: "chk", Fault: true, Reason: "init_fail"}}
		r1, err := n.Add(c1)
		if err != nil {
			t.Fatal(err)
		}
		c2 := cfg("VI_2", 2, 100)
		c2.Tracks = []vrrp.TrackStatus{{Name: "eth1", Delta: -20}}
		r2, err := n.Add(c2)
		if err != nil {
			t.Fatal(err)
		}
		firstState := func(r *vrrp.Router) vrrp.Event {
			for ev := range r.Events() {
				if ev.Kind == vrrp.EventState {
					return ev
				}
			}
			panic("unreachable")
		}
		if ev := firstState(r1); ev.From != vrrp.Initialize || ev.To != vrrp.Fault {
			t.Errorf("VI_1 first went %v → %v, want INIT → FAULT", ev.From, ev.To)
		}
		if ev := firstState(r2); ev.To != vrrp.Backup || ev.Priority != 80 {
			t.Errorf("VI_2 first went to %v at priority %d, want BACKUP at 80", ev.To, ev.Priority)
		}
		r1.Track(vrrp.TrackStatus{Name: "chk", Up: true})
		waitState(t, r1, vrrp.Backup, time.Second)
		runner.stop(t)
	})
}

// Add takes copies of the Config's slices: the caller may reuse them.
func TestAddCopiesTheCallersSlices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		b := &vrrptest.Backend{}
		c := cfg("VI_1", 1, 200)
		c.Backend = b
		want := c.VIPs[0].Prefix
		r, err := vrrp.NewRouter(c, vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		if err != nil {
			t.Fatal(err)
		}
		c.VIPs[0].Prefix = netip.MustParsePrefix("10.9.9.9/32")
		got := r.Config()
		got.VIPs[0].Prefix = netip.MustParsePrefix("10.8.8.8/32")
		if p := r.Config().VIPs[0].Prefix; p != want {
			t.Errorf("Config().VIPs[0] = %v, want %v", p, want)
		}
		runner := run(r.Run)
		waitState(t, r, vrrp.Master, 5*time.Second)
		synctest.Wait()
		for _, call := range b.Recorded() {
			if call.Op == "acquire" && (len(call.Set.VIPs) != 1 || call.Set.VIPs[0].Prefix != want) {
				t.Errorf("acquired %v, want [%v]", call.Set.VIPs, want)
			}
		}
		runner.stop(t)
	})
}

// RFC 5798 §6.1: Accept_Mode false never applies to the address owner, so
// its backend is told to accept; a non-owner's is told not to.
func TestNoAcceptReachesTheBackendExceptForTheOwner(t *testing.T) {
	for _, tc := range []struct {
		prio int
		want bool
	}{{255, false}, {200, true}} {
		synctest.Test(t, func(t *testing.T) {
			b := &vrrptest.Backend{}
			c := cfg("VI_1", 51, tc.prio)
			c.Backend, c.NoAccept = b, true
			r, err := vrrp.NewRouter(c, vrrp.NodeConfig{Network: addHost(newLAN(t), "a", "10.0.0.1")})
			if err != nil {
				t.Fatal(err)
			}
			running := run(r.Run)
			waitState(t, r, vrrp.Master, 5*time.Second)
			pass(time.Millisecond)
			if err := running.stop(t); err != nil {
				t.Fatal(err)
			}
			calls := b.Recorded()
			if len(calls) == 0 {
				t.Fatal("no backend calls")
			}
			for _, call := range calls {
				if call.Set.NoAccept != tc.want {
					t.Errorf("priority %d: %s with NoAccept %v, want %v", tc.prio, call.Op, call.Set.NoAccept, tc.want)
				}
			}
		})
	}
}

// blockingAcquire is a Backend whose Acquire waits for its context to end
// and records why it ended.
type blockingAcquire struct {
	vrrptest.Backend
	causes chan error
}

func (b *blockingAcquire) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	<-ctx.Done()
	b.causes <- context.Cause(ctx)
	return ctx.Err()
}

// A master that loses its mastership while its Acquire still runs has
// that Acquire cancelled with ErrSuperseded, then releases; the
// cancellation is not a backend error.
func TestAcquireInFlightIsSupersededByTheRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		b1 := &blockingAcquire{causes: make(chan error, 1)}
		c1, c2 := cfg("VI_1", 51, 100), cfg("VI_1", 51, 200)
		c1.Backend, c2.Backend = b1, &vrrptest.Backend{}
		r1, _ := vrrp.NewRouter(c1, vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		run1 := run(r1.Run)
		waitState(t, r1, vrrp.Master, 5*time.Second)
		// A higher priority arrives while Acquire is blocked.
		r2, _ := vrrp.NewRouter(c2, vrrp.NodeConfig{Network: addHost(lan, "b", "10.0.0.2")})
		run2 := run(r2.Run)
		waitState(t, r1, vrrp.Backup, 5*time.Second)
		select {
		case cause := <-b1.causes:
			if !errors.Is(cause, vrrp.ErrSuperseded) {
				t.Errorf("Acquire's context ended with cause %v, want ErrSuperseded", cause)
			}
		case <-time.After(time.Second):
			t.Fatal("Acquire still running a second after the router left MASTER")
		}
		pass(100 * time.Millisecond)
		if calls := b1.Calls(); len(calls) == 0 || calls[len(calls)-1] != "release" {
			t.Errorf("backend calls %v, want a release after the cancelled acquire", calls)
		}
		if n := r1.Stats().BackendErrors; n != 0 {
			t.Errorf("%d backend errors, want 0: a superseded Acquire is not a failure", n)
		}
		run1.stop(t)
		run2.stop(t)
	})
}

// A master whose backend cannot acquire the addresses retries, and after
// AcquireTimeout goes to Fault — a priority-0 advert hands over to the
// backup — saying why; once its backend works again it takes part again.
func TestMasterThatCannotAcquireHandsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		b1, b2 := &vrrptest.Backend{Err: errors.New("netlink: operation not permitted")}, &vrrptest.Backend{}
		c1, c2 := cfg("VI_1", 51, 200), cfg("VI_1", 51, 100)
		c1.Backend, c2.Backend = b1, b2
		c1.AcquireTimeout = time.Second
		r1, _ := vrrp.NewRouter(c1, vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		r2, _ := vrrp.NewRouter(c2, vrrp.NodeConfig{Network: addHost(lan, "b", "10.0.0.2")})
		run1, run2 := run(r1.Run), run(r2.Run)
		master := waitState(t, r1, vrrp.Master, 5*time.Second)
		fault := waitState(t, r1, vrrp.Fault, 5*time.Second)
		if d := fault.Time.Sub(master.Time); d < time.Second || d > 3*time.Second {
			t.Errorf("Fault %v after becoming master, want just past AcquireTimeout (1s)", d)
		}
		if !strings.Contains(fault.Detail, "cannot acquire the addresses: netlink: operation not permitted") {
			t.Errorf("Fault's detail %q does not say why", fault.Detail)
		}
		if s := r1.Stats(); s.BackendErrors < 2 || s.PriorityZeroSent != 1 {
			t.Errorf("r1: %d backend errors, %d priority-0 adverts; want retries, then one handover", s.BackendErrors, s.PriorityZeroSent)
		}
		waitState(t, r2, vrrp.Master, 2*time.Second)
		pass(100 * time.Millisecond)
		if !b2.Held() || b1.Held() {
			t.Fatalf("VIPs: a=%v b=%v, want on b only", b1.Held(), b2.Held())
		}
		// The backend works again: after its Fault, r1 preempts and holds them.
		b1.SetErr(nil)
		waitState(t, r1, vrrp.Master, 10*time.Second)
		pass(100 * time.Millisecond)
		if !b1.Held() || r1.State() != vrrp.Master {
			t.Fatalf("r1 %v, VIPs held %v: want master with the VIPs", r1.State(), b1.Held())
		}
		run1.stop(t)
		run2.stop(t)
	})
}

// TestRemoveDeliversTheLastEventsFirst: when Remove returns, the removed
// router's event stream holds everything up to its stop (the master's
// MASTER -> INIT) and is then closed; a consumer that drains it after
// Remove, as vrrpd does for its notify scripts, misses nothing. Many
// routers share the Node, so that the removal's events are held while
// other routers' adverts are due.
func TestRemoveDeliversTheLastEventsFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		n, _ := vrrp.NewNode(vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		var rs []*vrrp.Router
		for vrid := 1; vrid <= 60; vrid++ {
			c := cfg("R"+strconv.Itoa(vrid), vrid, 200)
			c.Interval = 100*time.Millisecond + time.Duration(vrid%7)*10*time.Millisecond
			r, err := n.Add(c)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		runN := run(n.Run)
		for _, r := range rs {
			waitState(t, r, vrrp.Master, 5*time.Second)
		}
		for _, r := range rs[:59] {
			pass(3 * time.Millisecond)
			if err := n.Remove(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			var last vrrp.Event
			for ev := range r.Events() { // closed after Remove
				if ev.Kind == vrrp.EventState {
					last = ev
				}
			}
			if last.From != vrrp.Master || last.To != vrrp.Initialize {
				t.Errorf("%s: the last state event in its stream after Remove is %v -> %v, want MASTER -> INIT",
					r.Name(), last.From, last.To)
			}
		}
		runN.stop(t)
	})
}
