package labtest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// partitionModes: the partition needs no authentication or version
// variety (the receive path is the same), only both families.
var partitionModes = []mode{
	{name: "v3-ipv4-multicast", version: 3, interval: 100 * time.Millisecond, delay: 300 * time.Millisecond},
	{name: "v3-ipv6-multicast", version: 3, ipv6: true, interval: 100 * time.Millisecond, delay: 300 * time.Millisecond},
}

// TestPartitionedRouterBecomesMasterOfItsSegment: a router cut off from
// the others while its link stays up (netlab's Isolate: the switch port
// stops forwarding, the host keeps its carrier) hears no adverts, so by
// RFC 5798 §6.4.2 it becomes master of the segment it is left on — each
// side of the partition has a master holding the VIPs, which is the
// protocol doing its job. When the partition heals, the higher priority
// wins (§6.4.3: a master hearing a higher priority steps down) and the
// VIPs end up on exactly one host again.
//
// First a backup (h3) is isolated, then the master (h1); the master
// itself never leaves MASTER.
func TestPartitionedRouterBecomesMasterOfItsSegment(t *testing.T) {
	for _, m := range partitionModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			g := newGroup(t, m)
			hosts := g.hosts
			ps := g.elect()

			// A backup cut off: h3 alone on its segment becomes its master.
			mark3 := ps[2].mark()
			if err := hosts[2].Isolate(); err != nil {
				t.Fatal(err)
			}
			r, _ := ps[2].waitState(mark3, vrrp.Master, g.stateTimeout())
			if r.Reason != vrrp.ReasonMasterDown.String() {
				t.Errorf("isolated h3 became master for %q, want %q", r.Reason, vrrp.ReasonMasterDown)
			}
			// h1 keeps the main segment, h3 holds the VIPs on its own.
			waitVIPs(t, hosts, g.vips, hosts[0], hosts[2])
			g.stillMaster(ps[0], "while h3 was isolated")

			// Healed: h3 hears h1's higher priority and steps down.
			mark3 = ps[2].mark()
			if err := hosts[2].Rejoin(); err != nil {
				t.Fatal(err)
			}
			r, _ = ps[2].waitState(mark3, vrrp.Backup, g.stateTimeout())
			if r.Reason != vrrp.ReasonHigherPriority.String() {
				t.Errorf("rejoined h3 left MASTER for %q, want %q", r.Reason, vrrp.ReasonHigherPriority)
			}
			waitVIPs(t, hosts, g.vips, hosts[0])

			// The master cut off: h2 becomes master of the main segment within
			// its Master_Down_Interval of h1's last advert there, while h1
			// stays master of its own.
			mark2 := ps[1].mark()
			isolatedAt := time.Now()
			if err := hosts[0].Isolate(); err != nil {
				t.Fatal(err)
			}
			ps[1].waitState(mark2, vrrp.Master, g.stateTimeout())
			g.takeover(0, 1, isolatedAt, "partition")
			waitVIPs(t, hosts, g.vips, hosts[0], hosts[1])
			g.stillMaster(ps[0], "while isolated")

			// Healed: one master (h1, the higher priority) and the VIPs on h1
			// only. Which of the two hears the other first decides whether h2
			// steps down on h1's regular advert or on the one h1 sends at once
			// on hearing h2's lower priority (keepalived's answer); either way
			// h2 leaves for a higher priority.
			mark2 = ps[1].mark()
			rejoinAt := time.Now()
			if err := hosts[0].Rejoin(); err != nil {
				t.Fatal(err)
			}
			r, _ = ps[1].waitState(mark2, vrrp.Backup, g.stateTimeout())
			if r.Reason != vrrp.ReasonHigherPriority.String() {
				t.Errorf("h2 left MASTER for %q, want %q", r.Reason, vrrp.ReasonHigherPriority)
			}
			waitVIPs(t, hosts, g.vips, hosts[0])
			g.stillMaster(ps[0], "after the partition healed")
			g.converged(0, rejoinAt)
			g.figure("partition healed: h2 back to backup %v after the rejoin", r.Time.Sub(rejoinAt).Round(time.Millisecond))
			g.stopAll(ps, 0)
		})
	}
}

