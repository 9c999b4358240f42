package labbench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// Daemon starts one VRRP daemon with a keepalived.conf in a lab host.
type Daemon interface {
	Name() string
	// Command returns the daemon's command, not yet started, running in
	// h's namespace in the foreground with config file cfg; dir is a
	// scratch directory of the host's own (pid files, logs).
	Command(ctx context.Context, h *netlab.Host, cfg, dir string) *exec.Cmd
}

// Keepalived is Debian's keepalived, VRRP subsystem only.
type Keepalived struct{}

func (Keepalived) Name() string { return "keepalived" }

func (Keepalived) Command(ctx context.Context, h *netlab.Host, cfg, dir string) *exec.Cmd {
	return h.Command(ctx, "keepalived", "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"--use-file", cfg,
		"--pid", filepath.Join(dir, "keepalived.pid"),
		"--vrrp_pid", filepath.Join(dir, "vrrp.pid"))
}

// Result is what one run measured.
type Result struct {
	Lags               []time.Duration // per VRID, beyond Master_Down_Interval
	Missing            []int           // VRIDs never taken over
	MasterCPU          float64         // % of one core, steady state
	BackupCPU          float64
	MasterRSS          int64 // bytes
	BackupRSS          int64
	MasterDownInterval time.Duration
}

// Settings of a run.
const (
	convergeTimeout = 90 * time.Second
	takeoverTimeout = 30 * time.Second
	cpuWindow       = 10 * time.Second
)

// Run puts the daemon on two lab hosts — h1 with priority 200, h2 with 100
// — waits until h1 is master of every VRID, measures steady CPU and RSS,
// kills h1's daemon (SIGKILL to its process group) and measures how long
// h2 takes over each VRID.
func Run(tb testing.TB, d Daemon, s Scenario) Result {
	tb.Helper()
	lab := netlab.New(tb, 2)
	capture := lab.Capture()
	h1, h2 := lab.Host(1), lab.Host(2)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)

	start := func(h *netlab.Host, prio int) *exec.Cmd {
		dir := tb.TempDir()
		cfg := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(cfg, []byte(s.Config(h.Name, prio)), 0o644); err != nil {
			tb.Fatal(err)
		}
		log, err := os.Create(filepath.Join(dir, "log"))
		if err != nil {
			tb.Fatal(err)
		}
		cmd := d.Command(ctx, h, cfg, dir)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			tb.Fatalf("%s on %s: %v", d.Name(), h.Name, err)
		}
		tb.Cleanup(func() {
			log.Close()
			if tb.Failed() {
				b, _ := os.ReadFile(log.Name())
				tb.Logf("%s on %s logged:\n%s", d.Name(), h.Name, tail(b, 4000))
			}
		})
		return cmd
	}
	backup := start(h2, 100)
	master := start(h1, 200)

	// Converged: h1's latest advert for every VRID is recent and h2 has
	// been silent for a few intervals.
	if err := waitUntil(convergeTimeout, func() bool {
		return converged(capture.Frames(), s.Routers, h1.IPv4, h2.IPv4, 10*s.Interval)
	}); err != nil {
		tb.Fatalf("%s: h1 never became master of all %d VRIDs: %v", d.Name(), s.Routers, err)
	}

	var r Result
	r.MasterDownInterval = s.MasterDownInterval(100)
	shares, err := cpuShare([]int{master.Process.Pid, backup.Process.Pid}, cpuWindow)
	if err != nil {
		tb.Fatal(err)
	}
	r.MasterCPU, r.BackupCPU = shares[0], shares[1]
	if r.MasterRSS, err = rss(master.Process.Pid); err != nil {
		tb.Fatal(err)
	}
	if r.BackupRSS, err = rss(backup.Process.Pid); err != nil {
		tb.Fatal(err)
	}

	if err := syscall.Kill(-master.Process.Pid, syscall.SIGKILL); err != nil {
		tb.Fatal(err)
	}
	killed := time.Now()
	if err := waitUntil(takeoverTimeout, func() bool {
		return tookOver(capture.Frames(), s.Routers, h2.IPv4, killed)
	}); err != nil {
		tb.Errorf("%s: h2 did not take over every VRID: %v", d.Name(), err)
	}
	capture.Stop()
	r.Lags, r.Missing = Takeover(Adverts(capture.Frames()), s.Routers, h1.IPv4, h2.IPv4, r.MasterDownInterval)
	return r
}

// Report puts a result into a benchmark's output.
func (r Result) Report(b *testing.B) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(Percentile(r.Lags, 50)), "lag-p50-ms")
	b.ReportMetric(ms(Percentile(r.Lags, 90)), "lag-p90-ms")
	b.ReportMetric(ms(Percentile(r.Lags, 99)), "lag-p99-ms")
	b.ReportMetric(ms(Percentile(r.Lags, 100)), "lag-max-ms")
	b.ReportMetric(r.MasterCPU, "master-cpu-%")
	b.ReportMetric(r.BackupCPU, "backup-cpu-%")
	b.ReportMetric(float64(r.MasterRSS)/(1<<20), "master-rss-MB")
	b.ReportMetric(float64(r.BackupRSS)/(1<<20), "backup-rss-MB")
	b.ReportMetric(float64(len(r.Missing)), "vrids-not-taken-over")
}

// Adverts picks the VRRP adverts out of captured frames.
func Adverts(frames []netlab.Frame) []Seen {
	seen := make([]Seen, 0, len(frames))
	for _, f := range frames {
		if s, ok := parseAdvert(f.Time, f.Data); ok {
			seen = append(seen, s)
		}
	}
	return seen
}

func converged(frames []netlab.Frame, n int, master, backup netip.Addr, quiet time.Duration) bool {
	if len(frames) == 0 {
		return false
	}
	now := frames[len(frames)-1].Time
	fresh := make([]bool, n+1)
	count := 0
	for _, s := range Adverts(frames) {
		age := now.Sub(s.Time)
		if s.Src == backup && age < quiet {
			return false
		}
		if s.Src == master && s.Priority > 0 && int(s.VRID) <= n && age < quiet && !fresh[s.VRID] {
			fresh[s.VRID] = true
			count++
		}
	}
	return count == n
}

func tookOver(frames []netlab.Frame, n int, newMaster netip.Addr, after time.Time) bool {
	done := make([]bool, n+1)
	count := 0
	for _, s := range Adverts(frames) {
		if s.Src == newMaster && s.Priority > 0 && int(s.VRID) <= n && s.Time.After(after) && !done[s.VRID] {
			done[s.VRID] = true
			count++
		}
	}
	return count == n
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", timeout)
		}
		<-tick.C
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
