package labbench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	Lags      []time.Duration // per router, beyond Master_Down_Interval
	Missing   []int           // routers (1-based) never taken over
	MasterCPU float64         // % of one core, steady state
	BackupCPU float64
	MasterRSS int64 // bytes
	BackupRSS int64
	// MasterAnon and BackupAnon are the anonymous part of the RSS (heap,
	// stacks): what grows with the routers. The rest is the program's and
	// its libraries' pages, shared with every process that maps them.
	MasterAnon, BackupAnon int64
	MasterDownInterval     time.Duration
	// Converge is the time from starting the daemons to h1 being master
	// of every router.
	Converge time.Duration
	// Observed is how long the false takeovers were looked for: from
	// convergence to the kill.
	Observed time.Duration
	// FalseTakeovers counts the backup's takeovers while the master was
	// alive, DualMasters those of them during which the master kept
	// advertising too (see Flaps).
	FalseTakeovers, DualMasters int
	// CaptureDropped counts frames the capture lost (its socket buffer
	// overflowed). A lost advert of the old master makes its router's lag
	// look an interval longer.
	CaptureDropped uint64

	// The CPU figures split into user and system time (% of one core).
	// The lab's forwarding of an advert (switch, the other host's IP
	// input) runs on NAPI threads, not in the sender's system call (see
	// threadedRx); the sender pays its send and the capture's copy.
	// With tick-based CPU accounting the kernel splits the exact runtime
	// by where each tick found the process, so a daemon whose bursts keep
	// one phase against the tick gets a split that varies from run to
	// run while the total does not.
	MasterUserCPU, MasterSysCPU float64
	BackupUserCPU, BackupSysCPU float64
}

// Options vary a run beyond its Scenario.
type Options struct {
	// Observe is how long to watch the steady state for false takeovers
	// after the CPU window, under Load if set. 0: no such phase.
	Observe time.Duration
	// Load, if set, runs during the Observe phase.
	Load       Load
	NoTakeover bool // stop after Observe: no kill, no lags
	// Terminate ends the surviving daemons (both with NoTakeover) with
	// SIGTERM, and waits for them, rather than leaving them to the lab's
	// SIGKILL: a clean exit writes vrrpd's --cpuprofile.
	Terminate bool
}

// Settings of a run.
const (
	convergeTimeout = 120 * time.Second
	takeoverTimeout = 30 * time.Second
	cpuWindow       = 10 * time.Second
)

// Run puts the daemon on two lab hosts — h1 with priority 200, h2 with 100
// — waits until h1 is master of every VRID, measures steady CPU and RSS,
// kills h1's daemon (SIGKILL to its process group) and measures how long
// h2 takes over each VRID.
func Run(tb testing.TB, d Daemon, s Scenario) Result {
	return RunWith(tb, d, s, Options{})
}

