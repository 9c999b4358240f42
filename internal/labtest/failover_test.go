package labtest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// The modes of issue 4. VRRPv2 counts whole seconds, so it runs at its
// 1 s minimum and only twice (PASS, AH); VRRPv3 runs at 100 ms.
var failoverModes = []mode{
	{name: "v2-ipv4-multicast-pass", version: 2, interval: time.Second, auth: advert.AuthPass, pass: "secret12", delay: time.Second},
	{name: "v2-ipv4-multicast-ah", version: 2, interval: time.Second, auth: advert.AuthAH, pass: "key12345", delay: time.Second},
	{name: "v3-ipv4-multicast", version: 3, interval: 100 * time.Millisecond, delay: 300 * time.Millisecond},
	{name: "v3-ipv4-unicast", version: 3, unicast: true, interval: 100 * time.Millisecond, delay: 300 * time.Millisecond},
	{name: "v3-ipv6-multicast", version: 3, ipv6: true, interval: 100 * time.Millisecond, delay: 300 * time.Millisecond},
	{name: "v3-ipv6-unicast", version: 3, ipv6: true, unicast: true, interval: 100 * time.Millisecond, delay: 300 * time.Millisecond},
	{name: "v3-ipv4-multicast-nopreempt", version: 3, noPreempt: true, interval: 100 * time.Millisecond, delay: 300 * time.Millisecond},
}

// TestFailover runs the whole story in each mode, three routers with
// priorities 200, 150 and 100 on hosts h1, h2, h3:
//
//  1. they start together and h1 is elected; the VIPs are on h1 only;
//  2. h1's process is killed (SIGKILL) and its link cut: h2 takes over
//     within its Master_Down_Interval plus takeoverMargin, measured on the
//     wire from h1's last advert to h2's first; the VIPs are on h2 only
//     among the live hosts, and still in h1's kernel;
//  3. h1 comes back and its router restarts: it first removes the VIPs its
//     crashed predecessor left, then preempts h2 (or, with nopreempt,
//     stays backup for good);
//  4. the master stops gracefully (SIGTERM): it sends priority 0, the next
//     best router takes over within its Skew_Time plus takeoverMargin, and
//     the stopped one removed its VIPs;
//  5. the stopped router rejoins and preempts back if it outranks the
//     master and preemption is on;
//  6. everything stops cleanly; every advert and announcement on the wire
//     is checked, and each mastership announced exactly its schedule.
func TestFailover(t *testing.T) {
	for _, m := range failoverModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			runFailover(t, m)
		})
	}
}

