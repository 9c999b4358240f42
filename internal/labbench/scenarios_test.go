package labbench

import (
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// fastAdvertsFor is how long FastAdverts watches for false takeovers: short
// for a smoke run; the figure in BENCHMARKS.md is of a 10-minute run
// (-args -labbench.fast=10m).
var fastAdvertsFor = flag.Duration("labbench.fast", 30*time.Second, "FastAdverts: how long to watch for false takeovers")

// starvedFor is how long each Starved load runs.
var starvedFor = flag.Duration("labbench.starved", 20*time.Second, "Starved: how long each load runs")

// bothDaemons runs fn as a sub-benchmark for keepalived, then for vrrpd.
func bothDaemons(b *testing.B, fn func(b *testing.B, d Daemon)) {
	b.Run("keepalived", func(b *testing.B) {
		netlab.NeedTool(b, "keepalived", "to measure it beside vrrpd")
		fn(b, Keepalived{})
	})
	b.Run("vrrpd", func(b *testing.B) { fn(b, BuildVrrpd(b)) })
	for _, bin := range strings.Fields(*otherVrrpds) {
		b.Run("vrrpd="+filepath.Base(bin), func(b *testing.B) { fn(b, Vrrpd{Bin: bin}) })
	}
}

func init() {
	flag.StringVar(&LogsDir, "labbench.logs", "", "copy each daemon's output into this directory")
}

// otherVrrpds: vrrpd binaries built elsewhere (an older commit, say), each
// measured after this tree's in the same run.
var otherVrrpds = flag.String("labbench.vrrpds", "", "space-separated vrrpd binaries to measure beside this tree's")

// BenchmarkScale1000: 4 interfaces × 250 VRIDs, v3, 100 ms; all 1,000
// taken over after SIGKILL of the master.
func BenchmarkScale1000(b *testing.B) {
	s := Scenario{Routers: 1000, Interfaces: 4, Version: 3, Interval: 100 * time.Millisecond}
	bothDaemons(b, func(b *testing.B, d Daemon) {
		for range b.N {
			Run(b, d, s).Report(b)
		}
	})
}

// BenchmarkScale4000: 16 interfaces × 250 VRIDs, v3, 100 ms.
func BenchmarkScale4000(b *testing.B) {
	s := Scenario{Routers: 4000, Interfaces: 16, Version: 3, Interval: 100 * time.Millisecond}
	bothDaemons(b, func(b *testing.B, d Daemon) {
		for range b.N {
			Run(b, d, s).Report(b)
		}
	})
}

// BenchmarkFastAdverts: 50 routers at 20 ms, watched for false takeovers
// for -labbench.fast, then taken over.
func BenchmarkFastAdverts(b *testing.B) {
	s := Scenario{Routers: 50, Version: 3, Interval: 20 * time.Millisecond}
	bothDaemons(b, func(b *testing.B, d Daemon) {
		for range b.N {
			r := RunWith(b, d, s, Options{Observe: *fastAdvertsFor})
			r.Report(b)
			b.ReportMetric(float64(r.FalseTakeovers)/r.Observed.Hours(), "false-takeovers/h")
		}
	})
}

// BenchmarkStarved: 200 routers, v3, 100 ms, while N busy processes spin
// on the machine's cores, and while the master is frozen for 250 ms every
// 250 ms of running; under normal scheduling and keepalived's real-time
// settings (vrrp_rt_priority with vrrp_rlimit_rttime), and, at N = 8 and
// paused, with a 1 s rlimit_rttime, vrrp_priority -20 or vrrp_no_swap
// alone, to show what each buys.
func BenchmarkStarved(b *testing.B) {
	loads := []struct {
		name string
		load Load
	}{
		{"busy2", Busy{N: 2}},
		{"busy4", Busy{N: 4}},
		{"busy8", Busy{N: 8}},
		{"pause250ms", Pause{For: 250 * time.Millisecond, Run: 250 * time.Millisecond}},
	}
	sched := []struct {
		name string
		defs []string
		all  bool // every load, or busy8 and the pause only
	}{
		{"normal", nil, true},
		{"rt", []string{"vrrp_rt_priority 50", "vrrp_rlimit_rttime 10000"}, true},
		// keepalived's limit is hard: at 10 ms its VRRP child was killed
		// (SIGKILL) while starting 200 instances.
		{"rt-rttime1s", []string{"vrrp_rt_priority 50", "vrrp_rlimit_rttime 1000000"}, false},
		{"nice-20", []string{"vrrp_priority -20"}, false},
		{"noswap", []string{"vrrp_no_swap"}, false},
	}
	for _, sc := range sched {
		for _, ld := range loads {
			if !sc.all && ld.name != "busy8" && ld.name != "pause250ms" {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", sc.name, ld.name), func(b *testing.B) {
				s := Scenario{Routers: 200, Version: 3, Interval: 100 * time.Millisecond, GlobalDefs: sc.defs}
				bothDaemons(b, func(b *testing.B, d Daemon) {
					for range b.N {
						RunWith(b, d, s, Options{Observe: *starvedFor, Load: ld.load, NoTakeover: true}).Report(b)
					}
				})
			})
		}
	}
}

