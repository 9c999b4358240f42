package vrrp_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

var (
	simN       = flag.Int("sim.n", defaultScenarios(), "random scenarios TestSimulation runs (whatever -short says)")
	simBase    = flag.Uint64("sim.base", 1, "first scenario seed of TestSimulation")
	simSeed    = flag.Uint64("sim.seed", 0, "run only the scenario with this seed, with its trace")
	simVerbose = flag.Bool("sim.v", false, "with -sim.seed: print the trace even if it passes")
)

// defaultScenarios is 10,000, or 1,000 under the race detector, which makes
// each about ten times slower (CI runs the suite with and without it).
func defaultScenarios() int {
	if raceEnabled {
		return 1000
	}
	return 10000
}

// TestSimulation runs seeded random scenarios — 2 to 5 routers, VRRPv2
// and v3, IPv4 and IPv6, multicast and unicast, PASS, AH and auth_hmac, with crashes,
// restarts, clean stops, partitions, loss up to 30 % per packet,
// duplication and reordering, link flaps, socket errors, priority changes,
// tracked faults, resigns, nopreempt and preempt delays — over real Nodes on
// the in-memory LAN, and checks after every period of a whole, lossless
// network:
//
//   - exactly one master among the running routers, none in Fault;
//   - the one the RFC picks: no running backup that would preempt (preempt
//     on, not resigned) has a higher priority than the master;
//   - the master holds the VIPs and no other running router does; routers
//     stopped cleanly released them;
//   - no two masters for longer than one Master_Down_Interval once the
//     network is whole, and no transition at all in the last intervals;
//   - a graceful leave (stop or resign of the master) hands over within the
//     best backup's Skew_Time plus one interval.
//
// A failure prints the command that replays the scenario with its trace.
func TestSimulation(t *testing.T) {
	if *simSeed != 0 {
		var fail, trace string
		synctest.Test(t, func(*testing.T) { fail, trace = runScenario(*simSeed, true) })
		if fail != "" || *simVerbose {
			t.Log("trace:\n" + trace)
		}
		if fail != "" {
			t.Fatalf("seed %d: %s", *simSeed, fail)
		}
		return
	}
	var (
		next   atomic.Uint64
		failed atomic.Int32
		wg     sync.WaitGroup
		mu     sync.Mutex
	)
	next.Store(*simBase)
	end := *simBase + uint64(*simN)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				seed := next.Add(1) - 1
				if seed >= end || failed.Load() >= 3 {
					return
				}
				var fail string
				synctest.Test(t, func(*testing.T) { fail, _ = runScenario(seed, false) })
				if fail != "" {
					failed.Add(1)
					mu.Lock()
					t.Errorf("seed %d: %s\nreplay: go test ./vrrp -run 'TestSimulation$' -sim.seed=%d", seed, fail, seed)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
}

// scenario is one random run.
type scenario struct {
	rng      *rand.Rand
	w        *world
	vrid     int
	version  int
	ipv6     bool
	interval time.Duration // the base interval
	// maxInterval: the largest configured (v3 routers may differ).
	maxInterval time.Duration
	delayMax    time.Duration // largest preempt delay configured
	log         []string      // actions, with times
	err         error
	tracked     map[*simNode]bool // a tracker fault is on
	tracing     bool              // keep the trace
	// resigned: Resign was called while the router was master, and it has
	// not been master since: it must not preempt.
	resigned map[*simNode]bool
	// cleanResign: resigned on a whole network with backups listening: it
	// must still be a backup after the next settle.
	cleanResign *simNode
	sync        bool // every node runs VRIDs 1 and 2 in a sync group
	// base is how many routers per node the state checks follow (1, or 2
	// in a sync group); crowd more, VRIDs 10 on, configured like VRID 1,
	// make a node's timers run out together, as a takeover of many
	// routers does: they are checked after each settle on their own.
	base, crowd int
	// Settling: dual-master measurement and change detection.
	settling                bool
	lastChange, longestDual time.Duration
	dualSince               time.Duration
	prevStates              [5][2]vrrp.State
	prevMasters             []int // indexes in s.w.nodes
	// socketErrors: a transport failed since the last settle.
	socketErrors bool
}

var errInvariant = errors.New("invariant")

// runScenario runs the scenario for seed and returns a failure ("" if
// none) and, when trace is set, the trace (actions and log lines).
func runScenario(seed uint64, trace bool) (string, string) {
	level := zapcore.Level(zapcore.FatalLevel + 1)
	if trace {
		level = zapcore.InfoLevel
	}
	s := &scenario{
		rng:      rand.New(rand.NewPCG(seed, 0x5eed)),
		w:        newWorld(nopTB{}, seed, level),
		vrid:     1,
		tracked:  make(map[*simNode]bool),
		resigned: make(map[*simNode]bool),
		tracing:  trace,
	}
	s.w.observe = s.observe
	s.setup()
	s.run()
	out := ""
	if trace {
		out = s.trace()
	}
	s.w.stopAll()
	if s.err != nil {
		return s.err.Error(), out
	}
	return "", out
}

func (s *scenario) trace() string {
	// Interleave actions and log lines by their time prefix.
	all := append(slices.Clone(s.log), s.w.takeLines()...)
	slices.SortStableFunc(all, func(a, b string) int {
		ta, _, _ := strings.Cut(a, "s ")
		tb, _, _ := strings.Cut(b, "s ")
		var fa, fb float64
		fmt.Sscan(ta, &fa)
		fmt.Sscan(tb, &fb)
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	})
	return strings.Join(all, "\n")
}

func (s *scenario) note(format string, args ...any) {
	if !s.tracing {
		return
	}
	s.log = append(s.log, fmtElapsed(s.w.elapsed())+" ** "+fmt.Sprintf(format, args...))
}

func (s *scenario) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("%s: %w: %s", fmtElapsed(s.w.elapsed()), errInvariant, fmt.Sprintf(format, args...))
		s.note("FAILED: %s", fmt.Sprintf(format, args...))
	}
}