func runFailover(t *testing.T, m mode) {
	g := newGroup(t, m)
	hosts := g.hosts
	preempt := !m.noPreempt

	// 1. Election. RFC 5798 §6.4.1: everyone starts as backup; the highest
	// priority has the shortest Master_Down_Interval and wins.
	ps := g.elect()

	// 2. Crash.
	marks := []int{0, ps[1].mark(), ps[2].mark()}
	killAt := time.Now()
	ps[0].kill()
	if err := hosts[0].LinkDown(); err != nil {
		t.Fatal(err)
	}
	ps[1].waitState(marks[1], vrrp.Master, g.stateTimeout())
	g.takeover(0, 1, killAt, "crash (SIGKILL)")
	g.waitCurrent(ps[2], vrrp.Backup)
	waitVIPs(t, hosts[1:], g.vips, hosts[1])
	// A killed process cannot clean up: its VIPs stay in h1's kernel.
	if held, err := heldVIPs(hosts[0], g.vips); err != nil || len(held) != len(g.vips) {
		t.Fatalf("after the crash h1 holds %v (%v); the test needs the VIPs the killed router left", held, err)
	}

	// 3. Restart after the crash.
	if err := hosts[0].LinkUp(); err != nil {
		t.Fatal(err)
	}
	waitOperstate(t, hosts[0], "UP")
	marks[1] = ps[1].mark()
	ps[0] = g.launch(0)
	ps[0].waitReady()
	restartAt := time.Now()
	ps[0].start()
	g.checkStaleRemoved(0, ps[0])
	if preempt {
		// In unicast mode h2's kernel gave up resolving h1's address while
		// h1's link was cut, and holds h2's adverts to h1 until its next
		// ARP / neighbor probe (up to retrans_time, 1 s): h1 may hear
		// nothing and take over by its down timer rather than by
		// preemption. Either way it must end up master.
		reasons := []vrrp.Reason{vrrp.ReasonPreempt}
		if m.unicast {
			reasons = append(reasons, vrrp.ReasonMasterDown)
		}
		g.preempts(0, 1, ps, marks[1], restartAt, reasons...)
	} else {
		g.staysBackup(0, 1, ps, restartAt)
	}

	// 4. Graceful stop of the master.
	cur, next := 0, 1
	if !preempt {
		cur, next = 1, 0
	}
	g.handover(cur, next, ps)

	// 5. The stopped router rejoins.
	marks[next] = ps[next].mark()
	ps[cur] = g.launch(cur)
	ps[cur].waitReady()
	rejoinAt := time.Now()
	ps[cur].start()
	if preempt && g.prios[cur] > g.prios[next] {
		g.preempts(cur, next, ps, marks[next], rejoinAt, vrrp.ReasonPreempt)
	} else {
		g.staysBackup(cur, next, ps, rejoinAt)
	}

	// 6. Stop everything, the master last (so that no new mastership
	// begins), and check what went over the wire.
	master := cur
	if !(preempt && g.prios[cur] > g.prios[next]) {
		master = next
	}
	for i, p := range ps {
		if i != master {
			p.stop()
			g.checkStats(p)
		}
	}
	stopAt := time.Now()
	ps[master].stop()
	g.checkStats(ps[master])
	zero := g.waitCapture("the last master's priority-0 advert", 10*time.Second, func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(master), true)(f) && f.Time.After(stopAt)
	})
	g.endPeriod(master, zero.Time)
	waitVIPs(t, hosts, g.vips)
	g.checkWire()
}

// waitCurrent waits until p's latest state is st.
func (g *group) waitCurrent(p *proc, st vrrp.State) {
	g.t.Helper()
	p.waitCond(g.stateTimeout(), "settled in "+st.String(), func() bool { return p.state() == st.String() })
}

// checkStaleRemoved: a router restarted after a crash finds the VIPs its
// predecessor left in the kernel. It must remove them before anything
// else: a backup holding the VIPs answers ARP / neighbor solicitations
// for them and splits the traffic with the real master.
func (g *group) checkStaleRemoved(i int, p *proc) {
	g.t.Helper()
	h := g.hosts[i]
	const staleTimeout = 5 * time.Second
	deadline := time.Now().Add(staleTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		wasMaster := p.reached(vrrp.Master)
		held, err := heldVIPs(h, g.vips)
		if err != nil {
			g.t.Fatal(err)
		}
		if len(held) == 0 && !wasMaster {
			return
		}
		if wasMaster {
			g.t.Errorf("%s restarted and became master without first removing the VIPs its crashed predecessor left; transitions %v",
				p.name, p.transitions(0))
			return
		}
		if time.Now().After(deadline) {
			g.t.Errorf("%s restarted %v ago as %s and still holds %v, the VIPs its crashed predecessor left: two hosts answer for them",
				p.name, staleTimeout, p.state(), held)
			// Clean up by hand so that the rest of the story still runs.
			for _, v := range held {
				if _, err := h.Run("ip", "addr", "del", v.String(), "dev", h.Ifname); err != nil {
					g.t.Fatal(err)
				}
			}
			return
		}
		<-tick.C
	}
}

// preempts checks that host i, just started, takes over from master j:
// RFC 5798 §6.4.2, a backup discards adverts of a lower priority when
// preemption is on, and becomes master when its down timer runs out.
func (g *group) preempts(i, j int, ps []*proc, markJ int, startAt time.Time, reasons ...vrrp.Reason) {
	g.t.Helper()
	r, _ := ps[i].waitState(0, vrrp.Master, g.stateTimeout())
	if !slices.ContainsFunc(reasons, func(x vrrp.Reason) bool { return x.String() == r.Reason }) {
		g.t.Errorf("%s became master for %q, want %v", ps[i].name, r.Reason, reasons)
	}
	first := g.waitCapture(ps[i].name+"'s first advert", g.stateTimeout(), func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(i), false)(f) && f.Time.After(startAt)
	})
	ps[j].waitState(markJ, vrrp.Backup, g.stateTimeout())
	g.endPeriod(j, first.Time)
	g.beginPeriod(i, first.Time)
	waitVIPs(g.t, g.hosts, g.vips, g.hosts[i])
	g.waitAnnouncements(i, first.Time, g.perAcquisition())
}

