package main

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkFailoverFirstWrite measures, in elect mode with three nodes,
// the time from the primary's death (SIGKILL of its postmaster and its
// sidecar) to the first write acknowledged through the VIP by the new
// primary (on a connection opened after the crash), over at least five
// failovers of one cluster; after each, the old primary rejoins as a
// standby. Every acknowledged row is checked on the new primary each
// time. Run with -benchtime 1x: one iteration is the whole series.
//
//	go test -run '^$' -bench FailoverFirstWrite -benchtime 1x ./examples/pgsidecar/
func BenchmarkFailoverFirstWrite(b *testing.B) {
	c := newCluster(b, clusterSpec{nodes: 3, mode: modeElect})
	p := c.nodes[0]
	c.writer.waitAcks(failoverTimeout, time.Time{}, 50)
	runs := max(5, b.N)
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < runs; i++ {
		killed := time.Now()
		p.crash()
		np := c.waitPrimary(failoverTimeout, c.others(p)...)
		first := c.writer.waitAcks(failoverTimeout, killed, 1)
		took = append(took, first.at.Sub(killed))
		c.writer.waitAcks(failoverTimeout, killed, 20)
		c.checkAcked(np)
		var vipAt time.Duration
		if d, err := np.sidecar.status(); err == nil {
			for _, x := range d.Decisions {
				if x.Action == "take the VIP" && x.Time.After(killed) {
					vipAt = x.Time.Sub(killed)
				}
			}
		}
		b.Logf("run %d: %s → %s, VIP taken after %v, first write acknowledged after %v", i+1, p.name, np.name,
			vipAt.Round(time.Millisecond), took[i].Round(time.Millisecond))
		c.rejoinAfterCrash(p, np)
		p = np
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "ms-median")
	b.ReportMetric(float64(took[len(took)-1])/float64(time.Millisecond), "ms-worst")
	b.ReportMetric(float64(took[0])/float64(time.Millisecond), "ms-best")
}
