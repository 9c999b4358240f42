package main

import (
	"strings"
	"testing"
	"time"
)

// TestElectTwoNodesWithWitness: two Postgres servers, a sidecar each in
// elect mode over unicast VRRP, and a witness (host 3, which also runs
// the client: ICMP echo, as a gateway would answer). With one peer, only
// the witness tells a node whose peer died from a node cut off: a
// standby promotes itself only when the witness answers. After a
// promotion with no other standby left, the new primary turns
// synchronous replication off (--relax-sync) so that writes resume, and
// back on when the old primary has rejoined as its standby.
func TestElectTwoNodesWithWitness(t *testing.T) {
	c := newCluster(t, clusterSpec{nodes: 2, mode: modeElect, witness: true, unicast: true})
	primary := c.nodes[0]
	c.writer.waitAcks(failoverTimeout, time.Time{}, 50)
	steps := []struct {
		name string
		run  func(t *testing.T, p *pgNode) *pgNode
	}{
		{"crash", c.caseCrashRelaxed},
		{"standby partition", c.caseStandbyPartitionNoWitness},
		{"primary partition", c.casePrimaryPartitionRelaxed},
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
			return
		}
	}
}

func (c *cluster) caseCrashRelaxed(t *testing.T, p *pgNode) *pgNode {
	np := c.caseCrash(t, p)
	c.checkSyncRestored(np)
	return np
}

func (c *cluster) casePrimaryPartitionRelaxed(t *testing.T, p *pgNode) *pgNode {
	np := c.casePrimaryPartition(t, p)
	c.checkSyncRestored(np)
	return np
}

// checkSyncRestored checks that the new primary relaxed synchronous
// replication to promote alone and restored it once a standby streamed.
func (c *cluster) checkSyncRestored(np *pgNode) {
	c.t.Helper()
	d := np.sidecar.waitStatus(failoverTimeout, "synchronous replication restored", func(d statusDoc) bool {
		return hasDecision(d, "synchronous replication restored", time.Time{})
	})
	if !hasDecision(d, "synchronous replication relaxed", time.Time{}) {
		c.t.Errorf("%s: restored synchronous replication it never relaxed: %v", np.name, d.Decisions)
	}
}

// caseStandbyPartitionNoWitness: the standby, cut off, cannot reach the
// witness and never promotes itself.
func (c *cluster) caseStandbyPartitionNoWitness(t *testing.T, p *pgNode) *pgNode {
	s := c.others(p)[0]
	isolated := time.Now()
	if err := s.h.Isolate(); err != nil {
		t.Fatal(err)
	}
	d := s.sidecar.waitStatus(failoverTimeout, "refusing to promote", func(d statusDoc) bool {
		return d.VRRPState == "MASTER" && d.Decision.Action == "wait" && strings.Contains(d.Decision.Reason, "no witness answers")
	})
	t.Logf("%s, isolated: %s", s.name, describe(d))
	if hasDecision(d, "promote", isolated) || d.Role != roleStandby {
		t.Errorf("%s promoted itself while isolated: %s", s.name, describe(d))
	}
	if err := s.h.Rejoin(); err != nil {
		t.Fatal(err)
	}
	s.sidecar.waitStatus(failoverTimeout, "back to BACKUP, its takeover abandoned", func(d statusDoc) bool {
		return d.VRRPState == "BACKUP" && d.Decision.Action == "takeover abandoned"
	})
	c.waitHealthy(p)
	return p
}
