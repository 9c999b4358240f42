package main

import (
	"strings"
	"testing"
	"time"
)

// TestElectThreeNodes: three Postgres servers (a primary, two standbys by
// pg_basebackup, synchronous replication ANY 1), a sidecar each in elect
// mode, and a client writing numbered rows through the write VIP. One
// cluster serves the cases in turn: each starts from a verified healthy
// cluster (one primary holding the VIP, two standbys streaming from it)
// and ends by bringing the cluster back to that, the old primary
// rejoining as a standby through the sidecar's demotion (pg_rewind).
func TestElectThreeNodes(t *testing.T) {
	c := newCluster(t, clusterSpec{nodes: 3, mode: modeElect})
	primary := c.nodes[0]
	c.writer.waitAcks(failoverTimeout, time.Time{}, 50)

	steps := []struct {
		name string
		run  func(t *testing.T, p *pgNode) *pgNode
	}{
		{"crash", c.caseCrash},
		{"link cut", c.caseLinkCut},
		{"standby partition", c.caseStandbyPartition},
		{"primary partition", c.casePrimaryPartition},
		{"most caught-up standby wins", c.caseCaughtUp},
		{"the standby holding the most WAL wins", c.caseMostWAL},
		{"stale primary stays fenced", c.caseStaysFenced},
	}
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			c.t = t
			// Each case starts from a healthy cluster, whichever node the
			// last one (or a false takeover on a starved machine) left
			// as the primary.
			primary = c.waitPrimary(startTimeout, c.nodes...)
			c.waitHealthy(primary)
			primary = s.run(t, primary)
		})
		c.t = t
		if !ok {
			return // the cluster is in an unknown state
		}
	}
}

// caseCrash: SIGKILL of the primary's postmaster and sidecar together. A
// standby promotes itself and takes the VIP, writes resume through it,
// and every acknowledged row is on the new primary. Then the old node's
// sidecar and Postgres are started again: Postgres comes up as a primary
// on the old timeline, and the sidecar demotes it.
func (c *cluster) caseCrash(t *testing.T, p *pgNode) *pgNode {
	killed := time.Now()
	p.crash()
	np := c.waitPrimary(failoverTimeout, c.others(p)...)
	first := c.writer.waitAcks(failoverTimeout, killed, 20)
	t.Logf("%s promoted; first write acknowledged through the VIP %v after the crash", np.name, first.at.Sub(killed).Round(time.Millisecond))
	c.checkAcked(np)
	c.checkNotPromoted(np)
	c.rejoinAfterCrash(p, np)
	return np
}

// rejoinAfterCrash restarts a crashed node, sidecar first (it removes
// the VIP its predecessor left), and waits for the sidecar to demote it.
func (c *cluster) rejoinAfterCrash(p, np *pgNode) {
	c.t.Helper()
	since := time.Now()
	p.sidecar = nil
	p.startSidecar()
	// Not waited for (-W): the sidecar may stop it again at once; the
	// outcome is checked on the sidecar's status.
	if out, err := p.pgctl("start", "-W", "-l", p.dir+"/postgres.log"); err != nil {
		c.t.Logf("%s: pg_ctl start: %v\n%s\n%s", p.name, err, out, tailLines(p.pgLog(), 15))
	}
	d := p.sidecar.waitStatus(startTimeout, "demoted to a streaming standby", func(d statusDoc) bool {
		return d.Role == roleStandby && d.WALReceiver == "streaming" && d.VRRPState == "BACKUP"
	})
	if !hasDecision(d, "fenced", since) {
		c.t.Errorf("%s: rejoined without fencing itself first: %v", p.name, d.Decisions)
	}
	c.waitHealthy(np)
}

// checkNotPromoted checks that only np was promoted: every other node is
// a standby (or down).
func (c *cluster) checkNotPromoted(np *pgNode) {
	c.t.Helper()
	for _, n := range c.others(np) {
		if !n.sidecar.running() {
			continue
		}
		if d, err := n.sidecar.status(); err == nil && d.Role == rolePrimary && !d.Fenced {
			c.t.Errorf("%s is a primary too (not fenced): %s", n.name, describe(d))
		}
	}
}

// caseLinkCut: the primary's link goes down (its interface loses
// carrier). A standby promotes itself; when the link returns, the old
// primary finds the newer one and demotes itself.
func (c *cluster) caseLinkCut(t *testing.T, p *pgNode) *pgNode {
	cut := time.Now()
	if err := p.h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	np := c.waitPrimary(failoverTimeout, c.others(p)...)
	first := c.writer.waitAcks(failoverTimeout, cut, 20)
	t.Logf("%s promoted; first write acknowledged through the VIP %v after the cut", np.name, first.at.Sub(cut).Round(time.Millisecond))
	c.checkAcked(np)
	if err := p.h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	c.waitRejoined(p, np, cut)
	return np
}