// RunWith is Run with a steady phase watched for false takeovers between
// the CPU window and the kill (see Options).
func RunWith(tb testing.TB, d Daemon, s Scenario, o Options) Result {
	tb.Helper()
	p := startPair(tb, d, s)
	capture, l, w, master, backup, steady := p.capture, p.l, p.w, p.master, p.backup, p.steady
	var r Result
	r.Converge = p.converge

	r.MasterDownInterval = s.MasterDownInterval(100)
	shares, err := cpuShare([]int{master.Process.Pid, backup.Process.Pid}, cpuWindow)
	if err != nil {
		tb.Fatal(err)
	}
	r.MasterCPU, r.MasterUserCPU, r.MasterSysCPU = shares[0].Total, shares[0].User, shares[0].Sys
	r.BackupCPU, r.BackupUserCPU, r.BackupSysCPU = shares[1].Total, shares[1].User, shares[1].Sys
	if r.MasterRSS, r.MasterAnon, err = rss(master.Process.Pid); err != nil {
		tb.Fatal(err)
	}
	if r.BackupRSS, r.BackupAnon, err = rss(backup.Process.Pid); err != nil {
		tb.Fatal(err)
	}
	if o.Observe > 0 {
		var stop func()
		if o.Load != nil {
			stop = o.Load.Start(tb, master.Process.Pid, backup.Process.Pid)
		}
		deadline := time.Now().Add(o.Observe)
		for time.Now().Before(deadline) {
			time.Sleep(min(time.Second, time.Until(deadline))) // the phase itself
			w.poll()
		}
		if stop != nil {
			stop()
		}
	}

	if o.NoTakeover {
		w.poll()
		r.Observed = w.latest.Sub(steady)
		r.FalseTakeovers, r.DualMasters = Flaps(w.seen, l, steady, w.latest.Add(time.Nanosecond), 3*s.Interval)
		if o.Terminate { // after the count: the master's exit hands over
			terminate(tb, master)
			terminate(tb, backup)
		}
		return r
	}
	if err := syscall.Kill(-master.Process.Pid, syscall.SIGKILL); err != nil {
		tb.Fatal(err)
	}
	kill := time.Now()
	w.killed(kill)
	r.Observed = kill.Sub(steady)
	if err := waitUntil(takeoverTimeout, w.tookOver); err != nil {
		tb.Errorf("%s: h2 did not take over every router: %v", d.Name(), err)
	}
	capture.Stop()
	if r.CaptureDropped, err = capture.Dropped(); err != nil {
		tb.Logf("%s: %v", d.Name(), err)
	}
	if r.CaptureDropped > 0 {
		tb.Logf("%s: the capture dropped %d frames: a lag may be measured from an advert before the old master's last", d.Name(), r.CaptureDropped)
	}
	w.poll()
	r.FalseTakeovers, r.DualMasters = Flaps(w.seen, l, steady, kill, 3*s.Interval)
	r.Lags, r.Missing = Takeover(w.seen, l, r.MasterDownInterval)
	logTakeoverSpread(tb, w.seen, l, s.PerInterface(), kill)
	if o.Terminate {
		terminate(tb, backup)
	}
	return r
}

// LogsDir, if set, is where each daemon's output is copied when its run
// ends (vrrpd's -tags pprof build logs its memory use there).
var LogsDir string

// keepLog copies a daemon's output to -labbench.logs, named after the
// benchmark and the daemon on its host.
func keepLog(tb testing.TB, name, who string) {
	if LogsDir == "" {
		return
	}
	b, err := os.ReadFile(name)
	if err == nil {
		dst := strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name() + "-" + who)
		err = os.WriteFile(filepath.Join(LogsDir, dst+".log"), b, 0o644)
	}
	if err != nil {
		tb.Logf("keeping the log: %v", err)
	}
}

// pair is a run's two daemons on a fresh lab, converged: h1 master of
// every router, h2 backup.
type pair struct {
	l       Layout
	capture *netlab.Capture
	w       *watch
	// master and backup are the daemons on h1 (priority 200) and h2
	// (100); masterCfg is h1's keepalived.conf, masterLog its output.
	master, backup       *exec.Cmd
	masterCfg, masterLog string
	steady               time.Time     // the newest frame at convergence
	converge             time.Duration // from starting the daemons to steady
}