func (s *scenario) chance(p float64) bool { return s.rng.Float64() < p }

func (s *scenario) setup() {
	r := s.rng
	n := 2 + r.IntN(4)
	s.version = 2 + r.IntN(2)
	s.interval = time.Second
	if s.version == 3 {
		s.interval = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, time.Second, 2 * time.Second}[r.IntN(4)]
		s.ipv6 = s.chance(0.3)
	}
	unicast := s.chance(0.3)
	var authType advert.AuthType
	if s.version == 2 {
		authType = []advert.AuthType{advert.AuthNone, advert.AuthNone, advert.AuthPass, advert.AuthAH}[r.IntN(4)]
	}
	// keepalived 2.4's auth_hmac, v2 and v3, where no VRRPv2
	// authentication is: every advert signed and verified.
	var hmac *auth.HMACConfig
	if authType == advert.AuthNone && s.chance(0.3) {
		hmac = &auth.HMACConfig{Keys: []auth.Key{scriptKey("sim", 1)}, ActiveKey: 1}
	}
	owner := -1
	if s.chance(0.15) {
		owner = r.IntN(n)
	}
	withDelay := s.chance(0.15)
	// VRRPv3 routers may be configured with different intervals: backups
	// learn the master's (RFC 5798 §6.4.2).
	mixed := s.version == 3 && s.chance(0.3)
	s.maxInterval = s.interval
	if mixed {
		s.maxInterval = 2 * s.interval
	}
	// Sync groups: every node runs VRIDs 1 and 2 in one group
	// (keepalived's vrrp_sync_group), with equal priorities, so that the
	// group's choice is the RFC's for each VRID.
	s.sync = s.chance(0.2)
	s.base = 1
	if s.sync {
		s.base = 2
	}
	if s.chance(0.08) {
		s.crowd = 8 + r.IntN(17)
	}
	s.note("%d routers, v%d, interval %v (mixed=%v), ipv6=%v unicast=%v auth=%d hmac=%v sync=%v crowd=%d", n, s.version, s.interval, mixed, s.ipv6, unicast, authType, hmac != nil, s.sync, s.crowd)
	for i := range n {
		rs := defaultRouter(s.vrid)
		rs.Version = s.version
		rs.Interval = s.interval
		if mixed && s.chance(0.5) {
			rs.Interval = 2 * s.interval
		}
		rs.IPv6 = s.ipv6
		if s.ipv6 {
			rs.VIPs = []vrrp.VIP{{Prefix: netip.MustParsePrefix("fd00::100/64")}}
		}
		rs.unicast = unicast
		rs.AcceptAnySource = unicast && s.chance(0.5)
		rs.AuthType = authType
		if authType != advert.AuthNone {
			rs.AuthPass = auth.MustPassword("k3y")
		}
		rs.HMAC = hmac
		rs.Priority = 1 + r.IntN(254)
		if s.chance(0.3) {
			rs.Priority = 100 // collisions: tie-breaks
		}
		if i == owner {
			rs.Priority = vrrp.OwnerPriority
		} else {
			rs.NoPreempt = s.chance(0.25)
			if withDelay && !rs.NoPreempt {
				rs.PreemptDelay = time.Duration(1+r.IntN(4)) * s.interval
				s.delayMax = max(s.delayMax, rs.PreemptDelay)
			}
			rs.StartAsMaster = s.chance(0.1)
		}
		name := fmt.Sprintf("n%d", i+1)
		spec := nodeSpec{name: name, addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}),
			addr6: netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(i + 1)}), routers: []routerSpec{rs}}
		if s.chance(0.5) {
			// Address changes take time (netlink, announcements; a cloud
			// API far more): the adverts must not wait for them.
			spec.backendLatency = time.Duration(1+r.IntN(30)) * time.Millisecond
		}
		if s.sync {
			rs2 := rs
			d := defaultRouter(2)
			rs2.Name, rs2.VRID, rs2.VIPs = d.Name, d.VRID, d.VIPs
			if s.ipv6 {
				rs2.VIPs = []vrrp.VIP{{Prefix: netip.MustParsePrefix("fd00::2:100/64")}}
			}
			rs.SyncGroup, rs2.SyncGroup = "G", "G"
			spec.routers = []routerSpec{rs, rs2}
		}
		for j := range s.crowd {
			extra := rs
			d := defaultRouter(10 + j)
			extra.Name, extra.VRID, extra.VIPs, extra.SyncGroup = d.Name, d.VRID, d.VIPs, ""
			if rs.Priority != vrrp.OwnerPriority {
				// Skew_Time apart: their timers run out one after another.
				extra.Priority = max(1, rs.Priority-j)
			}
			if s.ipv6 {
				extra.VIPs = []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 13: byte(10 + j), 15: 0x64}), 64)}}
			}
			spec.routers = append(spec.routers, extra)
		}
		s.w.addNode(spec)
		s.note("%s prio=%d interval=%v nopreempt=%v delay=%v startmaster=%v backend=%v", name, rs.Priority, rs.Interval, rs.NoPreempt, rs.PreemptDelay, rs.StartAsMaster, spec.backendLatency)
	}
	s.cleanLinks()
}