// waitRejoined waits for a stale primary whose sidecar kept running to
// fence itself and come back as a standby of np.
func (c *cluster) waitRejoined(p, np *pgNode, since time.Time) {
	c.t.Helper()
	d := p.sidecar.waitStatus(startTimeout, "demoted to a streaming standby", func(d statusDoc) bool {
		return d.Role == roleStandby && d.WALReceiver == "streaming" && d.VRRPState == "BACKUP"
	})
	if !hasDecision(d, "fenced", since) {
		c.t.Errorf("%s: rejoined without fencing itself first: %v", p.name, d.Decisions)
	}
	c.waitHealthy(np)
	c.checkAcked(np)
	c.checkAcked(p)
}

// caseStandbyPartition: a standby cut off the network (its link stays
// up) becomes VRRP master of its own segment, and never promotes itself:
// it cannot reach a majority of the sidecars.
func (c *cluster) caseStandbyPartition(t *testing.T, p *pgNode) *pgNode {
	s := c.others(p)[0]
	isolated := time.Now()
	if err := s.h.Isolate(); err != nil {
		t.Fatal(err)
	}
	d := s.sidecar.waitStatus(failoverTimeout, "refusing to promote", func(d statusDoc) bool {
		return d.VRRPState == "MASTER" && d.Decision.Action == "wait" && strings.Contains(d.Decision.Reason, "no majority")
	})
	t.Logf("%s, isolated: %s", s.name, describe(d))
	if hasDecision(d, "promote", isolated) || d.Role != roleStandby {
		t.Errorf("%s promoted itself while isolated: %s", s.name, describe(d))
	}
	if err := s.h.Rejoin(); err != nil {
		t.Fatal(err)
	}
	d = s.sidecar.waitStatus(failoverTimeout, "back to BACKUP, its takeover abandoned", func(d statusDoc) bool {
		return d.VRRPState == "BACKUP" && d.Decision.Action == "takeover abandoned"
	})
	if d.Role != roleStandby {
		t.Errorf("%s: %s after the partition", s.name, describe(d))
	}
	c.waitHealthy(p)
	return p
}

// casePrimaryPartition: the primary is cut off the network with its link
// up. It cannot get a write acknowledged (synchronous replication: no
// standby reaches it), the majority side promotes a standby, and after
// the heal the old primary demotes itself and follows the new one.
func (c *cluster) casePrimaryPartition(t *testing.T, p *pgNode) *pgNode {
	cut := time.Now()
	if err := p.h.Isolate(); err != nil {
		t.Fatal(err)
	}
	local := newLocalWriter(t, p, 1_000_000_000)
	np := c.waitPrimary(failoverTimeout, c.others(p)...)
	first := c.writer.waitAcks(failoverTimeout, cut, 20)
	t.Logf("%s promoted; first write acknowledged through the VIP %v after the partition", np.name, first.at.Sub(cut).Round(time.Millisecond))
	c.checkAcked(np)
	if n := local.ackedSince(cut); n > 0 {
		t.Errorf("the isolated old primary acknowledged %d writes", n)
	}
	if err := p.h.Rejoin(); err != nil {
		t.Fatal(err)
	}
	c.waitRejoined(p, np, cut)
	local.stop()
	if n := local.ackedSince(cut); n > 0 {
		t.Errorf("the isolated old primary acknowledged %d writes", n)
	}
	return np
}

// caseCaughtUp: with equal priorities the standby with the higher address
// would win the election; its replay is paused instead, so its priority
// drops, and the other standby is the one promoted.
func (c *cluster) caseCaughtUp(t *testing.T, p *pgNode) *pgNode {
	standbys := c.others(p)
	behind, ahead := standbys[1], standbys[0] // host order: [1] has the higher address
	behind.exec("SELECT pg_wal_replay_pause()")
	da := ahead.sidecar.waitStatus(failoverTimeout, "", func(statusDoc) bool { return true })
	behind.sidecar.waitStatus(failoverTimeout, "ranked below the other standby", func(d statusDoc) bool {
		return d.ReplayPaused && d.Priority < da.Priority
	})
	// Quiesce, so that both standbys have received all the WAL: the rule
	// that the standby holding the most WAL wins must not decide this.
	c.writer.stop()
	end := p.currentLSN()
	for _, s := range standbys {
		s.sidecar.waitStatus(failoverTimeout, "caught up on receiving", func(d statusDoc) bool { return d.ReceiveLSN >= end })
	}
	killed := time.Now()
	p.crash()
	c.writer.start()
	np := c.waitPrimary(failoverTimeout, standbys...)
	if np != ahead {
		t.Errorf("%s (replay paused) was promoted, not %s", np.name, ahead.name)
	}
	if d, err := behind.sidecar.status(); err != nil || hasDecision(d, "promote", killed) {
		t.Errorf("%s (paused) tried to promote: %s %v", behind.name, describe(d), err)
	}
	// A standby whose replay is paused cannot switch to the new timeline,
	// so it cannot acknowledge the new primary's commits.
	behind.exec("SELECT pg_wal_replay_resume()")
	c.writer.waitAcks(failoverTimeout, killed, 20)
	c.checkAcked(np)
	c.rejoinAfterCrash(p, np)
	return np
}