// staysBackup checks that host i, just started, leaves master j alone:
// with nopreempt (or a lower priority) it accepts j's adverts. It watches
// for twice i's Master_Down_Interval of j's adverts — a preempting router
// would have taken over after one.
func (g *group) staysBackup(i, j int, ps []*proc, startAt time.Time) {
	g.t.Helper()
	b, _ := ps[i].waitState(0, vrrp.Backup, g.stateTimeout())
	quiet := b.Time.Add(2 * g.masterDown(i))
	g.waitCapture(g.hosts[j].Name+" advertising on", g.stateTimeout(), func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(j), false)(f) && f.Time.After(quiet)
	})
	if a, ok := readWire(g.capt).firstAdvert(g.mac(i), startAt, nil); ok {
		g.t.Errorf("%s (priority %d, nopreempt %v) advertised as master %v; want it to stay backup",
			ps[i].name, g.prios[i], g.m.noPreempt, a)
	}
	if st := ps[i].state(); st != vrrp.Backup.String() {
		g.t.Errorf("%s is %s, want BACKUP", ps[i].name, st)
	}
	waitVIPs(g.t, g.hosts, g.vips, g.hosts[j])
}

// handover stops master cur gracefully and checks that next takes over
// within Skew_Time of cur's priority-0 advert (RFC 5798 §6.4.2) and that
// cur removed its VIPs.
func (g *group) handover(cur, next int, ps []*proc) {
	g.t.Helper()
	mark := ps[next].mark()
	stopAt := time.Now()
	ps[cur].stop()
	g.checkStats(ps[cur])
	zero := g.waitCapture(ps[cur].name+"'s priority-0 advert", 10*time.Second, func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(cur), true)(f) && f.Time.After(stopAt)
	})
	first := g.waitCapture(g.hosts[next].Name+"'s first advert", g.stateTimeout(), func(f netlab.Frame) bool {
		return g.advertToLive(next, cur)(f) && f.Time.After(zero.Time)
	})
	r, _ := ps[next].waitState(mark, vrrp.Master, g.stateTimeout())
	if r.Reason != vrrp.ReasonPriorityZero.String() {
		g.t.Errorf("%s became master for %q, want %q", ps[next].name, r.Reason, vrrp.ReasonPriorityZero)
	}
	skew := g.skew(next)
	lag := first.Time.Sub(zero.Time)
	if lag < skew-early || lag > skew+takeoverMargin {
		g.t.Errorf("graceful stop: %s took over %v after the priority-0 advert; RFC 5798 §6.4.2 says after Skew_Time %v (allowed: up to %v more)",
			g.hosts[next].Name, lag, skew, takeoverMargin)
	}
	g.endPeriod(cur, zero.Time)
	g.beginPeriod(next, first.Time)
	// The stopped router released its VIPs before it exited.
	waitVIPs(g.t, g.hosts, g.vips, g.hosts[next])
	g.waitAnnouncements(next, first.Time, g.perAcquisition())
	g.figure("graceful stop: handover %v after the priority-0 advert = Skew_Time %v %+v",
		lag.Round(10*time.Microsecond), skew, (lag - skew).Round(10*time.Microsecond))
}

// waitOperstate waits until h's eth0 has the operational state want.
func waitOperstate(t *testing.T, h *netlab.Host, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := h.Run("ip", "-j", "link", "show", "dev", h.Ifname)
		if err != nil {
			t.Fatal(err)
		}
		var links []struct {
			Operstate string `json:"operstate"`
		}
		if err := json.Unmarshal([]byte(out), &links); err == nil && len(links) == 1 && links[0].Operstate == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not %s within 10s: %s", h.Name, h.Ifname, want, out)
		}
		<-tick.C
	}
}
