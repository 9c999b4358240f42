package main

import (
	"bytes"
	"errors"
	"log/syslog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseOptionsTakesKeepalivedCommandLines(t *testing.T) {
	base := func(f func(o *options)) *options {
		o := &options{configFile: defaultConfigFile, pidFile: defaultPidFile, status: defaultStatusAddr, umask: -1, notifyTTL: defaultNotifyTimeout}
		f(o)
		return o
	}
	for _, c := range []struct {
		name string
		args []string
		want *options
	}{
		{"none", nil, base(func(o *options) {})},
		{"systemd unit", []string{"--dont-fork", "--log-console", "--no-syslog", "--vrrp", "-f", "/k.conf", "-p", "/k.pid", "-r", "/v.pid"},
			base(func(o *options) {
				o.configFile, o.pidFile, o.vrrpPidFile, o.logConsole = "/k.conf", "/k.pid", "/v.pid", true
				o.noSyslog = true
				o.ignored = []string{"--dont-fork (vrrpd always runs in the foreground)", "--vrrp (vrrpd is VRRP only)"}
			})},
		{"kolla's -nld", []string{"-nld", "-p", "/run/keepalived.pid"}, base(func(o *options) {
			o.logConsole, o.dumpConfig, o.pidFile = true, true, "/run/keepalived.pid"
			o.ignored = []string{"-n (vrrpd always runs in the foreground)"}
		})},
		{"clustered with a value", []string{"-nlDf/etc/k.conf"}, base(func(o *options) {
			o.logConsole, o.logDetail, o.log.detail, o.configFile = true, true, true, "/etc/k.conf"
			o.ignored = []string{"-n (vrrpd always runs in the foreground)"}
		})},
		{"clustered, value next", []string{"-lDf", "/etc/k.conf"}, base(func(o *options) {
			o.logConsole, o.logDetail, o.log.detail, o.configFile = true, true, true, "/etc/k.conf"
		})},
		{"long with =", []string{"--use-file=/a", "--pid=/b", "--vrrp_pid", "/c", "--log-detail"}, base(func(o *options) {
			o.configFile, o.pidFile, o.vrrpPidFile, o.logDetail, o.log.detail = "/a", "/b", "/c", true, true
		})},
		{"config test", []string{"-t"}, base(func(o *options) { o.check = true })},
		{"config test to a file", []string{"-t/tmp/out"}, base(func(o *options) { o.check, o.checkLog = true, "/tmp/out" })},
		{"config test long", []string{"--config-test=/tmp/out"}, base(func(o *options) { o.check, o.checkLog = true, "/tmp/out" })},
		{"--check", []string{"--check", "-f", "x"}, base(func(o *options) { o.check, o.configFile = true, "x" })},
		{"status and timeout", []string{"--status", "unix:/s", "--notify-timeout=5s"}, base(func(o *options) {
			o.status, o.statusSet, o.notifyTTL = "unix:/s", true, 5*time.Second
		})},
		{"umask octal", []string{"-u", "022"}, base(func(o *options) { o.umask = 0o22 })},
		{"config id", []string{"-i", "lb1"}, base(func(o *options) { o.configID = "lb1" })},
		{"ignored with values", []string{"--checkers_pid=/x", "-c", "/y"}, base(func(o *options) {
			o.ignored = []string{"--checkers_pid (vrrpd has no health-checker process)", "-c (vrrpd has no health-checker process)"}
		})},
		{"syslog facility", []string{"-S", "local3"}, base(func(o *options) {
			o.log.syslog, o.log.facility = true, syslog.LOG_LOCAL3
		})},
		{"syslog facility by number, then -G", []string{"-S5", "-G"}, base(func(o *options) {
			o.log.facility, o.noSyslog = syslog.LOG_LOCAL5, true
		})},
		{"syslog daemon", []string{"--log-facility=daemon"}, base(func(o *options) {
			o.log.syslog, o.log.facility = true, syslog.LOG_DAEMON
		})},
		{"json logs and metrics", []string{"--log-format=json", "--metrics", "unix:/run/vrrpd/metrics.sock", "--metrics-allow-remote"}, base(func(o *options) {
			o.log.json, o.metrics, o.metricsRemote = true, "unix:/run/vrrpd/metrics.sock", true
		})},
		{"end of options", []string{"-l", "--"}, base(func(o *options) { o.logConsole = true })},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseOptions(c.args)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got, cmp.AllowUnexported(options{}, logConfig{})); d != "" {
				t.Errorf("parseOptions(%q) (-want +got):\n%s", c.args, d)
			}
		})
	}
}

