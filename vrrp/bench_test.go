package vrrp_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// simMinutesEnv sets how many simulated minutes TestSimulated255Routers
// runs (1 by default); the benchmark asks for 10.
const simMinutesEnv = "VRRPKIT_SIM_MINUTES"

// TestSimulated255Routers runs two hosts with 255 virtual routers each
// (VRIDs 1..255 on one interface, one shared transport per host), one host
// master of all of them, at 1 s adverts: every advert is encoded, sent
// through the in-memory LAN, received, decoded, checked and handled by the
// shipped Node, and at the end every router is in its state and the
// backup heard its master's adverts.
func TestSimulated255Routers(t *testing.T) {
	minutes := 1
	if s := os.Getenv(simMinutesEnv); s != "" {
		var err error
		if minutes, err = strconv.Atoi(s); err != nil || minutes < 1 {
			t.Fatalf("%s=%q: want a number of minutes", simMinutesEnv, s)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, 1, zapcore.FatalLevel+1)
		defer w.stopAll()
		for i, prio := range []int{200, 100} {
			spec := nodeSpec{name: fmt.Sprintf("h%d", i+1), addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})}
			for vrid := 1; vrid <= 255; vrid++ {
				rs := defaultRouter(vrid)
				rs.Priority = prio
				spec.routers = append(spec.routers, rs)
			}
			w.addNode(spec).start()
		}
		w.advance(time.Duration(minutes) * time.Minute)
		master, backup := w.nodes[0], w.nodes[1]
		var adverts uint64
		for i, r := range master.routers {
			if r.State() != vrrp.Master || backup.routers[i].State() != vrrp.Backup {
				t.Fatalf("VRID %d: %v / %v", i+1, r.State(), backup.routers[i].State())
			}
			adverts += r.Stats().AdvertsSent
		}
		if got, want := backup.routers[254].Stats().AdvertsReceived, uint64(60*minutes-5); got < want { // the first seconds elect
			t.Fatalf("backup received %d adverts for VRID 255 in %d minutes, want at least %d", got, minutes, want)
		}
		t.Logf("%d adverts sent in %d simulated minutes", adverts, minutes)
	})
}

// BenchmarkSimulated255Routers: one op is TestSimulated255Routers over 10
// simulated minutes (about 153,000 adverts). The simulation runs in a
// synctest bubble, which only a test can make, so each op runs that test
// in a child process of this binary; cpu-ns/op is the child's user and
// system time, which the wall time per op exceeds by the process start.
func BenchmarkSimulated255Routers(b *testing.B) {
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSimulated255Routers$", "-test.count=1")
		cmd.Env = append(os.Environ(), simMinutesEnv+"=10")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
