package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

var sampleStatus = Status{
	RouterID: "lb1", PID: 42, ConfigFile: "/etc/keepalived/keepalived.conf", Started: true,
	LoadedAt: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC),
	Instances: []InstanceStatus{{
		Name: "VI_1", VRID: 51, Interface: "eth0", Family: "ipv4", Version: 3, State: "MASTER", Priority: 130,
		BasePriority: 150, Master: "10.0.0.1", VIPs: []string{"10.0.0.100/24"}, AdvertInt: "1s", Preempt: true,
		Trackers: []TrackerStatus{{Name: "script chk", Up: false, Delta: -20, Reason: "exit status 1"}},
		Counters: Counters{AdvertsSent: 7, Drops: map[string]uint64{"checksum": 1}}, Position: "k.conf:3",
	}, {
		Name: "VI_2", VRID: 52, Interface: "eth0", Family: "ipv6", Version: 3, State: "FAULT", Priority: 100,
		BasePriority: 100, VIPs: []string{"fd00::100/64"}, AdvertInt: "1s",
		Trackers: []TrackerStatus{{Name: "interface eth1", Fault: true, Reason: "link down"}},
	}},
	SyncGroups: []GroupStatus{{Name: "G", State: "FAULT", Members: []string{"VI_1", "VI_2"}}},
}

// TestStatusEndpointServesTheDaemonsState: the client reads back what the
// server serves, over a unix socket.
func TestStatusEndpointServesTheDaemonsState(t *testing.T) {
	sock := "unix:" + filepath.Join(t.TempDir(), "s.sock")
	l, err := listenStatus(sock, statusListen{gid: os.Getegid()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		serveStatus(ctx, l, func() Status { return sampleStatus }, zap.NewNop())
		close(done)
	}()
	defer func() { cancel(); <-done }()
	got, err := fetchStatus(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sampleStatus, *got); d != "" {
		t.Errorf("(-served +read):\n%s", d)
	}
	var out bytes.Buffer
	if code := runStatus([]string{"--status", sock}, &out, &out); code != 0 {
		t.Fatalf("vrrpd status: %d: %s", code, out.String())
	}
	for _, want := range []string{
		"vrrpd pid 42, /etc/keepalived/keepalived.conf, loaded 2026-11-22T03:00:00Z, router_id lb1",
		"VI_1      51    eth0       MASTER  130 (150)  10.0.0.1  10.0.0.100/24\n",
		"VI_2      52    eth0       FAULT   100        -         fd00::100/64\n",
		"VI_1 tracks script chk: down, -20 (exit status 1)\n",
		"VI_2 tracks interface eth1: down, FAULT (link down)\n",
		"sync group G: FAULT (VI_1, VI_2)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("vrrpd status printed:\n%s\nwant a line %q", out.String(), want)
		}
	}
}

func TestStatusClientSaysWhyItCannotConnect(t *testing.T) {
	var out bytes.Buffer
	sock := "unix:" + filepath.Join(t.TempDir(), "none.sock")
	if code := runStatus([]string{"--status=" + sock}, &out, &out); code != 1 || !strings.Contains(out.String(), "vrrpd status "+sock) {
		t.Errorf("exit %d: %q", code, out.String())
	}
	if code := runStatus([]string{"--bogus"}, &out, &out); code != 2 {
		t.Errorf("bad argument: exit %d", code)
	}
}

func TestStatusAddressesAreUnixOrTCP(t *testing.T) {
	for in, want := range map[string][2]string{
		"unix:/run/vrrpd.sock": {"unix", "/run/vrrpd.sock"},
		"/run/vrrpd.sock":      {"unix", "/run/vrrpd.sock"},
		"127.0.0.1:9090":       {"tcp", "127.0.0.1:9090"},
		"[::1]:9090":           {"tcp", "[::1]:9090"},
	} {
		n, a := statusNetwork(in)
		if n != want[0] || a != want[1] {
			t.Errorf("statusNetwork(%q) = %s %s, want %v", in, n, a, want)
		}
	}
}

func TestCountersNameTheDropReasons(t *testing.T) {
	var s vrrp.Stats
	s.AdvertsReceived = 3
	s.Drops[vrrp.DropAuth] = 2
	c := counters(s)
	if c.AdvertsReceived != 3 || len(c.Drops) != 1 || c.Drops[vrrp.DropAuth.String()] != 2 {
		t.Errorf("counters = %+v", c)
	}
}

func TestStatusEndpointOnTCPAndItsErrors(t *testing.T) {
	l, err := listenStatus("127.0.0.1:0", statusListen{})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		serveStatus(ctx, l, func() Status { return sampleStatus }, zap.NewNop())
		close(done)
	}()
	defer func() { cancel(); <-done }()
	st, err := fetchStatus(context.Background(), addr)
	if err != nil || st.RouterID != "lb1" {
		t.Fatalf("fetch over TCP: %+v, %v", st, err)
	}
	for req, want := range map[string]string{
		"GET /status HTTP/1.0\r\n\r\n":             "HTTP/1.1 200 OK",
		"HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n": "HTTP/1.1 200 OK",
		"GET / HTTP/1.1\r\n\r\n":                   "HTTP/1.1 404 Not Found",
		"POST /status HTTP/1.1\r\n\r\n":            "HTTP/1.1 405 Method Not Allowed",
		"hello\r\n\r\n":                            "HTTP/1.1 400 Bad Request",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, req)
		b, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(b), want) {
			t.Errorf("%q answered %q, want %q", req, b, want)
		}
	}
}