func TestParseOptionsRefusesWhatItCannotDo(t *testing.T) {
	for _, args := range [][]string{
		{"-C"},                 // keepalived's checker-only: vrrpd has none
		{"--bogus"},            // unknown
		{"-q"},                 // unknown short
		{"-f"},                 // missing value
		{"--use-file"},         // missing value
		{"config.conf"},        // operands
		{"--dont-fork=yes"},    // a flag with a value
		{"-S", "local8"},       // no such facility
		{"--log-format=xml"},   // no such format
		{"--metrics=:9650"},    // all addresses without --metrics-allow-remote
		{"--notify-timeout=x"}, // bad duration
		{"-u", "999"},          // bad umask
		{"--", "x"},            // operand after --
	} {
		if _, err := parseOptions(args); !errors.Is(err, errUsage) {
			t.Errorf("parseOptions(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestRunAnswersSignumVersionAndHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--signum=RELOAD"}, 0, "1\n"},
		{[]string{"--signum", "STOP"}, 0, "15\n"},
		{[]string{"--signum=DATA"}, 0, "10\n"},
		{[]string{"--signum=STATS"}, 0, "12\n"},
		{[]string{"--signum=STATS_CLEAR"}, 0, "63\n"},
		{[]string{"--signum=JSON"}, 0, "36\n"},
		{[]string{"--signum=data"}, 1, ""}, // keepalived's names are upper case
		{[]string{"--signum=TDATA"}, 1, ""},
		{[]string{"-v"}, 0, "vrrpd "},
		{[]string{"--help"}, 0, "Usage: vrrpd"},
		{[]string{"-C"}, 2, ""},
	} {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		if code != c.code || !strings.HasPrefix(out.String(), c.out) {
			t.Errorf("run(%q) = %d, %q (stderr %q); want %d, %q...", c.args, code, out.String(), errOut.String(), c.code, c.out)
		}
	}
}

func TestCheckReportsErrorsWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConf(t, dir, "k.conf", "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n")
	var out bytes.Buffer
	if code := run([]string{"--check", "-f", cfg}, &out, &out); code != 1 {
		t.Errorf("--check of a bad file: exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), cfg+":3: virtual_router_id") {
		t.Errorf("--check said:\n%s\nwant the error at %s:3", out.String(), cfg)
	}
	log := dir + "/report"
	if code := run([]string{"-t" + log, "-f", cfg}, &out, &out); code != 1 {
		t.Errorf("-t of a bad file: exit %d, want 1", code)
	}
	b, err := readFile(log)
	if err != nil || !strings.Contains(b, "configuration has errors") {
		t.Errorf("-tFILE wrote %q, %v", b, err)
	}
}

// The check accepts an auth_hmac instance (with a key file kept to the
// rules) and shows no key.
func TestCheckAcceptsAuthHMAC(t *testing.T) {
	dir := t.TempDir()
	const secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	if err := os.WriteFile(dir+"/k1.key", []byte("hex:"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConf(t, dir, "k.conf", "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1\n  }\n"+
		"  auth_hmac {\n    key 1 file:k1.key\n    key 2 hex:"+secret+"\n    active_key 1\n  }\n}\n")
	var out bytes.Buffer
	if code := run([]string{"--check", "-f", cfg}, &out, &out); code != 0 {
		t.Errorf("--check: exit %d, want 0:\n%s", code, out.String())
	}
	if strings.Contains(out.String(), secret[:16]) {
		t.Errorf("--check shows the key:\n%s", out.String())
	}
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}
