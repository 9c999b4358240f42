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
	// CaptureDropped counts frames the capture lost (its socket buffer
	// overflowed). A lost advert of the old master makes its VRID's lag
	// look an interval longer.
	CaptureDropped uint64
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
	w := newWatch(capture.Since, s.Routers, h1.IPv4, h2.IPv4)
	if err := waitUntil(convergeTimeout, func() bool { return w.converged(10 * s.Interval) }); err != nil {
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
	w.killed(time.Now())
	if err := waitUntil(takeoverTimeout, w.tookOver); err != nil {
		tb.Errorf("%s: h2 did not take over every VRID: %v", d.Name(), err)
	}
	capture.Stop()
	if r.CaptureDropped, err = capture.Dropped(); err != nil {
		tb.Logf("%s: %v", d.Name(), err)
	}
	if r.CaptureDropped > 0 {
		tb.Logf("%s: the capture dropped %d frames: a lag may be measured from an advert before the old master's last", d.Name(), r.CaptureDropped)
	}
	w.poll()
	r.Lags, r.Missing = Takeover(w.seen, s.Routers, h1.IPv4, h2.IPv4, r.MasterDownInterval)
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
	b.ReportMetric(float64(r.CaptureDropped), "capture-dropped")
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

// watch follows a capture as it grows: each poll parses only the frames
// captured since the last, so that polling costs the machine little while
// the daemons are being measured.
type watch struct {
	since          func(i int) ([]netlab.Frame, int) // Capture.Since
	n              int
	master, backup netip.Addr
	next           int
	seen           []Seen
	latest         time.Time   // newest frame
	masterLast     []time.Time // per VRID: h1's newest advert with priority > 0
	backupLast     time.Time   // h2's newest advert
	after          time.Time   // the kill; zero before
	takenOver      []bool      // per VRID: h2 advertised (priority > 0) after the kill
	takenOverCount int
}

func newWatch(since func(int) ([]netlab.Frame, int), n int, master, backup netip.Addr) *watch {
	return &watch{since: since, n: n, master: master, backup: backup,
		masterLast: make([]time.Time, n+1), takenOver: make([]bool, n+1)}
}

// poll takes in the frames captured since the last poll.
func (w *watch) poll() {
	frames, next := w.since(w.next)
	w.next = next
	for _, f := range frames {
		if f.Time.After(w.latest) {
			w.latest = f.Time
		}
		s, ok := parseAdvert(f.Time, f.Data)
		if !ok {
			continue
		}
		w.seen = append(w.seen, s)
		v := int(s.VRID)
		switch {
		case s.Src == w.backup:
			if s.Time.After(w.backupLast) {
				w.backupLast = s.Time
			}
			if !w.after.IsZero() && s.Priority > 0 && v <= w.n && s.Time.After(w.after) && !w.takenOver[v] {
				w.takenOver[v] = true
				w.takenOverCount++
			}
		case s.Src == w.master && s.Priority > 0 && v <= w.n:
			if s.Time.After(w.masterLast[v]) {
				w.masterLast[v] = s.Time
			}
		}
	}
}

// converged: as of the newest frame, the master advertised every VRID
// 1..n within quiet and the backup not at all.
func (w *watch) converged(quiet time.Duration) bool {
	w.poll()
	if w.latest.IsZero() || w.latest.Sub(w.backupLast) < quiet {
		return false
	}
	for v := 1; v <= w.n; v++ {
		if w.latest.Sub(w.masterLast[v]) >= quiet {
			return false
		}
	}
	return true
}

// killed marks when the master was killed: from then on the backup's
// adverts count as takeovers.
func (w *watch) killed(at time.Time) {
	// Adverts taken in so far were captured, so stamped, before the kill.
	w.after = at
	w.poll()
}

// tookOver: the backup advertised every VRID 1..n since the kill.
func (w *watch) tookOver() bool {
	w.poll()
	return w.takenOverCount == w.n
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
