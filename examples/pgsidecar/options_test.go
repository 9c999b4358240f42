package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	base := []string{"--interface", "eth0", "--vrid", "51", "--vip", "10.0.0.100/24"}
	o, err := parseOptions(base)
	if err != nil {
		t.Fatal(err)
	}
	if o.mode != modeFollow || o.priority != 200 || o.interval != time.Second || o.check != time.Second ||
		len(o.status) != 1 || !strings.HasPrefix(o.status[0], "unix:") || o.vips[0] != netip.MustParsePrefix("10.0.0.100/24") {
		t.Errorf("defaults: %+v", o)
	}

	elect := append(base, "--mode", "elect", "--peer", "10.0.0.2", "--peer", "10.0.0.3",
		"--peer-status", "10.0.0.2:8433", "--peer-status", "10.0.0.3:8433", "--pgdata", "/d", "--pgbin", "/b",
		"--witness", "10.0.0.254", "--witness", "10.0.0.253:22", "--interval", "100ms", "--check", "200ms",
		"--read-vrid", "52", "--read-vip", "10.0.0.101/24", "--status", "10.0.0.1:8433")
	o, err = parseOptions(elect)
	if err != nil {
		t.Fatal(err)
	}
	if o.stalePrimary != stalePrimaryDemote || o.pglog != "/d/pgsidecar-postgres.log" || len(o.peers) != 2 ||
		o.witnesses[0].Port != 0 || o.witnesses[1].Port != 22 || o.check != 200*time.Millisecond || o.readVRID != 52 {
		t.Errorf("elect: %+v", o)
	}

	bad := []struct {
		args []string
		msg  string
	}{
		{[]string{"--vrid", "1", "--vip", "10.0.0.1/24"}, "--interface is required"},
		{[]string{"--interface", "eth0", "--vip", "10.0.0.1/24"}, "--vrid 0"},
		{[]string{"--interface", "eth0", "--vrid", "256", "--vip", "10.0.0.1/24"}, "--vrid 256"},
		{[]string{"--interface", "eth0", "--vrid", "1"}, "--vip is required"},
		{append(base, "--vip", "10.0.0.1"), "want ADDR/LEN"},
		{append(base, "--priority", "255"), "address owner"},
		{append(base, "--mode", "raft"), "--mode"},
		{append(base, "--mode", "elect"), "needs --witness"},
		{append(base, "--mode", "elect", "--peer-status", "10.0.0.2:8433"), "needs --witness"},
		{append(base, "--mode", "elect", "--witness", "10.0.0.9", "--stale-primary", "demote"), "needs --pgdata"},
		{append(base, "--mode", "elect", "--witness", "10.0.0.9", "--patroni", "http://x"), "--patroni is for"},
		{append(base, "--witness", "10.0.0.9"), "are for --mode elect"},
		{append(base, "--witness", "gateway"), "want IP or IP:PORT"},
		{append(base, "--peer-status", "host:8433"), "want IP:PORT"},
		{append(base, "--read-vip", "10.0.0.101/24"), "--read-vrid"},
		{append(base, "--read-vrid", "51", "--read-vip", "10.0.0.101/24"), "is --vrid too"},
		{append(base, "--check", "1ms"), "at least 10ms"},
		{append(base, "extra"), "unexpected argument"},
	}
	for _, b := range bad {
		if _, err := parseOptions(b.args); err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%v: error %v, want one saying %q", b.args, err, b.msg)
		}
	}
}

// Every flag the program reads is documented in --help.
func TestUsageListsEveryFlag(t *testing.T) {
	for _, f := range []string{"--interface", "--vrid", "--vip", "--peer", "--priority", "--interval", "--dsn",
		"--mode", "--witness", "--status", "--pgdata", "--pgbin", "--read-vip", "--read-vrid", "--peer-status",
		"--peer-timeout", "--check", "--patroni", "--pglog", "--rewind-source", "--stale-primary", "--relax-sync",
		"--replay-lag-step", "--debug", "--help"} {
		if !strings.Contains(usageText, "  "+f+" ") {
			t.Errorf("--help does not document %s", f)
		}
	}
	var out, errOut strings.Builder
	if code := runMain([]string{"--help"}, &out, &errOut); code != 0 || out.String() != usageText {
		t.Errorf("--help: exit %d, %q", code, errOut.String())
	}
	if code := runMain([]string{"--vrid", "x"}, &out, &errOut); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

func TestRedactConn(t *testing.T) {
	for in, want := range map[string]string{
		"host=db password=s3cret user=x":         "host=db password=… user=x",
		"host=db password = 'a b\\' c' user=x":   "host=db password = … user=x",
		"PASSWORD=x":                             "PASSWORD=…",
		"postgres://u:s3cret@db:5432/postgres":   "postgres://u:…@db:5432/postgres",
		"--source-server=host=10.0.0.100 user=p": "--source-server=host=10.0.0.100 user=p",
	} {
		if got := redactConn(in); got != want {
			t.Errorf("redactConn(%q) = %q, want %q", in, got, want)
		}
	}
}