// startPair puts the daemon on two lab hosts with s's configuration — h1
// with priority 200, h2 with 100 — and waits until h1 is master of every
// VRID.
func startPair(tb testing.TB, d Daemon, s Scenario) *pair {
	tb.Helper()
	lab := netlab.New(tb, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	l := setupInterfaces(tb, lab, s, h1, h2)
	p := &pair{l: l, capture: lab.CaptureSent([]*netlab.Host{h1, h2}, l.Interfaces...)}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)

	start := func(h *netlab.Host, prio int) (cmd *exec.Cmd, cfg, logName string) {
		dir := tb.TempDir()
		cfg = filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(cfg, []byte(s.Config(h.Name, prio)), 0o644); err != nil {
			tb.Fatal(err)
		}
		log, err := os.Create(filepath.Join(dir, "log"))
		if err != nil {
			tb.Fatal(err)
		}
		cmd = d.Command(ctx, h, cfg, dir)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			tb.Fatalf("%s on %s: %v", d.Name(), h.Name, err)
		}
		tb.Cleanup(func() {
			log.Close()
			keepLog(tb, log.Name(), d.Name()+"-"+h.Name)
			if tb.Failed() {
				b, _ := os.ReadFile(log.Name())
				tb.Logf("%s on %s logged:\n%s", d.Name(), h.Name, tail(b, 4000))
			}
		})
		return cmd, cfg, log.Name()
	}
	t0 := time.Now()
	p.backup, _, _ = start(h2, 100)
	p.master, p.masterCfg, p.masterLog = start(h1, 200)

	// Converged: h1's latest advert for every VRID is recent and h2 has
	// been silent for a few intervals.
	p.w = newWatch(p.capture.Since, p.l)
	if err := waitUntil(convergeTimeout, func() bool { return p.w.converged(10 * s.Interval) }); err != nil {
		tb.Fatalf("%s: h1 never became master of all %d routers: %v", d.Name(), s.Routers, err)
	}
	p.converge = time.Since(t0)
	p.steady = p.w.latest
	return p
}

// terminate stops cmd's group with SIGTERM and waits for it to exit.
func terminate(tb testing.TB, cmd *exec.Cmd) {
	tb.Helper()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		tb.Error(err)
		return
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		tb.Error("the daemon did not exit within 30 s of SIGTERM")
	}
}

