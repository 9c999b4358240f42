package main

import (
	"bytes"
	"context"
	"errors"
	"log/syslog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestSignumMatchesKeepalived: --signum prints the numbers keepalived
// prints for the same names, and refuses the same names.
func TestSignumMatchesKeepalived(t *testing.T) {
	ka := netlab.NeedTool(t, "keepalived", "to compare --signum with keepalived's")
	for _, name := range []string{"STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON", "data", "TDATA"} {
		want, err := exec.Command(ka, "--signum="+name).Output()
		wantCode := 0
		if ee, ok := err.(*exec.ExitError); ok {
			wantCode = ee.ExitCode()
		}
		var out, errOut bytes.Buffer
		code := run([]string{"--signum=" + name}, &out, &errOut)
		if code != wantCode || out.String() != string(want) {
			t.Errorf("--signum=%s: exit %d, %q; keepalived: exit %d, %q", name, code, out.String(), wantCode, want)
		}
	}
}

func TestVersionNamesModuleAndRevision(t *testing.T) {
	for _, c := range []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}}, "vrrpd v0.3.1 (vrrpkit)"},
		{debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201120000-0123456789ab"}},
			"vrrpd v0.0.0-20261201120000-0123456789ab (vrrpkit, revision 0123456789ab)"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "a0a1bc8deadbeef"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			"vrrpd (devel) (vrrpkit, revision a0a1bc8deadbeef+modified of 2026-12-01T10:00:00Z)"},
		{debug.BuildInfo{}, "vrrpd (devel) (vrrpkit)"},
	} {
		if got := versionOf(&c.bi).String(); !strings.HasPrefix(got, c.want+", keepalived.conf") {
			t.Errorf("version of %+v = %q, want %q...", c.bi.Main, got, c.want)
		}
	}
}

// TestMetricsAddressMustBeLocal: --metrics serves on a unix socket or
// loopback unless --metrics-allow-remote says otherwise.
func TestMetricsAddressMustBeLocal(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"unix:/run/vrrpd/metrics.sock", false, true},
		{"/run/vrrpd/metrics.sock", false, true},
		{"127.0.0.1:9650", false, true},
		{"[::1]:9650", false, true},
		{"localhost:9650", false, true},
		{":9650", false, false},
		{"0.0.0.0:9650", false, false},
		{"10.0.0.1:9650", false, false},
		{"lb1.example:9650", false, false},
		{":9650", true, true},
		{"10.0.0.1:9650", true, true},
		{"unix:", false, false},
		{"9650", false, false},
	} {
		_, _, err := metricsListenAddr(c.addr, c.remote)
		if (err == nil) != c.ok {
			t.Errorf("--metrics %s (allow remote %v): %v, want ok=%v", c.addr, c.remote, err, c.ok)
		}
		if !c.ok && !c.remote && strings.Contains(c.addr, ":9650") && !errors.Is(err, errRemoteMetrics) {
			t.Errorf("--metrics %s: %v, want the remote-address refusal", c.addr, err)
		}
	}
}

// notifySocket is a NOTIFY_SOCKET for a test: what the daemon sends
// arrives on the returned channel, one datagram per message.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return path, ch
}

func nextNotify(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no notification")
	}
	return ""
}

