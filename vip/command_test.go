//go:build unix

package vip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// TestHelperProcess is the command the command backend runs in these
// tests (the test binary re-executed). It does nothing unless
// VIP_HELPER_ROLE is set.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv("VIP_HELPER_ROLE")
	if role == "" {
		return
	}
	out := os.Getenv("VIP_HELPER_OUT")
	var args []string
	for i, a := range os.Args {
		if a == "--" {
			args = os.Args[i+1:]
			break
		}
	}
	switch role {
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "VRRP_") || k == "EXTRA" {
				env[k] = v
			}
		}
		b, _ := json.Marshal(map[string]any{"args": args, "env": env})
		_ = os.WriteFile(out, b, 0o644)
		os.Exit(0)
	case "fail":
		fmt.Fprintln(os.Stderr, "floating IP is attached elsewhere")
		os.Exit(3)
	case "spew":
		chunk := strings.Repeat("x", 1023) + "\n"
		for range 100 {
			os.Stdout.WriteString(chunk)
		}
		fmt.Fprintln(os.Stderr, "THE END")
		os.Exit(1)
	case "hang":
		select {}
	}
	os.Exit(99)
}

func helperCommand(t *testing.T, role string, extra ...string) (CommandConfig, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	argv := append([]string{os.Args[0], "-test.run=^TestHelperProcess$", "--"}, extra...)
	return CommandConfig{
		Name:    "helper",
		Acquire: argv, Release: argv, Announce: argv,
		Env: []string{"VIP_HELPER_ROLE=" + role, "VIP_HELPER_OUT=" + out},
	}, out
}

func testSet() vrrp.AddressSet {
	return vrrp.AddressSet{
		Router: "VI_1", VRID: 51, Interface: "eth0", Priority: 200, NoAccept: true,
		VIPs: []vrrp.VIP{
			{Prefix: netip.MustParsePrefix("10.0.0.100/24"), Label: "eth0:1"},
			{Prefix: netip.MustParsePrefix("10.0.1.100/32"), Interface: "eth1", Excluded: true},
		},
	}
}

func TestCommandEnvironmentDescribesTheRouter(t *testing.T) {
	cfg, out := helperCommand(t, "env", "arg with space", "$HOME", "*")
	cfg.Env = append(cfg.Env, "EXTRA=yes")
	c, err := NewCommand(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action, state string
		call          func(context.Context, vrrp.AddressSet) error
	}{
		{"acquire", "MASTER", c.Acquire},
		{"release", "BACKUP", c.Release},
		{"announce", "MASTER", c.Announce},
	} {
		if err := tc.call(context.Background(), testSet()); err != nil {
			t.Fatalf("%s: %v", tc.action, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Args []string
			Env  map[string]string
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		// No shell: arguments arrive exactly as given.
		if want := []string{"arg with space", "$HOME", "*"}; strings.Join(got.Args, "|") != strings.Join(want, "|") {
			t.Errorf("%s: args %q, want %q", tc.action, got.Args, want)
		}
		want := map[string]string{
			"VRRP_ACTION":    tc.action,
			"VRRP_STATE":     tc.state,
			"VRRP_ROUTER":    "VI_1",
			"VRRP_VRID":      "51",
			"VRRP_INTERFACE": "eth0",
			"VRRP_FAMILY":    "ipv4",
			"VRRP_PRIORITY":  "200",
			"VRRP_NO_ACCEPT": "1",
			"VRRP_VIPS":      "10.0.0.100/24 10.0.1.100/32",
			"VRRP_VIP_COUNT": "2",
			"VRRP_VIP_0":     "10.0.0.100/24 dev eth0 label eth0:1",
			"VRRP_VIP_1":     "10.0.1.100/32 dev eth1 excluded",
			"EXTRA":          "yes",
		}
		for k, v := range want {
			if got.Env[k] != v {
				t.Errorf("%s: %s=%q, want %q", tc.action, k, got.Env[k], v)
			}
		}
		if len(got.Env) != len(want) {
			t.Errorf("%s: environment %v has extra VRRP_ variables", tc.action, got.Env)
		}
	}
}

func TestCommandShellWhenAsked(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	c, err := NewCommand(CommandConfig{
		Acquire: []string{`printf '%s|%s|%s|%s' "$VRRP_ROUTER" "$VRRP_FAMILY" "$1" "$2" > "$OUT"`, "a b", "c"},
		Shell:   true,
		Env:     []string{"OUT=" + out},
	})
	if err != nil {
		t.Fatal(err)
	}
	set := testSet()
	set.IPv6 = true
	if err := c.Acquire(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "VI_1|ipv6|a b|c"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCommandFailureReportsExitStatusAndOutput(t *testing.T) {
	cfg, _ := helperCommand(t, "fail")
	c, err := NewCommand(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Acquire(context.Background(), testSet())
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("error %v, want exit status 3", err)
	}
	for _, want := range []string{"vip: helper acquire for VI_1: ", "exit status 3", "floating IP is attached elsewhere"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCommandOutputIsBounded(t *testing.T) {
	cfg, _ := helperCommand(t, "spew")
	cfg.MaxOutput = 200
	c, err := NewCommand(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Acquire(context.Background(), testSet())
	if err == nil {
		t.Fatal("spew succeeded")
	}
	msg := err.Error()
	// 100 KiB written; the error keeps the last 200 bytes and says so.
	if len(msg) > 200+400 {
		t.Errorf("error is %d bytes long", len(msg))
	}
	if !strings.Contains(msg, "THE END") || !strings.Contains(msg, "bytes dropped") {
		t.Errorf("error %q lacks the tail of the output or the note of what was dropped", msg)
	}
}

func TestCommandTimeoutKillsTheProcessGroup(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	c, err := NewCommand(CommandConfig{
		// A shell that hangs, with a child that hangs too, both in the
		// command's process group.
		Acquire: []string{`sleep 1000 & echo $$ $! > "$OUT"; wait`},
		Shell:   true,
		Env:     []string{"OUT=" + out},
		Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Acquire(context.Background(), testSet())
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s, process group killed") {
		t.Fatalf("error %v, want a timeout", err)
	}
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("the helper never wrote its pids: %v", rerr)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("pids %q", b)
	}
	// The command and the child it started are both gone (or zombies
	// waiting for a reaper): wait for it with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still runs after the timeout", pid)
			}
			<-tick.C
		}
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestCommandCanceledContext(t *testing.T) {
	cfg, _ := helperCommand(t, "hang")
	c, err := NewCommand(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Acquire(ctx, testSet()); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestCommandNilActionDoesNothing(t *testing.T) {
	c, err := NewCommand(CommandConfig{Acquire: []string{"/nonexistent/program"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Release(context.Background(), testSet()); err != nil {
		t.Errorf("release with no command: %v", err)
	}
	if err := c.Acquire(context.Background(), testSet()); err == nil || !strings.Contains(err.Error(), "/nonexistent/program") {
		t.Errorf("acquire of a missing program: %v", err)
	}
}

func TestNewCommandRejectsBadConfig(t *testing.T) {
	for _, cfg := range []CommandConfig{
		{Acquire: []string{}},
		{Release: []string{""}},
		{Timeout: -time.Second},
		{MaxOutput: -1},
	} {
		if _, err := NewCommand(cfg); err == nil {
			t.Errorf("NewCommand(%+v) succeeded", cfg)
		}
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 8}
	for _, s := range []string{"0123", "4567", "89", "abcdefghijkl", "m"} {
		b.Write([]byte(s))
	}
	if got, want := b.String(), "[15 bytes dropped] …fghijklm"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