// margin is what the LAN's latency may add to a takeover: the packet's
// trip (≤ 1 ms), and with a sync group the wait for the member whose
// packet arrived last (≤ 1 ms more).
func (s *scenario) margin() time.Duration {
	if s.sync {
		return 3 * time.Millisecond
	}
	return 2 * time.Millisecond
}

// mdi is the longest Master_Down_Interval in the group.
func (s *scenario) mdi() time.Duration { return vrrp.MasterDownInterval(s.version, 1, s.maxInterval) }

func (s *scenario) cleanLinks() {
	s.w.lan.SetAllLinks(vrrptest.LinkConfig{Delay: 200 * time.Microsecond, Jitter: 300 * time.Microsecond})
}

func (s *scenario) run() {
	// Start everyone, at random moments within one interval.
	for _, sn := range s.w.nodes {
		s.w.advance(time.Duration(s.rng.Int64N(int64(s.interval))))
		s.note("start %s", sn.spec.name)
		sn.start()
	}
	s.settle()
	epochs := 2 + s.rng.IntN(2)
	for range epochs {
		if s.err != nil {
			return
		}
		if s.chance(0.35) {
			s.cleanAction()
		} else {
			s.chaos()
		}
		s.settle()
	}
}

// chaos applies 1..4 random disruptions at random moments over up to 2
// Master_Down_Intervals.
func (s *scenario) chaos() {
	span := time.Duration(s.rng.Int64N(int64(2 * s.mdi())))
	times := make([]time.Duration, 1+s.rng.IntN(4))
	for i := range times {
		times[i] = time.Duration(s.rng.Int64N(int64(span) + 1))
	}
	slices.Sort(times)
	var at time.Duration
	for _, t := range times {
		s.w.advance(t - at)
		at = t
		s.disrupt()
	}
	s.w.advance(span - at)
}