// TestCutLinkFaultsTheRouterAndItRecovers: when the master's own link
// goes down (netlab's LinkDown: no carrier), it is not master of
// anything — it cannot send or receive. It goes to Fault (keepalived
// does the same for an instance whose interface is down) and removes its
// VIPs, so that its host does not answer for them when it comes back;
// h2 takes over within Master_Down_Interval. When the link returns, h1
// leaves Fault as a backup, preempts, and the VIPs are on h1 only.
func TestCutLinkFaultsTheRouterAndItRecovers(t *testing.T) {
	m := partitionModes[0]
	t.Parallel()
	g := newGroup(t, m)
	hosts := g.hosts
	ps := g.elect()

	marks := []int{ps[0].mark(), ps[1].mark()}
	cutAt := time.Now()
	if err := hosts[0].LinkDown(); err != nil {
		t.Fatal(err)
	}
	r, _ := ps[0].waitState(marks[0], vrrp.Fault, g.stateTimeout())
	if !strings.Contains(r.Detail, "link") {
		t.Errorf("h1 went to FAULT with detail %q, want the link named", r.Detail)
	}
	ps[1].waitState(marks[1], vrrp.Master, g.stateTimeout())
	g.takeover(0, 1, cutAt, "link cut")
	// h1 released its VIPs on Fault: exactly one host holds them.
	waitVIPs(t, hosts, g.vips, hosts[1])

	marks = []int{ps[0].mark(), ps[1].mark()}
	upAt := time.Now()
	if err := hosts[0].LinkUp(); err != nil {
		t.Fatal(err)
	}
	r, _ = ps[0].waitState(marks[0], vrrp.Backup, g.stateTimeout())
	if r.Reason != vrrp.ReasonFaultCleared.String() {
		t.Errorf("h1 left FAULT for %q, want %q", r.Reason, vrrp.ReasonFaultCleared)
	}
	r, _ = ps[0].waitState(marks[0], vrrp.Master, g.stateTimeout())
	if r.Reason != vrrp.ReasonPreempt.String() {
		t.Errorf("h1 became master for %q, want %q", r.Reason, vrrp.ReasonPreempt)
	}
	first := g.waitCapture("h1's first advert after the link came back", g.stateTimeout(), func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(0), false)(f) && f.Time.After(upAt)
	})
	ps[1].waitState(marks[1], vrrp.Backup, g.stateTimeout())
	g.endPeriod(1, first.Time)
	g.beginPeriod(0, first.Time)
	waitVIPs(t, hosts, g.vips, hosts[0])
	g.waitAnnouncements(0, first.Time, g.perAcquisition())
	g.converged(0, upAt)
	g.stopAll(ps, 0)
}

// TestIgnoreLinkDownKeepsTheMasterThroughALinkCut: with IgnoreLinkDown
// (keepalived's dont_track_primary) the master whose link is cut stays
// master and keeps its VIPs — no Fault — while h2 takes over the rest of
// the LAN; when the link returns, h2 hears h1's higher priority and steps
// down, and the VIPs are on h1 only.
func TestIgnoreLinkDownKeepsTheMasterThroughALinkCut(t *testing.T) {
	m := partitionModes[0]
	m.ignoreLinkDown = true
	t.Parallel()
	g := newGroup(t, m)
	hosts := g.hosts
	ps := g.elect()

	mark2 := ps[1].mark()
	cutAt := time.Now()
	if err := hosts[0].LinkDown(); err != nil {
		t.Fatal(err)
	}
	ps[1].waitState(mark2, vrrp.Master, g.stateTimeout())
	g.takeover(0, 1, cutAt, "link cut, link ignored")
	// h1 saw its carrier go long before h2's Master_Down_Interval ran out.
	g.stillMaster(ps[0], "with its link down")
	waitVIPs(t, hosts, g.vips, hosts[0], hosts[1])

	mark2 = ps[1].mark()
	upAt := time.Now()
	if err := hosts[0].LinkUp(); err != nil {
		t.Fatal(err)
	}
	r, _ := ps[1].waitState(mark2, vrrp.Backup, g.stateTimeout())
	if r.Reason != vrrp.ReasonHigherPriority.String() {
		t.Errorf("h2 left MASTER for %q, want %q", r.Reason, vrrp.ReasonHigherPriority)
	}
	waitVIPs(t, hosts, g.vips, hosts[0])
	g.stillMaster(ps[0], "after the link came back")
	g.converged(0, upAt)
	g.stopAll(ps, 0)
}