// hasDecision reports whether the sidecar decided action at or after
// since.
// caseMostWAL: the standby that wins the election (the higher address,
// priorities equal) has received less WAL than the other one: its WAL
// receiver was stopped while the client went on writing, so the other
// standby alone holds the last acknowledged commits. The winner's
// fencing rule finds that, steps aside, and the other standby is
// promoted, with every acknowledged row.
func (c *cluster) caseMostWAL(t *testing.T, p *pgNode) *pgNode {
	standbys := c.others(p)
	holder, winner := standbys[0], standbys[1] // [1] has the higher address
	winner.exec("ALTER SYSTEM SET primary_conninfo = ''")
	winner.exec("SELECT pg_reload_conf()")
	d := winner.sidecar.waitStatus(failoverTimeout, "not receiving", func(d statusDoc) bool { return d.WALReceiver == "" })
	stopped := time.Now()
	c.writer.waitAcksAfter(failoverTimeout, stopped, 20)
	holder.sidecar.waitStatus(failoverTimeout, "ahead of "+winner.name, func(h statusDoc) bool { return h.ReceiveLSN > d.ReceiveLSN })
	killed := time.Now()
	p.crash()
	np := c.waitPrimary(failoverTimeout, standbys...)
	if np != holder {
		t.Errorf("%s was promoted, not %s (which holds more WAL)", np.name, holder.name)
	}
	if dw, err := winner.sidecar.status(); err != nil || !hasDecision(dw, "defer", killed) || hasDecision(dw, "promote", killed) {
		t.Errorf("%s did not step aside for %s: %v %v", winner.name, holder.name, dw.Decisions, err)
	}
	// The new primary's only other standby is the one not receiving:
	// commits wait for it.
	winner.exec("ALTER SYSTEM RESET primary_conninfo")
	winner.exec("SELECT pg_reload_conf()")
	c.writer.waitAcks(failoverTimeout, killed, 20)
	c.checkAcked(np)
	c.rejoinAfterCrash(p, np)
	return np
}

// caseStaysFenced: with --stale-primary fence, a crashed primary that
// comes back finds the newer primary, stays out of VRRP without the VIP,
// says why, and leaves Postgres running (as a primary, for an operator).
// Its sidecar restarted without the flag then demotes it.
func (c *cluster) caseStaysFenced(t *testing.T, p *pgNode) *pgNode {
	killed := time.Now()
	p.crash()
	np := c.waitPrimary(failoverTimeout, c.others(p)...)
	c.writer.waitAcks(failoverTimeout, killed, 20)

	args := p.args
	p.args = append(append([]string(nil), args...), "--stale-primary", "fence")
	p.startSidecar()
	p.args = args
	if out, err := p.pgctl("start", "-W", "-l", p.dir+"/postgres.log"); err != nil {
		t.Fatalf("%s: pg_ctl start: %v\n%s", p.name, err, out)
	}
	d := p.sidecar.waitStatus(failoverTimeout, "fenced", func(d statusDoc) bool {
		return d.Fenced && d.Role == rolePrimary && d.VRRPState == "FAULT"
	})
	if !strings.Contains(d.FencedWhy, "newer timeline") || !strings.Contains(d.Decision.Reason, "--stale-primary fence") {
		t.Errorf("%s: fenced for %q, decision %+v", p.name, d.FencedWhy, d.Decision)
	}
	if hostHas(t, p.h, writeVIP.Addr()) {
		t.Errorf("%s: fenced but holds the write VIP", p.name)
	}
	c.writer.waitAcksAfter(failoverTimeout, time.Now(), 20)
	c.checkAcked(np)

	p.sidecar.stop()
	p.startSidecar()
	d = p.sidecar.waitStatus(startTimeout, "demoted to a streaming standby", func(d statusDoc) bool {
		return d.Role == roleStandby && d.WALReceiver == "streaming" && d.VRRPState == "BACKUP"
	})
	c.waitHealthy(np)
	return np
}

func hasDecision(d statusDoc, action string, since time.Time) bool {
	for _, x := range d.Decisions {
		if x.Action == action && !x.Time.Before(since) {
			return true
		}
	}
	return false
}
