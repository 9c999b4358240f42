package aws

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkLabTakeoverToAssignment measures the library's own share of a
// cloud failover: from a backup entering MASTER (its event's time) to the
// fake EC2 endpoint applying its AssignPrivateIpAddresses — the loop
// handing the Acquire to the backend, vip.Linux adding the address, the
// request signed with role credentials from the metadata service and
// sent. Each iteration kills the master; the killed router comes back
// with a lower priority, as a backup for the next.
//
//	sudo go test -run '^$' -bench LabTakeover -benchtime 20x ./vip/aws/
func BenchmarkLabTakeoverToAssignment(b *testing.B) {
	cl := newCloudLab(b)
	interval := 100 * time.Millisecond
	procs := [2]*labProc{cl.start(1, cl.spec(1, 150, interval)), cl.start(2, cl.spec(2, 100, interval))}
	procs[0].send("go")
	procs[1].send("go")
	procs[0].waitState(0, "MASTER")
	cl.waitEC2("10.0.0.100 on eni-1", cl.holderIs("eni-1"))
	procs[1].waitState(0, "BACKUP")
	master := 0
	var lags []time.Duration
	b.ResetTimer()
	for range b.N {
		backup := 1 - master
		n := len(cl.ec2.Requests())
		m := procs[backup].mark()
		procs[master].kill()
		i := procs[backup].waitState(m, "MASTER")
		eni := fmt.Sprintf("eni-%d", backup+1)
		cl.waitEC2("the address on "+eni, cl.holderIs(eni))
		procs[backup].mu.Lock()
		became := procs[backup].reports[i].Time
		procs[backup].mu.Unlock()
		for _, r := range cl.ec2.Requests()[n:] {
			if r.Action == "AssignPrivateIpAddresses" && !r.Applied.IsZero() {
				lags = append(lags, r.Applied.Sub(became))
				break
			}
		}
		b.StopTimer()
		procs[master] = cl.start(master+1, cl.spec(master+1, 50, interval))
		procs[master].send("go")
		procs[master].waitState(0, "BACKUP")
		master = backup
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lags)
	if len(lags) == 0 {
		b.Fatal("no assignment measured")
	}
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "ms-max")
	b.ReportMetric(float64(lags[0].Microseconds())/1000, "ms-min")
}

// BenchmarkSecondaryIPAcquire is one Acquire against the fake endpoint on
// loopback: an AssignPrivateIpAddresses and a DescribeNetworkInterfaces,
// each signed, sent, parsed.
func BenchmarkSecondaryIPAcquire(b *testing.B) {
	w := newWorld(b)
	be, err := NewSecondaryIP(b.Context(), SecondaryIPConfig{Client: w.client(1), NetworkInterfaceID: "eni-a", Options: fast})
	if err != nil {
		b.Fatal(err)
	}
	closeAtEnd(b, be)
	for b.Loop() {
		if err := be.Acquire(b.Context(), setVIP); err != nil {
			b.Fatal(err)
		}
	}
}
