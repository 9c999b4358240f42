package vrrp_test

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// world is a simulated network of hosts, each running a Node as a program
// would — Run on a goroutine of its own, with its transport waiters, link
// watchers and backend workers — on vrrptest's LAN under a ManualClock,
// inside a testing/synctest bubble: the clock moves one instant at a time
// (StepInstant), and every goroutine is done with an instant before the
// next (synctest.Wait). The scenario scripts and the random simulation
// both drive it. Only the outermost I/O is replaced: sockets by the LAN,
// time by the clock, address changes by vrrptest.Backend.
type world struct {
	tb     testing.TB
	start  time.Time
	clock  *vrrptest.ManualClock
	lan    *vrrptest.LAN
	nodes  []*simNode
	byName map[string]*simNode
	level  zapcore.Level // log level; above Fatal = no logging
	// observe, when set, runs after every instant the clock fires.
	observe func()

	mu    sync.Mutex // the Nodes' loops log concurrently
	lines []logLine
}

// logLine is one line a node logged, ordered by time and node (the nodes'
// loops run concurrently), and by when it was written within a node.
type logLine struct {
	at   time.Duration
	node int
	seq  int
	text string
}

// takeLines returns the lines logged since the last call, in order.
func (w *world) takeLines() []string {
	w.mu.Lock()
	lines := w.lines
	w.lines = nil
	w.mu.Unlock()
	slices.SortStableFunc(lines, func(a, b logLine) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if c := cmp.Compare(a.node, b.node); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	return out
}

// nodeSpec is how a host runs its Node (kept to restart it the same way).
type nodeSpec struct {
	name    string
	addr    netip.Addr // IPv4
	addr6   netip.Addr // IPv6 global (unicast IPv6 sources and peers), optional
	routers []routerSpec
	// backendLatency is how long each of its Backend calls takes.
	backendLatency time.Duration
}

type routerSpec struct {
	vrrp.Config
	unicast bool // peers: every other host in the world
	// peerTTL bounds the TTL of unicast adverts from every peer.
	peerTTL *vrrp.PeerHopLimit
	noVIPs  bool // no addresses (keepalived's no_virtual_ipaddress)
}

type simNode struct {
	w        *world
	index    int
	spec     nodeSpec
	host     *vrrptest.Host
	node     *vrrp.Node
	cancel   context.CancelFunc
	done     chan error // Run's result
	routers  []*vrrp.Router
	backends []*vrrptest.Backend
	running  bool
	crashed  bool
	// muted: the node crashed; what its goroutines log while they wind
	// down is not the world's business.
	muted atomic.Bool
	seq   int // lines logged, under w.mu
}

var simStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newWorld(tb testing.TB, seed uint64, level zapcore.Level) *world {
	clock := vrrptest.NewManualClock(simStart)
	return &world{
		tb:    tb,
		start: simStart,
		clock: clock,
		lan: vrrptest.NewLAN(vrrptest.LANConfig{Seed: seed, Clock: clock,
			Link: vrrptest.LinkConfig{Delay: 500 * time.Microsecond, Jitter: 500 * time.Microsecond}}),
		byName: make(map[string]*simNode),
		level:  level,
	}
}

func (w *world) elapsed() time.Duration { return w.clock.Now().Sub(w.start) }

func fmtElapsed(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

// addNode defines a host; start runs it.
func (w *world) addNode(spec nodeSpec) *simNode {
	if w.byName[spec.name] != nil {
		w.tb.Fatalf("node %s defined twice", spec.name)
	}
	addrs := []netip.Addr{spec.addr}
	if spec.addr6.IsValid() {
		addrs = append(addrs, spec.addr6)
	}
	h := w.lan.AddHost(vrrptest.HostConfig{Name: spec.name, Addrs: addrs})
	sn := &simNode{w: w, index: len(w.nodes), spec: spec, host: h}
	w.nodes = append(w.nodes, sn)
	w.byName[spec.name] = sn
	return sn
}

func (w *world) node(name string) *simNode {
	sn := w.byName[name]
	if sn == nil {
		w.tb.Fatalf("no node %q", name)
	}
	return sn
}

// logger returns a logger that writes "<time> <node>: <message>" lines.
func (w *world) logger(sn *simNode) *zap.Logger {
	if w.level > zapcore.FatalLevel {
		return nil
	}
	return zap.New(&lineCore{w: w, sn: sn})
}

type lineCore struct {
	w  *world
	sn *simNode
}

func (c *lineCore) Enabled(l zapcore.Level) bool      { return l >= c.w.level }
func (c *lineCore) With([]zapcore.Field) zapcore.Core { return c }
func (c *lineCore) Sync() error                       { return nil }
func (c *lineCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}
func (c *lineCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if c.sn.muted.Load() {
		return nil
	}
	at := c.w.elapsed()
	line := fmtElapsed(at) + " " + c.sn.spec.name + ": " + e.Message
	if e.Level != zapcore.InfoLevel {
		line += " [" + e.Level.String() + "]"
	}
	for _, f := range fields {
		if f.Key == "detail" {
			line += " (" + f.String + ")"
		}
	}
	c.w.mu.Lock()
	c.sn.seq++
	c.w.lines = append(c.w.lines, logLine{at: at, node: c.sn.index, seq: c.sn.seq, text: line})
	c.w.mu.Unlock()
	return nil
}

// start runs a node that is not running (a crashed host comes back).
func (sn *simNode) start() {
	w := sn.w
	if sn.running {
		w.tb.Fatalf("start %s: already running", sn.spec.name)
	}
	if sn.crashed {
		sn.host.Restart()
		sn.crashed = false
		sn.muted.Store(false)
	}
	n, err := vrrp.NewNode(vrrp.NodeConfig{
		Clock:            w.clock,
		Network:          sn.host,
		Logger:           w.logger(sn),
		ReopenBackoff:    100 * time.Millisecond,
		MaxReopenBackoff: 400 * time.Millisecond,
	})
	if err != nil {
		w.tb.Fatal(err)
	}
	sn.node = n
	sn.routers = sn.routers[:0]
	sn.backends = sn.backends[:0]
	for _, rs := range sn.spec.routers {
		cfg := rs.Config
		if rs.unicast {
			cfg.Peers = nil
			for _, o := range w.nodes {
				switch {
				case o == sn:
				case cfg.IPv6:
					cfg.Peers = append(cfg.Peers, o.spec.addr6)
				default:
					cfg.Peers = append(cfg.Peers, o.spec.addr)
				}
			}
			if cfg.IPv6 {
				cfg.UnicastSrc = sn.spec.addr6
			}
			if rs.peerTTL != nil {
				for _, p := range cfg.Peers {
					cfg.PeerHopLimits = append(cfg.PeerHopLimits, vrrp.PeerHopLimit{Peer: p, Min: rs.peerTTL.Min, Max: rs.peerTTL.Max})
				}
			}
		}
		b := &vrrptest.Backend{Latency: sn.spec.backendLatency, Clock: w.clock}
		cfg.Backend = b
		r, err := n.Add(cfg)
		if err != nil {
			w.tb.Fatalf("start %s: %v", sn.spec.name, err)
		}
		sn.routers = append(sn.routers, r)
		sn.backends = append(sn.backends, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sn.cancel, sn.done = cancel, make(chan error, 1)
	go func() { sn.done <- n.Run(ctx) }()
	synctest.Wait()
	sn.running = true
}

// stop shuts the node down cleanly (priority 0, release) and waits for Run
// to return.
func (sn *simNode) stop() {
	if !sn.running {
		return
	}
	sn.cancel()
	sn.wait()
	sn.running = false
}

// wait waits for Run to return, letting time pass while its backend
// releases the addresses (a slow backend takes its Latency).
func (sn *simNode) wait() {
	w := sn.w
	limit := w.clock.Now().Add(11 * time.Second) // beyond the Node's ShutdownTimeout
	for {
		synctest.Wait()
		select {
		case err := <-sn.done:
			if err != nil {
				w.tb.Fatalf("%s: Run: %v", sn.spec.name, err)
			}
			return
		default:
		}
		if !w.clock.StepInstant(limit) {
			w.tb.Fatalf("%s: Run did not return", sn.spec.name)
		}
		synctest.Wait()
		if w.observe != nil {
			w.observe()
		}
	}
}

// crash kills the node and its host without a word: the host vanishes
// from the LAN first, so that nothing its Node does while it winds down
// reaches anyone.
func (sn *simNode) crash() {
	sn.muted.Store(true)
	sn.host.Crash()
	if sn.running {
		sn.cancel()
		sn.wait()
		sn.running = false
	}
	sn.crashed = true
}

func (sn *simNode) router(name string) *vrrp.Router {
	if name == "" && len(sn.routers) > 0 {
		return sn.routers[0]
	}
	for _, r := range sn.routers {
		if r.Name() == name {
			return r
		}
	}
	sn.w.tb.Fatalf("%s has no router %q", sn.spec.name, name)
	return nil
}

// advance moves time forward by d, instant by instant, letting every
// goroutine finish with one instant before the next.
func (w *world) advance(d time.Duration) {
	target := w.clock.Now().Add(d)
	synctest.Wait()
	for w.clock.StepInstant(target) {
		synctest.Wait()
		if w.observe != nil {
			w.observe()
		}
	}
	w.clock.AdvanceTo(target)
	synctest.Wait()
	if w.observe != nil {
		w.observe()
	}
}

// settled lets the Nodes finish what the test just asked of them (a
// command, a link change) at the current instant.
func (w *world) settled() { synctest.Wait() }

// masters lists the running nodes whose router vrid is master.
func (w *world) masters(vrid int) []*simNode {
	var out []*simNode
	for _, sn := range w.nodes {
		if !sn.running {
			continue
		}
		for _, r := range sn.routers {
			if r.Config().VRID == vrid && r.State() == vrrp.Master {
				out = append(out, sn)
			}
		}
	}
	return out
}

// stateTable renders every node's routers: state, priority, master.
func (w *world) stateTable() string {
	var b strings.Builder
	for _, sn := range w.nodes {
		if !sn.running {
			status := "stopped"
			if sn.crashed {
				status = "crashed"
			}
			fmt.Fprintf(&b, "%s: %s\n", sn.spec.name, status)
			continue
		}
		for i, r := range sn.routers {
			held := ""
			if sn.backends[i].Held() {
				held = " vips"
			}
			master := "?"
			if m := r.Master(); m.IsValid() {
				master = m.String()
			}
			fmt.Fprintf(&b, "%s: %s %s prio=%d master=%s%s\n", sn.spec.name, r.Name(), r.State(), r.Priority(), master, held)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// defaultRouter is the router every node runs unless told otherwise.
func defaultRouter(vrid int) routerSpec {
	return routerSpec{Config: vrrp.Config{
		Name:      fmt.Sprintf("VI_%d", vrid),
		VRID:      vrid,
		Interface: "eth0",
		VIPs:      []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(vrid), 100}), 24)}},
	}}
}

// stopAll stops every running node, so that the bubble ends with no
// goroutine left.
func (w *world) stopAll() {
	for _, sn := range w.nodes {
		if sn.running {
			sn.muted.Store(true)
			sn.stop()
		}
	}
}

// statsLine renders a router's counters.
func statsLine(r *vrrp.Router) string {
	s := r.Stats()
	var drops []string
	for i, d := range s.Drops {
		if d > 0 {
			drops = append(drops, fmt.Sprintf("%v=%d", vrrp.DropReason(i), d))
		}
	}
	sort.Strings(drops)
	return fmt.Sprintf("%s: sent=%d received=%d prio0-sent=%d prio0-received=%d became-master=%d drops=[%s]",
		r.Name(), s.AdvertsSent, s.AdvertsReceived, s.PriorityZeroSent, s.PriorityZeroReceived, s.BecameMaster,
		strings.Join(drops, " "))
}