// cpuProfile and memProfile, if set, are where BenchmarkScale1000Profile's
// vrrpds write their profiles; {host} in them is h1 or h2, {run} takeover
// or steady.
var (
	cpuProfile = flag.String("labbench.cpuprofile", "", "Scale1000Profile: vrrpd's CPU profile ({host}: h1, h2)")
	memProfile = flag.String("labbench.memprofile", "", "Scale1000Profile: vrrpd's heap profile at exit ({host}: h1, h2)")
	traceFile  = flag.String("labbench.trace", "", "Scale1000Profile: vrrpd's execution trace ({host}: h1, h2)")
)

// BenchmarkScale1000Profile is Scale1000 for vrrpd built with -tags
// pprof. "takeover": h2, the backup that takes over, profiles its whole
// life (steady backup, the takeover, the seconds after as master);
// "steady": both run to the end of the CPU window and exit cleanly, h1's
// profile being the steady master's.
func BenchmarkScale1000Profile(b *testing.B) {
	profileScenario(b, Scenario{Routers: 1000, Interfaces: 4, Version: 3, Interval: 100 * time.Millisecond})
}

// BenchmarkScale4000Profile is Scale4000 as Scale1000Profile profiles
// Scale1000.
func BenchmarkScale4000Profile(b *testing.B) {
	profileScenario(b, Scenario{Routers: 4000, Interfaces: 16, Version: 3, Interval: 100 * time.Millisecond})
}

func profileScenario(b *testing.B, s Scenario) {
	if *cpuProfile == "" && *memProfile == "" && *traceFile == "" {
		b.Skip("set -labbench.cpuprofile, -labbench.memprofile or -labbench.trace")
	}
	for _, name := range []string{"takeover", "steady"} {
		b.Run(name, func(b *testing.B) {
			d := BuildVrrpdTags(b, "pprof")
			if *cpuProfile != "" {
				d.Args = append(d.Args, "--cpuprofile", strings.ReplaceAll(*cpuProfile, "{run}", name))
			}
			if *memProfile != "" {
				d.Args = append(d.Args, "--memprofile", strings.ReplaceAll(*memProfile, "{run}", name))
			}
			if *traceFile != "" {
				d.Args = append(d.Args, "--trace", strings.ReplaceAll(*traceFile, "{run}", name))
			}
			for range b.N {
				RunWith(b, d, s, Options{Terminate: true, NoTakeover: name == "steady"}).Report(b)
			}
		})
	}
}

// BenchmarkReload1000: the Scale1000 scenario; once h1 is master of all
// 1,000 routers, its keepalived.conf gets one change to router 1 and its
// daemon a SIGHUP: "priority", 200 → 150 (still above h2's 100); "vip", a
// second VIP. The 999 others must see no transition and no lost advert.
func BenchmarkReload1000(b *testing.B) {
	s := Scenario{Routers: 1000, Interfaces: 4, Version: 3, Interval: 100 * time.Millisecond}
	for _, c := range []ReloadChange{
		{Name: "priority", Priority: 150},
		{Name: "vip", AddVIP: netip.MustParseAddr("10.0.200.1")}, // outside every vipFor
	} {
		b.Run(c.Name, func(b *testing.B) {
			bothDaemons(b, func(b *testing.B, d Daemon) {
				for range b.N {
					RunReload(b, d, s, c).Report(b)
				}
			})
		})
	}
}
