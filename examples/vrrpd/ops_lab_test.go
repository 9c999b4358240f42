package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// opsConf is one VRRPv3 instance at 100 ms with one VIP.
func opsConf(prio int, extra string) string {
	return fmt.Sprintf(`vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  version 3
  priority %d
  advert_int 0.1
  virtual_ipaddress {
    10.0.0.100/24
  }
%s}
`, prio, extra)
}

var opsVIP = netip.MustParsePrefix("10.0.0.100/24")

// scrapeMetrics GETs /metrics from a vrrpd's unix socket.
func scrapeMetrics(t *testing.T, sock string) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	resp, err := c.Get("http://vrrpd" + metricsPath)
	if err != nil {
		t.Fatalf("scrape %s: %v", sock, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %s: %s", sock, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", sock, err)
	}
	return mfs
}

// metricValue is the value of the series of name whose labels include
// want; ok false when there is none.
func metricValue(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsFollowAFailoverInTheLab: two vrrpds serve --metrics; the
// scrapes show the master and the backup, the adverts counted on both
// sides, and after the master stops, the priority-0 advert and the
// takeover on the other.
func TestMetricsFollowAFailoverInTheLab(t *testing.T) {
	lab := netlab.New(t, 2)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	d1, d2 := t.TempDir(), t.TempDir()
	m1, m2 := filepath.Join(d1, "metrics.sock"), filepath.Join(d2, "metrics.sock")
	v1 := ld.vrrpd(h1, d1, opsConf(200, ""), "--metrics", "unix:"+m1)
	v2 := ld.vrrpd(h2, d2, opsConf(100, ""), "--metrics", "unix:"+m2)
	v1.awaitStatus("h1 MASTER", inState("VI_1", "MASTER"))
	v2.awaitStatus("h2 BACKUP following h1", func(st *Status) bool {
		in := instanceStatus(st, "VI_1")
		return in != nil && in.State == "BACKUP" && in.Master == h1.IPv4.String()
	})

	vi1 := map[string]string{"iname": "VI_1", "intf": "eth0", "vrid": "51"}
	vip := map[string]string{"iname": "VI_1", "intf": "eth0", "vrid": "51", "ip_address": "10.0.0.100/24"}
	type want struct {
		name   string
		labels map[string]string
		value  float64
	}
	check := func(who string, mfs map[string]*dto.MetricFamily, ws ...want) {
		t.Helper()
		for _, w := range ws {
			if got, ok := metricValue(mfs, w.name, w.labels); !ok || got != w.value {
				t.Errorf("%s: %s%v = %v (found %v), want %v", who, w.name, w.labels, got, ok, w.value)
			}
		}
	}
	s1, s2 := scrapeMetrics(t, m1), scrapeMetrics(t, m2)
	check("h1", s1, want{"keepalived_vrrp_state", vip, 2}, want{"keepalived_become_master_total", vi1, 1},
		want{"vrrpkit_master", vi1, 1}, want{"vrrpkit_priority", vi1, 200}, want{"keepalived_up", nil, 1},
		want{"vrrpkit_build_info", nil, 1})
	check("h2", s2, want{"keepalived_vrrp_state", vip, 1}, want{"keepalived_become_master_total", vi1, 0},
		want{"vrrpkit_master", vi1, 0}, want{"keepalived_priority_zero_received_total", vi1, 0})
	sent, _ := metricValue(s1, "keepalived_advertisements_sent_total", vi1)
	rcvd, _ := metricValue(s2, "keepalived_advertisements_received_total", vi1)
	if sent < 1 || rcvd < 1 {
		t.Errorf("adverts: h1 sent %v, h2 received %v; want both ≥ 1", sent, rcvd)
	}
	// The counters move with the adverts.
	if err := poll(func() bool {
		n, _ := metricValue(scrapeMetrics(t, m2), "keepalived_advertisements_received_total", vi1)
		return n >= rcvd+5
	}); err != nil {
		t.Errorf("h2's keepalived_advertisements_received_total stayed near %v: %v", rcvd, err)
	}
	if drops, _ := metricValue(s2, "vrrpkit_drops_total", map[string]string{"iname": "VI_1", "reason": "ttl"}); drops != 0 {
		t.Errorf("h2 dropped %v adverts for their TTL", drops)
	}

	// h1 stops: it sends priority 0, h2 takes over.
	v1.terminate()
	v2.awaitStatus("h2 MASTER", inState("VI_1", "MASTER"))
	s2 = scrapeMetrics(t, m2)
	check("h2 after the takeover", s2, want{"keepalived_vrrp_state", vip, 2}, want{"keepalived_become_master_total", vi1, 1},
		want{"vrrpkit_master", vi1, 1}, want{"keepalived_priority_zero_received_total", vi1, 1},
		want{"keepalived_release_master_total", vi1, 0})
	// With the Node's Observer (vrrp.NodeConfig.Observer), the takeover
	// is in the histogram.
	if _, observed := s2["vrrpkit_takeover_latency_seconds"]; observed {
		check("h2 after the takeover", s2, want{"vrrpkit_takeover_latency_seconds", vi1, 1})
		if n, _ := metricValue(s2, "vrrpkit_backend_operation_seconds", map[string]string{"op": "acquire"}); n < 1 {
			t.Errorf("h2: no acquire in vrrpkit_backend_operation_seconds")
		}
	} else {
		t.Log("this vrrp has no NodeConfig.Observer: the latency histograms are not exported")
	}
	if _, err := os.Stat(m1); err == nil {
		t.Errorf("h1 left its metrics socket %s behind", m1)
	}
}

// TestMetricsRefusesARemoteAddress: vrrpd does not start with a metrics
// address other hosts can reach unless told so (a usage error, before
// anything is opened).
func TestMetricsRefusesARemoteAddress(t *testing.T) {
	var out strings.Builder
	code := run([]string{"--metrics", "0.0.0.0:9650", "-f", filepath.Join("testdata", "pass-pair", "node1.conf")}, &out, &out)
	if code != 2 || !strings.Contains(out.String(), "reachable from other hosts") {
		t.Errorf("vrrpd --metrics 0.0.0.0:9650: exit %d:\n%s", code, out.String())
	}
}

// TestSystemdNotifyInTheLab: vrrpd under a NOTIFY_SOCKET says READY=1
// once its instance knows its state, pets the watchdog, RELOADING=1 and
// READY=1 around SIGHUP, and STOPPING=1 before it releases its address.
func TestSystemdNotifyInTheLab(t *testing.T) {
	lab := netlab.New(t, 1)
	ld := newLabDaemon(t, lab)
	h := lab.Host(1)
	sock, ch := notifySocket(t)
	dir := t.TempDir()
	v := ld.vrrpdEnv(h, dir, opsConf(100, ""), []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=400000"})

	next := func(what string, match func(string) bool) string {
		t.Helper()
		deadline := time.After(waitTimeout)
		for {
			select {
			case m := <-ch:
				if match(m) {
					return m
				}
				if m != "WATCHDOG=1" {
					t.Errorf("while waiting for %s: unexpected %q", what, m)
				}
			case <-deadline:
				t.Fatalf("no %s within %v", what, waitTimeout)
			}
		}
	}
	ready := next("READY=1", func(m string) bool { return strings.HasPrefix(m, "READY=1") })
	if !strings.Contains(ready, "STATUS=1 instances: 1 ") || strings.Contains(ready, "INIT") {
		t.Errorf("READY said %q, want the instance's first state", ready)
	}
	pets := 0
	for pets < 3 {
		next("WATCHDOG=1", func(m string) bool { return m == "WATCHDOG=1" })
		pets++
	}
	if err := v.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloading := next("RELOADING=1", func(m string) bool { return strings.HasPrefix(m, "RELOADING=1") })
	if !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=[0-9]+$`).MatchString(reloading) {
		t.Errorf("reload notification %q", reloading)
	}
	next("READY=1 after the reload", func(m string) bool { return strings.HasPrefix(m, "READY=1") })
	v.awaitStatus("MASTER", inState("VI_1", "MASTER"))
	if err := v.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("STOPPING=1", func(m string) bool { return m == "STOPPING=1" })
	<-v.exited
}

// unprivilegedUser is who the no-root test runs vrrpd as.
const unprivilegedUID = 65534 // nobody

// TestVrrpdRunsWithoutRoot: vrrpd as an unprivileged user with only
// CAP_NET_ADMIN and CAP_NET_RAW (what the systemd unit gives it) becomes
// master, adds its address and no_accept table, hands over to its peer
// when it stops and removes both, and takes the address back when it
// returns.
func TestVrrpdRunsWithoutRoot(t *testing.T) {
	setpriv := netlab.NeedTool(t, "setpriv", "to drop root and keep two capabilities")
	lab := netlab.New(t, 2)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	both := []*netlab.Host{h1, h2}

	// What nobody may read and run: a copy of this binary, its config,
	// a directory for its pid file and status socket.
	dir, err := os.MkdirTemp("", "vrrpd-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "vrrpd")
	copyFile(t, self, exe, 0o755)
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(run, unprivilegedUID, unprivilegedUID); err != nil {
		t.Fatal(err)
	}
	cfg := writeConf(t, dir, "vrrpd.conf", opsConf(200, "  no_accept\n"))
	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	startUnprivileged := func() *proc {
		cmd := h1.Command(context.Background(), setpriv,
			"--reuid="+strconv.Itoa(unprivilegedUID), "--regid="+strconv.Itoa(unprivilegedUID), "--clear-groups",
			"--inh-caps=-all,+net_admin,+net_raw", "--ambient-caps=-all,+net_admin,+net_raw", "--bounding-set=-all,+net_admin,+net_raw",
			exe, "-n", "-l", "-D", "-f", cfg, "-p", filepath.Join(run, "vrrpd.pid"),
			"--status", "unix:"+filepath.Join(run, "status.sock"), "--notify-timeout", "5s")
		cmd.Env = append(os.Environ(), daemonEnv+"=1")
		p := ld.start("vrrpd(nobody)@h1", h1, run, cmd)
		return p
	}

	v2 := ld.vrrpd(h2, t.TempDir(), opsConf(100, ""))
	v2.awaitStatus("h2 MASTER alone", inState("VI_1", "MASTER"))
	v1 := startUnprivileged()
	v1.awaitStatus("unprivileged h1 MASTER", inState("VI_1", "MASTER"))
	checkUnprivileged(t, v1.cmd.Process.Pid)
	awaitHolders(t, []netip.Prefix{opsVIP}, []string{"h1"}, both...)
	if tables, err := h1.NFTables(); err != nil || !slices.ContainsFunc(tables, isVrrpkitTable) {
		t.Errorf("no_accept table of the unprivileged master: %v, %v", tables, err)
	}

	// It stops: priority 0, address and table removed, h2 takes over.
	v1.terminate()
	awaitHolders(t, []netip.Prefix{opsVIP}, []string{"h2"}, both...)
	if tables, err := h1.NFTables(); err != nil || slices.ContainsFunc(tables, isVrrpkitTable) {
		t.Errorf("no_accept table after the unprivileged vrrpd stopped: %v, %v", tables, err)
	}

	// It returns and preempts.
	v1 = startUnprivileged()
	v1.awaitStatus("unprivileged h1 MASTER again", inState("VI_1", "MASTER"))
	awaitHolders(t, []netip.Prefix{opsVIP}, []string{"h1"}, both...)
	if lines := v1.log.grep(0, regexp.MustCompile(`(?i)operation not permitted|permission denied`)); len(lines) > 0 {
		t.Errorf("the unprivileged vrrpd was refused something:\n%s", strings.Join(lines, "\n"))
	}
	v1.terminate()
	awaitHolders(t, []netip.Prefix{opsVIP}, []string{"h2"}, both...)
}

// checkUnprivileged: the process runs as the unprivileged user with
// CAP_NET_ADMIN and CAP_NET_RAW and no other capability.
func checkUnprivileged(t *testing.T, pid int) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	const want = 1<<12 | 1<<13 // CAP_NET_ADMIN, CAP_NET_RAW
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "Uid":
			if f := strings.Fields(v); len(f) < 2 || f[1] != strconv.Itoa(unprivilegedUID) {
				t.Errorf("vrrpd runs as uid %q, want %d", v, unprivilegedUID)
			}
		case "CapEff", "CapPrm":
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil || n != want {
				t.Errorf("vrrpd's %s = %s, want %x (CAP_NET_ADMIN and CAP_NET_RAW only)", k, v, want)
			}
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// TestStatsClearRestartsTheDumpsCounts: after keepalived's STATS_CLEAR
// signal the stats file counts from zero again, while the status (and
// the metrics) keep the totals.
func TestStatsClearRestartsTheDumpsCounts(t *testing.T) {
	lab := netlab.New(t, 1)
	ld := newLabDaemon(t, lab)
	dir, tmp := t.TempDir(), t.TempDir()
	v := ld.vrrpdEnv(lab.Host(1), dir, opsConf(100, ""), []string{"TMPDIR=" + tmp})
	v.awaitStatus("10 adverts sent", func(st *Status) bool {
		in := instanceStatus(st, "VI_1")
		return in != nil && in.Counters.AdvertsSent >= 10
	})
	sent := func(sig syscall.Signal) uint64 {
		t.Helper()
		path := filepath.Join(tmp, statsFile)
		os.Remove(path)
		if err := v.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		var n uint64
		err := poll(func() bool {
			b, err := os.ReadFile(path)
			if err != nil {
				return false
			}
			m := regexp.MustCompile(`(?m)^  Advertisements:\n    Received: \d+\n    Sent: (\d+)$`).FindSubmatch(b)
			if m == nil {
				return false
			}
			n, _ = strconv.ParseUint(string(m[1]), 10, 64)
			return true
		})
		if err != nil {
			t.Fatalf("no stats file after signal %d: %v", sig, err)
		}
		return n
	}
	before := sent(sigStatsClear)
	if before < 10 {
		t.Fatalf("STATS_CLEAR's dump says %d adverts sent, want the total (≥ 10)", before)
	}
	after := sent(syscall.SIGUSR2)
	total := instanceStatus(v.status(), "VI_1").Counters.AdvertsSent
	if after > total-before {
		t.Errorf("after STATS_CLEAR the stats file says %d sent; want at most the %d sent since (total %d)", after, total-before, total)
	}
	if total < before {
		t.Errorf("the status total (%d) went back below the cleared count (%d)", total, before)
	}
}

// isVrrpkitTable: the no_accept table of vip's Linux backend ("vrrpkit",
// or "vrrpkit-PID-N" per backend).
func isVrrpkitTable(name string) bool {
	return name == "vrrpkit" || strings.HasPrefix(name, "vrrpkit-")
}