// elect starts the three routers together and waits until h1 (priority
// 200) is master, the others backups, and the VIPs on h1 only.
func (g *group) elect() []*proc {
	g.t.Helper()
	ps := []*proc{g.launch(0), g.launch(1), g.launch(2)}
	startAll(ps...)
	ps[0].waitState(0, vrrp.Master, g.stateTimeout())
	first := g.waitCapture("h1's first advert", g.stateTimeout(), isAdvertFrom(g.mac(0), false))
	g.beginPeriod(0, first.Time)
	for _, p := range ps[1:] {
		g.waitCurrent(p, vrrp.Backup)
		if tr := p.transitions(0); len(tr) > 1 {
			g.t.Logf("%s at startup: %v (started a few ms before h1)", p.name, tr)
		}
	}
	waitVIPs(g.t, g.hosts, g.vips, g.hosts[0])
	g.waitAnnouncements(0, first.Time, g.perAcquisition())
	return ps
}

// stillMaster checks that p has been MASTER since it first became master.
func (g *group) stillMaster(p *proc, when string) {
	g.t.Helper()
	tr := p.transitions(0)
	if p.state() != vrrp.Master.String() || slices.ContainsFunc(tr, func(s string) bool { return strings.HasPrefix(s, "MASTER→") }) {
		g.t.Errorf("%s %s: transitions %v, want it master all along", p.name, when, tr)
	}
}

// converged checks the wire after a heal: once host i's first advert
// after from is out, the others hear it and stop advertising (RFC 5798
// §6.4.3, within takeoverMargin for their loop to get to it), and only i
// advertises for Master_Down_Interval more — long enough for any other
// master to show itself.
func (g *group) converged(i int, from time.Time) {
	g.t.Helper()
	first := g.waitCapture(g.hosts[i].Name+"'s first advert after the heal", g.stateTimeout(), func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(i), false)(f) && f.Time.After(from)
	})
	settle := first.Time.Add(takeoverMargin)
	g.waitCapture(g.hosts[i].Name+" advertising after the heal", g.stateTimeout(), func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(i), false)(f) && f.Time.After(settle.Add(g.masterDown(2)))
	})
	for _, a := range readWire(g.capt).adverts {
		if j := g.hostOf(a.EthSrc); j != i && a.Time.After(settle) {
			g.t.Errorf("advert from %s after the group should have converged on %s: %v", g.hosts[max(j, 0)].Name, g.hosts[i].Name, a)
		}
	}
}

// stopAll stops every router, master last, and checks the wire.
func (g *group) stopAll(ps []*proc, master int) {
	g.t.Helper()
	for i, p := range ps {
		if i != master {
			p.stop()
		}
	}
	stopAt := time.Now()
	ps[master].stop()
	zero := g.waitCapture("the master's priority-0 advert", 10*time.Second, func(f netlab.Frame) bool {
		return isAdvertFrom(g.mac(master), true)(f) && f.Time.After(stopAt)
	})
	g.endPeriod(master, zero.Time)
	waitVIPs(g.t, g.hosts, g.vips)
	g.checkWire()
}