// TestNotifierSpeaksSystemdsProtocol: one datagram per notification to
// $NOTIFY_SOCKET, which is then taken out of the environment scripts
// inherit.
func TestNotifierSpeaksSystemdsProtocol(t *testing.T) {
	path, ch := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", path)
	n, err := newNotifier(zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	if v, ok := os.LookupEnv("NOTIFY_SOCKET"); ok {
		t.Errorf("NOTIFY_SOCKET=%s still set for children", v)
	}
	n.send("READY=1", "STATUS=2 instances: 2 MASTER")
	n.send("RELOADING=1", "MONOTONIC_USEC="+monotonicUsec())
	n.send("STOPPING=1")
	if m := nextNotify(t, ch); m != "READY=1\nSTATUS=2 instances: 2 MASTER" {
		t.Errorf("first notification %q", m)
	}
	m := nextNotify(t, ch)
	usec, ok := strings.CutPrefix(m, "RELOADING=1\nMONOTONIC_USEC=")
	if _, err := strconv.ParseUint(usec, 10, 64); !ok || err != nil {
		t.Errorf("reload notification %q", m)
	}
	if m := nextNotify(t, ch); m != "STOPPING=1" {
		t.Errorf("stop notification %q", m)
	}

	t.Setenv("NOTIFY_SOCKET", "relative.sock")
	if _, err := newNotifier(zap.NewNop()); err == nil {
		t.Error("a relative NOTIFY_SOCKET was accepted")
	}
}

func TestWatchdogIntervalIsHalfOfWatchdogUsec(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if got := watchdogInterval(); got != 2*time.Second {
		t.Errorf("interval %v, want 2s", got)
	}
	t.Setenv("WATCHDOG_PID", "1")
	if got := watchdogInterval(); got != 0 {
		t.Errorf("another process's watchdog: interval %v, want 0", got)
	}
	t.Setenv("WATCHDOG_USEC", "")
	if got := watchdogInterval(); got != 0 {
		t.Errorf("no watchdog: interval %v", got)
	}
}

// TestWatchdogStopsPettingAStuckLoop: the watchdog is petted while the
// loop answers Ping, never while it is stuck, and again once it answers.
func TestWatchdogStopsPettingAStuckLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		stuck, resumed := make(chan struct{}), make(chan struct{}) // closed at 2.5 s and 7.5 s
		ping := func(ctx context.Context) error {
			select {
			case <-stuck:
			default:
				return nil
			}
			select {
			case <-resumed:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var pets []time.Duration
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			watchdog(ctx, time.Second, ping, func() { pets = append(pets, time.Since(start)) }, zap.NewNop())
			close(done)
		}()
		time.Sleep(2500 * time.Millisecond)
		close(stuck)
		time.Sleep(5 * time.Second)
		close(resumed)
		time.Sleep(1200 * time.Millisecond)
		cancel()
		<-done
		want := []time.Duration{0, time.Second, 2 * time.Second, 7500 * time.Millisecond, 8 * time.Second}
		if !slices.Equal(pets, want) {
			t.Errorf("petted at %v, want %v (none while stuck from 2.5 s to 7.5 s)", pets, want)
		}
	})
}

// TestSyslogGetsTheFacilityAndSeverity: with -S, each line goes to syslog
// at the facility given and the severity of its level.
func TestSyslogGetsTheFacilityAndSeverity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := parseFacility("local3")
	if err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	log, closeLog, err := buildLogger(&console, logConfig{syslog: true, facility: f, syslogNet: "unixgram", syslogAddr: path})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("(VI_1) Entering MASTER STATE")
	log.Warn("(VI_1) odd", zap.Int("n", 2))
	closeLog()
	buf := make([]byte, 2048)
	for _, want := range []struct{ pri, msg string }{
		{"<" + strconv.Itoa(int(syslog.LOG_LOCAL3|syslog.LOG_INFO)) + ">", "vrrpd[" + strconv.Itoa(os.Getpid()) + "]: (VI_1) Entering MASTER STATE"},
		{"<" + strconv.Itoa(int(syslog.LOG_LOCAL3|syslog.LOG_WARNING)) + ">", `(VI_1) odd {"n": 2}`},
	} {
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		line := string(buf[:n])
		if !strings.HasPrefix(line, want.pri) || !strings.Contains(line, want.msg) {
			t.Errorf("syslog got %q, want %s...%s", line, want.pri, want.msg)
		}
	}
	if !strings.Contains(console.String(), ": (VI_1) Entering MASTER STATE") {
		t.Errorf("the console lost the line: %q", console.String())
	}
}

func TestJSONLogsAreOneObjectPerLine(t *testing.T) {
	var console bytes.Buffer
	log, _, err := buildLogger(&console, logConfig{json: true})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("(VI_1) Entering MASTER STATE", zap.String("router", "VI_1"))
	line := strings.TrimSpace(console.String())
	for _, want := range []string{`"level":"info"`, `"msg":"(VI_1) Entering MASTER STATE"`, `"router":"VI_1"`, `"time":"`} {
		if !strings.Contains(line, want) {
			t.Errorf("JSON log line %s lacks %s", line, want)
		}
	}
}

// TestConsoleLogsAsKeepalived: without --log-format, a line is what
// keepalived --log-console writes: a ctime stamp, a colon, the message.
func TestConsoleLogsAsKeepalived(t *testing.T) {
	var console bytes.Buffer
	newLogger(&console, false).Info("(VI_1) Entering MASTER STATE")
	line := strings.TrimSpace(console.String())
	if !regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}: \(VI_1\) Entering MASTER STATE$`).MatchString(line) {
		t.Errorf("console line %q, want keepalived's", line)
	}
}