func (s *scenario) pick(f func(*simNode) bool) *simNode {
	var c []*simNode
	for _, sn := range s.w.nodes {
		if f(sn) {
			c = append(c, sn)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[s.rng.IntN(len(c))]
}

func isUp(sn *simNode) bool { return sn.running }

func (s *scenario) disrupt() {
	r := s.rng
	switch r.IntN(13) {
	case 12:
		// A restart: crashed and back at once (a host rebooting fast, a
		// daemon restarted by its supervisor).
		if sn := s.pick(isUp); sn != nil {
			s.note("restart %s", sn.spec.name)
			sn.crash()
			sn.start()
			delete(s.tracked, sn)
			delete(s.resigned, sn)
		}
	case 0:
		if sn := s.pick(isUp); sn != nil {
			s.note("crash %s", sn.spec.name)
			sn.crash()
		}
	case 1:
		if sn := s.pick(func(sn *simNode) bool { return !sn.running }); sn != nil {
			s.note("start %s", sn.spec.name)
			sn.start()
			delete(s.tracked, sn)
			delete(s.resigned, sn)
		}
	case 2:
		if sn := s.pick(isUp); sn != nil {
			s.note("stop %s", sn.spec.name)
			sn.stop()
		}
	case 3:
		var a, b []string
		for _, sn := range s.w.nodes {
			if s.chance(0.5) {
				a = append(a, sn.spec.name)
			} else {
				b = append(b, sn.spec.name)
			}
		}
		s.note("partition %v | %v", a, b)
		s.w.lan.Partition(a, b)
	case 4:
		s.note("heal")
		s.w.lan.Heal()
	case 5:
		for _, sn := range s.w.nodes {
			// Up to 16 % per link: about 30 % per packet.
			c := vrrptest.LinkConfig{Delay: 200 * time.Microsecond, Jitter: time.Duration(r.Int64N(int64(2 * time.Millisecond))),
				Loss: r.Float64() * 0.16, Duplicate: r.Float64() * 0.05, Reorder: r.Float64() * 0.1}
			s.w.lan.SetLink(sn.spec.name, c)
		}
		s.note("loss, duplication, reordering on")
	case 6:
		if sn := s.pick(isUp); sn != nil {
			if sn.routers[0].Config().Priority != vrrp.OwnerPriority {
				p := 1 + r.IntN(254)
				s.note("prio %s %d", sn.spec.name, p)
				for _, rt := range sn.routers {
					rt.SetPriority(p)
				}
			}
		}
	case 7:
		if m := s.w.masters(s.vrid); len(m) > 0 {
			sn := m[r.IntN(len(m))]
			s.note("resign %s", sn.spec.name)
			sn.routers[0].Resign()
			s.resigned[sn] = true
		}
	case 8:
		if sn := s.pick(isUp); sn != nil {
			up := s.chance(0.3)
			s.note("link %s up=%v", sn.spec.name, up)
			sn.host.SetLinkUp(up)
		}
	case 9:
		if sn := s.pick(isUp); sn != nil {
			fault := !s.tracked[sn]
			s.tracked[sn] = fault
			s.note("track %s fault=%v", sn.spec.name, fault)
			if !fault {
				for _, rt := range sn.routers {
					rt.Track(vrrp.TrackStatus{Name: "chk", Up: true})
				}
				return
			}
			k := r.IntN(len(sn.routers))
			sn.routers[k].Track(vrrp.TrackStatus{Name: "chk", Up: !fault, Fault: fault})
		}
	case 10:
		if sn := s.pick(isUp); sn != nil {
			s.note("socket error on %s", sn.spec.name)
			s.socketErrors = true
			sn.host.FailReceive(errors.New("simulated socket error"))
		}
	case 11:
		if sn := s.pick(isUp); sn != nil {
			d := r.IntN(61) - 30
			s.note("track %s delta=%d", sn.spec.name, d)
			for _, rt := range sn.routers {
				rt.Track(vrrp.TrackStatus{Name: "weight", Up: d >= 0, Delta: d})
			}
		}
	}
}

// cleanAction, on a converged, whole network: stop or resign the master
// (checking the handover time), or change a priority.
func (s *scenario) cleanAction() {
	masters := s.w.masters(s.vrid)
	if len(masters) != 1 {
		return
	}
	m := masters[0]
	switch s.rng.IntN(5) {
	case 3:
		// A crash: the best backup takes over Master_Down_Interval, computed
		// with the master's interval (RFC 5798 §6.4.2: learned by v3
		// backups), after the last advert.
		var best int
		backups := 0
		for _, sn := range s.w.nodes {
			if sn.running && sn != m {
				backups++
				best = max(best, sn.routers[0].Priority())
			}
		}
		s.note("crash %s (clean)", m.spec.name)
		m.crash()
		if backups == 0 {
			return
		}
		im := m.routers[0].Config().Interval
		bound := vrrp.MasterDownInterval(s.version, best, im) + s.margin()
		s.awaitNewMaster(m, bound, fmt.Sprintf("crash of %s: no new master within %%v (Master_Down_Interval(%d))", m.spec.name, best))
	case 4:
		// An owner (priority 255) that restarts is master at once (RFC 5798 §6.4.1).
		o := s.pick(func(sn *simNode) bool { return sn.running && sn.spec.routers[0].Priority == vrrp.OwnerPriority })
		if o == nil {
			return
		}
		s.note("restart owner %s (clean)", o.spec.name)
		o.stop()
		o.start()
		delete(s.resigned, o)
		for _, rt := range o.routers {
			if st := rt.State(); st != vrrp.Master {
				s.fail("owner %s restarted with %s in %v, not MASTER", o.spec.name, rt.Name(), st)
			}
		}
	case 0, 1:
		// Backups that will answer the priority 0.
		var best int
		backups := 0
		for _, sn := range s.w.nodes {
			if sn.running && sn != m {
				backups++
				best = max(best, sn.routers[0].Priority())
			}
		}
		resign := s.rng.IntN(2) == 0
		if resign {
			s.note("resign %s (clean)", m.spec.name)
			m.routers[0].Resign()
			s.resigned[m] = true
			if backups > 0 {
				s.cleanResign = m
			}
		} else {
			s.note("stop %s (clean)", m.spec.name)
			m.stop()
		}
		if backups == 0 {
			return
		}
		// RFC 5798 §6.4.2: a backup hearing priority 0 waits Skew_Time.
		// The backups learned the master's interval (v3). The issue asks
		// for Skew_Time + one interval; the LAN's latency (≤ 1 ms) is all
		// the margin needed.
		im := m.routers[0].Config().Interval
		bound := vrrp.SkewTime(s.version, best, im) + s.margin()
		s.awaitNewMaster(m, bound, fmt.Sprintf("graceful leave of %s: no new master within %%v (Skew_Time(%d) + 2ms)", m.spec.name, best))
	case 2:
		sn := s.pick(isUp)
		if rt := sn.routers[0]; rt.Config().Priority != vrrp.OwnerPriority {
			p := 1 + s.rng.IntN(254)
			s.note("prio %s %d (clean)", sn.spec.name, p)
			for _, rt := range sn.routers {
				rt.SetPriority(p)
			}
		}
	}
}

// awaitNewMaster advances until a router other than old is master, failing
// if that takes longer than bound.
func (s *scenario) awaitNewMaster(old *simNode, bound time.Duration, why string) {
	deadline := s.w.elapsed() + bound
	for {
		for _, ms := range s.w.masters(s.vrid) {
			if ms != old {
				return
			}
		}
		left := deadline - s.w.elapsed()
		if left <= 0 {
			s.fail(why, bound)
			return
		}
		s.w.advance(min(left, s.interval/100))
	}
}

// settle makes the network whole and lossless, lets it converge, and
// checks the invariants.
func (s *scenario) settle() {
	if s.err != nil {
		return
	}
	s.w.lan.Heal()
	s.cleanLinks()
	for _, sn := range s.w.nodes {
		if sn.running {
			sn.host.SetLinkUp(true)
			if s.tracked[sn] {
				s.tracked[sn] = false
				for _, rt := range sn.routers {
					rt.Track(vrrp.TrackStatus{Name: "chk", Up: true})
				}
			}
		}
	}
	s.note("settle")
	s.settling = true
	s.lastChange, s.longestDual, s.dualSince = 0, 0, -1
	s.prevStates = s.snapshot()
	s.prevMasters = s.prevMasters[:0]
	// Convergence may need: a reopen after a socket error, a
	// Master_Down_Interval for someone to become master, a preempt delay
	// and another Master_Down_Interval for the rightful one to preempt.
	period := 2*s.mdi() + s.delayMax + 3*s.maxInterval
	if s.socketErrors {
		period += 500 * time.Millisecond // the reopen backoff
		s.socketErrors = false
	}
	s.w.advance(period)
	s.settling = false
	s.check(s.longestDual, s.lastChange)
	if c := s.cleanResign; c != nil && s.err == nil {
		s.cleanResign = nil
		if c.running && c.routers[0].State() == vrrp.Master {
			s.fail("%s resigned with backups listening, and is master again", c.spec.name)
		}
	}
}

// observe runs after every timer: it notes routers that became master
// (they are no longer resigned) and, while settling, measures dual
// masters and checks how they resolve.
func (s *scenario) observe() {
	// One read of every router's state per timer: this runs often.
	var states [5][2]vrrp.State
	var masters [2]int
	for i, sn := range s.w.nodes {
		if !sn.running {
			continue
		}
		for k, r := range sn.routers[:s.base] {
			states[i][k] = r.State()
			if states[i][k] == vrrp.Master {
				masters[k]++
				delete(s.resigned, sn)
			}
		}
	}
	if !s.settling {
		return
	}
	now := s.w.elapsed()
	if masters[0] > 1 || masters[1] > 1 {
		if s.dualSince < 0 {
			s.dualSince = now
		}
		s.longestDual = max(s.longestDual, now-s.dualSince)
	} else {
		s.dualSince = -1
	}
	if states != s.prevStates {
		s.lastChange = now
	}
	// RFC 5798 §6.4.3: when masters meet, the highest priority wins, and
	// on equal priority the highest primary address (checked on VRID 1).
	if masters[0] == 1 && len(s.prevMasters) > 1 {
		var survivor *simNode
		clean := true
		for _, i := range s.prevMasters {
			sn := s.w.nodes[i]
			switch st := states[i][0]; {
			case !sn.running:
				clean = false
			case st == vrrp.Master:
				survivor = sn
			case st != vrrp.Backup:
				clean = false
			}
		}
		if clean && survivor != nil {
			for _, i := range s.prevMasters {
				if sn := s.w.nodes[i]; sn != survivor && beats(sn, survivor) {
					s.fail("masters %s met; %s survived, but %s has the higher (priority, address)",
						s.names(s.prevMasters), survivor.spec.name, sn.spec.name)
				}
			}
		}
	}
	if states != s.prevStates || masters[0] > 1 || len(s.prevMasters) > 1 {
		s.prevMasters = s.prevMasters[:0]
		for i := range s.w.nodes {
			if states[i][0] == vrrp.Master && s.w.nodes[i].running {
				s.prevMasters = append(s.prevMasters, i)
			}
		}
	}
	s.prevStates = states
}

// beats: a outranks b by (priority, primary address).
func beats(a, b *simNode) bool {
	pa, pb := a.routers[0].Priority(), b.routers[0].Priority()
	if pa != pb {
		return pa > pb
	}
	return a.primary().Compare(b.primary()) > 0
}

// primary is the address the router's adverts come from.
func (sn *simNode) primary() netip.Addr {
	cfg := sn.routers[0].Config()
	if cfg.UnicastSrc.IsValid() {
		return cfg.UnicastSrc
	}
	return sn.host.Addr(cfg.IPv6)
}

func (s *scenario) names(idx []int) string {
	var out []string
	for _, i := range idx {
		out = append(out, s.w.nodes[i].spec.name)
	}
	return strings.Join(out, ",")
}

// snapshot is every router's state, for change detection (at most 5
// nodes of 2 routers; a stopped one counts as Initialize).
func (s *scenario) snapshot() (out [5][2]vrrp.State) {
	for i, sn := range s.w.nodes {
		if sn.running {
			for k, r := range sn.routers[:s.base] {
				out[i][k] = r.State()
			}
		}
	}
	return out
}

func (s *scenario) check(longestDual, lastChange time.Duration) {
	now := s.w.elapsed()
	// Each VRID (1, or 1 and 2 in sync mode) on its own.
	var masters [2]*simNode
	live := 0
	for _, sn := range s.w.nodes {
		if !sn.running {
			for k, b := range sn.backends {
				if !sn.crashed && b.Held() {
					s.fail("%s stopped cleanly but still holds the VIPs of %s", sn.spec.name, sn.routers[k].Name())
				}
			}
			continue
		}
		live++
		for k, r := range sn.routers[:s.base] {
			switch st := r.State(); st {
			case vrrp.Master:
				if masters[k] != nil {
					s.fail("two masters of %s after settling: %s and %s", r.Name(), masters[k].spec.name, sn.spec.name)
					return
				}
				masters[k] = sn
			case vrrp.Backup:
			default:
				s.fail("%s %s in %v after settling", sn.spec.name, r.Name(), st)
				return
			}
			if held := sn.backends[k].Held(); held != (r.State() == vrrp.Master) {
				s.fail("%s %s is %v but holds VIPs=%v", sn.spec.name, r.Name(), r.State(), held)
			}
		}
	}
	if live == 0 {
		return
	}
	master := masters[0]
	if master == nil {
		s.fail("no master among %d running routers", live)
		return
	}
	// keepalived's vrrp_sync_group: the members change state together.
	if s.sync && masters[1] != master {
		s.fail("sync group split: VI_1 master on %s, VI_2 master on %v", master.spec.name, masters[1])
		return
	}
	mp := master.routers[0].Priority()
	for _, sn := range s.w.nodes {
		if !sn.running || sn == master {
			continue
		}
		r := sn.routers[0]
		preempts := !r.Config().NoPreempt && !s.resigned[sn]
		if preempts && r.Priority() > mp {
			s.fail("%s (priority %d, preempting) is backup of %s (priority %d)", sn.spec.name, r.Priority(), master.spec.name, mp)
		}
	}
	if longestDual > s.mdi() {
		s.fail("two masters for %v, more than Master_Down_Interval (%v), on a whole network", longestDual, s.mdi())
	}
	s.checkCrowd()
	if now-lastChange < 2*s.maxInterval {
		s.fail("a state changed at %s, less than 2 intervals before the end of the stable period", fmtElapsed(lastChange))
	}
}

// checkCrowd checks the crowd's routers after a settle, each VRID on its
// own: one master, the one the RFC picks among those that preempt, holding
// the VIPs that nobody else holds.
func (s *scenario) checkCrowd() {
	for k := s.base; k < s.base+s.crowd; k++ {
		var master *simNode
		for _, sn := range s.w.nodes {
			if !sn.running {
				continue
			}
			r := sn.routers[k]
			st := r.State()
			switch st {
			case vrrp.Master:
				if master != nil {
					s.fail("two masters of %s after settling: %s and %s", r.Name(), master.spec.name, sn.spec.name)
					return
				}
				master = sn
			case vrrp.Backup:
			default:
				s.fail("%s %s in %v after settling", sn.spec.name, r.Name(), st)
				return
			}
			if held := sn.backends[k].Held(); held != (st == vrrp.Master) {
				s.fail("%s %s is %v but holds VIPs=%v", sn.spec.name, r.Name(), st, held)
			}
		}
		if master == nil {
			s.fail("no master of %s", s.w.nodes[0].spec.routers[k].Name)
			return
		}
		mp := master.routers[k].Priority()
		for _, sn := range s.w.nodes {
			if !sn.running || sn == master {
				continue
			}
			if r := sn.routers[k]; !r.Config().NoPreempt && r.Priority() > mp {
				s.fail("%s %s (priority %d, preempting) is backup of %s (priority %d)", sn.spec.name, r.Name(), r.Priority(), master.spec.name, mp)
			}
		}
	}
}

// nopTB lets the world run outside a test's goroutine: its Fatal panics.
type nopTB struct{ testing.TB }

func (nopTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (nopTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (nopTB) Helper()                           {}