// setupInterfaces gives both hosts the scenario's interfaces and returns
// their layout. Beyond eth0, interface k of a host is one more veth, and
// the two hosts' interface k meet on a bridge of their own in the switch:
// a segment each, as VLANs would be (VLAN devices need the 8021q module and
// VLAN-filtering bridges a kernel option, which the machine may lack).
func setupInterfaces(tb testing.TB, lab *netlab.Lab, s Scenario, h1, h2 *netlab.Host) Layout {
	tb.Helper()
	l := Layout{PerInterface: s.PerInterface()}
	for k := range s.ifaces() {
		l.Interfaces = append(l.Interfaces, s.Interface(k))
	}
	if s.ifaces() == 1 {
		l.Old, l.New = []netip.Addr{h1.IPv4}, []netip.Addr{h2.IPv4}
		threadedRx(tb, lab, h1, h2, l.Interfaces, []string{h1.SwitchPort(), h2.SwitchPort()})
		return l
	}
	var sw strings.Builder
	var ports []string // the switch's ends
	hosts := map[*netlab.Host]*strings.Builder{h1: {}, h2: {}}
	// One bridge per segment rather than one filtered bridge: a bridge
	// floods a multicast frame to each of its ports, inside the sender's
	// system call, and on one bridge for all segments every advert was
	// copied to every other segment's ports for a filter to drop there
	// (the filter alone a fifth of a master's CPU).
	for k := range s.ifaces() {
		br := fmt.Sprintf("seg%d", k)
		fmt.Fprintf(&sw, "link add %s type bridge mcast_snooping 0 stp_state 0\nlink set %s up\n", br, br)
		for _, h := range []*netlab.Host{h1, h2} {
			port := fmt.Sprintf("s%dh%d", k, h.Index)
			ports = append(ports, port)
			fmt.Fprintf(&sw, "link add %s type veth peer name %s netns %s\n", port, s.Interface(k), h.Namespace)
			fmt.Fprintf(&sw, "link set %s master %s\nlink set %s up\n", port, br, port)
			fmt.Fprintf(hosts[h], "addr add %s/24 dev %s\nlink set %s up\n", vlanAddr(k, byte(h.Index)), s.Interface(k), s.Interface(k))
		}
		l.Old = append(l.Old, vlanAddr(k, byte(h1.Index)))
		l.New = append(l.New, vlanAddr(k, byte(h2.Index)))
	}
	run := func(cmds string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(cmds)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run(sw.String(), "ip", "-n", lab.SwitchNamespace(), "-batch", "-")
	run(hosts[h1].String(), "ip", "-n", h1.Namespace, "-batch", "-")
	run(hosts[h2].String(), "ip", "-n", h2.Namespace, "-batch", "-")
	threadedRx(tb, lab, h1, h2, l.Interfaces, ports)
	return l
}

// threadedRx has the hosts' interfaces ifnames and the switch's ports
// receive on NAPI threads, as a NIC's driver takes frames off the wire on
// its own time: without it the switch's forwarding of each advert, the
// other host's IP input and the capture's copy ran inside the sender's
// system call and counted as its CPU (half of a master's). The capture
// is then in the hosts, where frames are stamped as they leave.
func threadedRx(tb testing.TB, lab *netlab.Lab, h1, h2 *netlab.Host, ifnames, ports []string) {
	tb.Helper()
	netlab.NeedTool(tb, "ethtool", "to move the lab's forwarding off the daemons' CPU")
	for _, h := range []*netlab.Host{h1, h2} {
		if err := netlab.ThreadedRx(h.Namespace, ifnames...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := netlab.ThreadedRx(lab.SwitchNamespace(), ports...); err != nil {
		tb.Fatal(err)
	}
}

// Report puts a result into a benchmark's output.
func (r Result) Report(b *testing.B) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	if len(r.Lags) > 0 || len(r.Missing) > 0 {
		b.ReportMetric(ms(Percentile(r.Lags, 50)), "lag-p50-ms")
		b.ReportMetric(ms(Percentile(r.Lags, 90)), "lag-p90-ms")
		b.ReportMetric(ms(Percentile(r.Lags, 99)), "lag-p99-ms")
		b.ReportMetric(ms(Percentile(r.Lags, 100)), "lag-max-ms")
		b.ReportMetric(float64(len(r.Missing)), "vrids-not-taken-over")
	}
	b.ReportMetric(r.MasterCPU, "master-cpu-%")
	b.ReportMetric(r.BackupCPU, "backup-cpu-%")
	b.ReportMetric(r.MasterUserCPU, "master-user-cpu-%")
	b.ReportMetric(r.MasterSysCPU, "master-sys-cpu-%")
	b.ReportMetric(r.BackupUserCPU, "backup-user-cpu-%")
	b.ReportMetric(r.BackupSysCPU, "backup-sys-cpu-%")
	b.ReportMetric(float64(r.MasterRSS)/(1<<20), "master-rss-MB")
	b.ReportMetric(float64(r.BackupRSS)/(1<<20), "backup-rss-MB")
	b.ReportMetric(float64(r.MasterAnon)/(1<<20), "master-anon-MB")
	b.ReportMetric(float64(r.BackupAnon)/(1<<20), "backup-anon-MB")
	b.ReportMetric(r.Converge.Seconds(), "converge-s")
	b.ReportMetric(r.Observed.Seconds(), "observed-s")
	b.ReportMetric(float64(r.FalseTakeovers), "false-takeovers")
	b.ReportMetric(float64(r.DualMasters), "dual-masters")
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
	l              Layout
	n              int
	next           int
	seen           []Seen
	latest         time.Time   // newest frame
	masterLast     []time.Time // per router: h1's newest advert with priority > 0
	backupLast     time.Time   // h2's newest advert
	after          time.Time   // the kill; zero before
	takenOver      []bool      // per router: h2 advertised (priority > 0) after the kill
	takenOverCount int
}

func newWatch(since func(int) ([]netlab.Frame, int), l Layout) *watch {
	n := l.Routers()
	return &watch{since: since, l: l, n: n,
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
		h, v := w.l.router(s)
		switch {
		case h == 2:
			if s.Time.After(w.backupLast) {
				w.backupLast = s.Time
			}
			if !w.after.IsZero() && s.Priority > 0 && s.Time.After(w.after) && !w.takenOver[v] {
				w.takenOver[v] = true
				w.takenOverCount++
			}
		case h == 1 && s.Priority > 0:
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
