package health

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

func TestExecExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		check  *Exec
		up     bool
		reason string
		output string
	}{
		{"exit 0 is up", &Exec{Path: "true"}, true, "exit status 0", ""},
		{"exit 1 is down", &Exec{Path: "/bin/false"}, false, "exit status 1", ""},
		{"any other status is down", Shell("exit 3"), false, "exit status 3", ""},
		{"arguments without a shell", &Exec{Path: "/bin/sh", Args: []string{"-c", `test "$1" = "a b"`, "sh", "a b"}}, true, "exit status 0", ""},
		{"no shell: metacharacters are arguments", &Exec{Path: "echo", Args: []string{"$HOME", "|", "false"}}, true, "exit status 0", "$HOME | false\n"},
		{"output of both streams is kept", Shell("echo out; echo err >&2; exit 2"), false, "exit status 2", "out\nerr\n"},
		{"killed by a signal is down", Shell("kill -TERM $$"), false, "killed by signal terminated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check.Check(t.Context())
			if r.Up != tt.up || r.Reason != tt.reason || r.Output != tt.output {
				t.Errorf("got up %v reason %q output %q, want up %v reason %q output %q",
					r.Up, r.Reason, r.Output, tt.up, tt.reason, tt.output)
			}
		})
	}
}

// TestExecCannotStartIsDown: "a program that cannot be started at all is
// down (with the reason), never up".
func TestExecCannotStartIsDown(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		check *Exec
		want  string
	}{
		{"missing file", &Exec{Path: filepath.Join(dir, "missing")}, "no such file or directory"},
		{"not in PATH", &Exec{Path: "vrrpkit-no-such-program"}, "executable file not found"},
		{"not executable", &Exec{Path: notExec}, "permission denied"},
		{"missing directory", &Exec{Path: "/bin/true", Dir: filepath.Join(dir, "nodir")}, "no such file or directory"},
		{"unknown user", &Exec{Path: "/bin/true", User: "vrrpkit-no-such-user"}, "unknown user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check.Check(t.Context())
			if r.Up || !strings.HasPrefix(r.Reason, "not started: ") || !strings.Contains(r.Reason, tt.want) {
				t.Errorf("got up %v reason %q, want down, not started, %q", r.Up, r.Reason, tt.want)
			}
		})
	}
}

// running reports whether pid is a live process: absent and zombie (dead,
// not yet reaped by whoever inherited it) both count as gone.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, state, ok := parseStat(b)
	return ok && state != 'Z' && state != 'X'
}

// hangingScript starts a child that hangs (sleep) from a shell that waits
// for it, and writes both pids to a file, so a test can check that the whole
// process group dies.
func hangingScript(t *testing.T) (*Exec, func() (shell, child int)) {
	pidfile := filepath.Join(t.TempDir(), "pids")
	e := Shell(`sleep 1000 & echo "$$ $!" > ` + pidfile + `.tmp; mv ` + pidfile + `.tmp ` + pidfile + `; wait`)
	pids := func() (int, int) {
		var shell, child int
		waitFor(t, "script started", func() bool {
			b, err := os.ReadFile(pidfile)
			if err != nil {
				return false
			}
			f := strings.Fields(string(b))
			if len(f) != 2 {
				return false
			}
			shell, _ = strconv.Atoi(f[0])
			child, _ = strconv.Atoi(f[1])
			return true
		})
		return shell, child
	}
	return e, pids
}

// TestExecKillsProcessGroupWhenCancelled: "on timeout the whole process
// group is killed": the shell and the sleep it started both die.
func TestExecKillsProcessGroupWhenCancelled(t *testing.T) {
	e, pids := hangingScript(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	results := make(chan Result, 1)
	go func() { results <- e.Check(ctx) }()
	shell, child := pids()
	if !running(shell) || !running(child) {
		t.Fatalf("script not running: shell %d %v, child %d %v", shell, running(shell), child, running(child))
	}
	cancel(errTimedOut)
	r := <-results
	if r.Up || r.Reason != "killed: "+errTimedOut.Error() {
		t.Errorf("got up %v reason %q, want down, killed", r.Up, r.Reason)
	}
	waitFor(t, "shell and child gone", func() bool { return !running(shell) && !running(child) })
}

// TestTrackerKillsHungScriptAtTimeout is the same through a Tracker on the
// real clock: the timeout fires, the tracker reports down, and the script's
// process group is gone.
func TestTrackerKillsHungScriptAtTimeout(t *testing.T) {
	e, pids := hangingScript(t)
	reports := make(chan vrrp.TrackStatus, 8)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		tr := &Tracker{Name: "chk_hang", Check: e, Interval: time.Hour, Timeout: 200 * time.Millisecond}
		done <- tr.Run(ctx, vrrp.SystemClock{}, func(s vrrp.TrackStatus) { reports <- s })
	}()
	<-reports // initial
	shell, child := pids()
	if s := <-reports; !s.Fault || s.Reason != "timed out after 200ms" {
		t.Errorf("got %+v, want Fault, timed out", s)
	}
	waitFor(t, "shell and child gone", func() bool { return !running(shell) && !running(child) })
	cancel()
	<-done
}

// TestExecRunsAsUser: keepalived's "user USERNAME [GROUPNAME]"; the group
// defaults to the user's, and root's supplementary groups are dropped.
func TestExecRunsAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	root, err := user.LookupGroupId("0")
	if err != nil {
		t.Skip(err)
	}
	tests := []struct {
		name        string
		user, group string
		want        string
	}{
		{"user with its own group", "nobody", "", nobody.Uid + " " + nobody.Gid + " " + nobody.Gid},
		{"numeric user", nobody.Uid, "", nobody.Uid + " " + nobody.Gid + " " + nobody.Gid},
		{"user and group", "nobody", root.Name, nobody.Uid + " 0 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Exec{Path: "/bin/sh", Args: []string{"-c", `echo "$(id -u) $(id -g) $(id -G)"`}, User: tt.user, Group: tt.group}
			r := e.Check(t.Context())
			if !r.Up || strings.TrimSpace(r.Output) != tt.want {
				t.Errorf("got up %v reason %q output %q, want uid gid groups %q", r.Up, r.Reason, r.Output, tt.want)
			}
		})
	}
}

func TestExecOutputIsBounded(t *testing.T) {
	e := Shell(`i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo last`)
	e.OutputLimit = 64
	r := e.Check(t.Context())
	if !r.Up || !strings.HasPrefix(r.Output, "…") || !strings.HasSuffix(r.Output, "line 1999\nlast\n") || len(r.Output) > 64+len("…") {
		t.Errorf("output %q (%d bytes): want the last 64 bytes after …", r.Output, len(r.Output))
	}
	e.OutputLimit = -1
	if r := e.Check(t.Context()); r.Output != "" {
		t.Errorf("OutputLimit -1 kept %q", r.Output)
	}
}

// TestExecLeftoverChildDoesNotHang: a script that leaves a child holding
// its output open still finishes (as keepalived lets it), bounded by
// pipeGrace; the child is left running, as keepalived does.
func TestExecLeftoverChildDoesNotHang(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	r := Shell(`sleep 1000 & echo $! > ` + pidfile + `; exit 0`).Check(t.Context())
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if !r.Up {
		t.Errorf("got %+v, want up", r)
	}
	if !running(pid) {
		t.Errorf("child %d was killed although the script exited by itself", pid)
	}
}
