package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// world is a simulated network of hosts running real Nodes in step mode,
// all on one goroutine under a ManualClock: the scenario scripts and the
// random simulation both drive it.
type world struct {
	tb     testing.TB
	start  time.Time
	clock  *vrrptest.ManualClock
	lan    *vrrptest.LAN
	nodes  []*simNode
	byName map[string]*simNode
	lines  []string      // log lines, when logging
	level  zapcore.Level // log level; above Fatal = no logging
	// observe, when set, runs after every timer the clock fires.
	observe func()
}

// nodeSpec is how a host runs its Node (kept to restart it the same way).
type nodeSpec struct {
	name    string
	addr    netip.Addr // IPv4
	addr6   netip.Addr // IPv6 global (unicast IPv6 sources and peers), optional
	routers []routerSpec
}

type routerSpec struct {
	vrrp.Config
	unicast bool // peers: every other host in the world
}

type simNode struct {
	w        *world
	spec     nodeSpec
	host     *vrrptest.Host
	node     *vrrp.Node
	routers  []*vrrp.Router
	backends []*vrrptest.Backend
	running  bool
	crashed  bool
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
	sn := &simNode{w: w, spec: spec, host: h}
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
func (w *world) logger(node string) *zap.Logger {
	if w.level > zapcore.FatalLevel {
		return nil
	}
	return zap.New(&lineCore{w: w, node: node})
}

type lineCore struct {
	w    *world
	node string
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
	line := fmtElapsed(c.w.elapsed()) + " " + c.node + ": " + e.Message
	if e.Level != zapcore.InfoLevel {
		line += " [" + e.Level.String() + "]"
	}
	for _, f := range fields {
		if f.Key == "detail" {
			line += " (" + f.String + ")"
		}
	}
	c.w.lines = append(c.w.lines, line)
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
	}
	n, err := vrrp.NewNode(vrrp.NodeConfig{
		Clock:            w.clock,
		Network:          sn.host,
		Logger:           w.logger(sn.spec.name),
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
		}
		b := &vrrptest.Backend{}
		cfg.Backend = b
		r, err := n.Add(cfg)
		if err != nil {
			w.tb.Fatalf("start %s: %v", sn.spec.name, err)
		}
		sn.routers = append(sn.routers, r)
		sn.backends = append(sn.backends, b)
	}
	if err := n.StepStart(context.Background()); err != nil {
		w.tb.Fatal(err)
	}
	sn.running = true
}

// stop shuts the node down cleanly (priority 0, release).
func (sn *simNode) stop() {
	if !sn.running {
		return
	}
	sn.node.StepStop(true)
	sn.running = false
}

// crash kills the node and its host without a word.
func (sn *simNode) crash() {
	if sn.running {
		sn.node.StepStop(false)
		sn.running = false
	}
	sn.host.Crash()
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

// advance moves time forward by d, timer by timer.
func (w *world) advance(d time.Duration) {
	target := w.clock.Now().Add(d)
	for w.clock.StepUntil(target) {
		if w.observe != nil {
			w.observe()
		}
	}
	w.clock.AdvanceTo(target)
	if w.observe != nil {
		w.observe()
	}
}

// masters lists the running nodes whose router vrid is master.
func (w *world) masters(vrid uint8) []*simNode {
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
func defaultRouter(vrid uint8) routerSpec {
	return routerSpec{Config: vrrp.Config{
		Name:      fmt.Sprintf("VI_%d", vrid),
		VRID:      vrid,
		Interface: "eth0",
		VIPs:      []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, vrid, 100}), 24)}},
	}}
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
