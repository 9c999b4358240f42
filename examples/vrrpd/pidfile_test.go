package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// pidHelperEnv makes the test binary (see TestMain) a process that waits
// for its stdin to close: a live process running the same program as the
// test.
const pidHelperEnv = "VRRPD_TEST_PID_HELPER"

// startHelper starts a live process: this test binary when same, else
// sleep. It is stopped at cleanup.
func startHelper(t *testing.T, same bool) int {
	t.Helper()
	var cmd *exec.Cmd
	if same {
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), pidHelperEnv+"=1")
	} else {
		cmd = exec.Command("sleep", "600")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestPidFiles: a file left by a killed run, or naming a process that
// runs another program, is taken over; one naming a running vrrpd that
// holds no lock (an older vrrpd) refuses the start, and nothing is
// written.
func TestPidFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pid     func(*testing.T) int
		refused bool
	}{
		{"left by a killed run", deadPid, false},
		{"pid reused by another program", func(t *testing.T) int { return startHelper(t, false) }, false},
		{"our own pid", func(*testing.T) int { return os.Getpid() }, false},
		{"a running vrrpd", func(t *testing.T) int { return startHelper(t, true) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile, vrrpPid := filepath.Join(dir, "vrrpd.pid"), filepath.Join(dir, "vrrp.pid")
			other := tc.pid(t)
			if err := os.WriteFile(vrrpPid, []byte(strconv.Itoa(other)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			ps, err := writePidFiles(pidFile, "", vrrpPid)
			if tc.refused {
				want := "pid file " + vrrpPid + ": vrrpd is already running as pid " + strconv.Itoa(other)
				if err == nil || err.Error() != want {
					t.Fatalf("got %v, want %q", err, want)
				}
				// Nothing written: not even the file that named no one.
				if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
					t.Errorf("%s written although the start was refused: %v", pidFile, err)
				}
				if got := mustRead(t, vrrpPid); got != strconv.Itoa(other)+"\n" {
					t.Errorf("the running daemon's pid file now says %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{pidFile, vrrpPid} {
				if got := mustRead(t, f); got != strconv.Itoa(os.Getpid())+"\n" {
					t.Errorf("%s: %q, want our pid %d", f, got, os.Getpid())
				}
			}
			ps.release()
			for _, f := range []string{pidFile, vrrpPid} {
				if _, err := os.Lstat(f); !os.IsNotExist(err) {
					t.Errorf("%s left after release: %v", f, err)
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A running vrrpd holds its pid file's lock: a second start is refused by
// the lock, whatever the file says (a flock conflicts between two opens
// of the file, in one process as across processes).
func TestPidFileLockedByARunningDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrrpd.pid")
	ps, err := writePidFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.release()
	want := "pid file " + path + ": vrrpd is already running as pid " + strconv.Itoa(os.Getpid())
	if _, err := writePidFiles(path); err == nil || err.Error() != want {
		t.Fatalf("second start: %v, want %q", err, want)
	}
	if got := mustRead(t, path); got != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("pid file %q after the refused start", got)
	}
}

// Two daemons starting at the same moment: exactly one gets the pid file
// (checking and then writing would let both through).
func TestPidFileStartRace(t *testing.T) {
	for round := range 50 {
		path := filepath.Join(t.TempDir(), "vrrpd.pid")
		if round%2 == 1 {
			// A stale file, taken over.
			if err := os.WriteFile(path, []byte(strconv.Itoa(deadPid(t))+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		const n = 4
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]*pidFiles, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], _ = writePidFiles(path)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, ps := range results {
			if ps != nil {
				won++
				defer ps.release()
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d starts got the pid file", round, won, n)
		}
	}
}

// A symbolic link or a hard link at the pid file's path is refused:
// root would write through it to any file.
func TestPidFileRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink, dangling, hardlink := filepath.Join(dir, "sym.pid"), filepath.Join(dir, "dangling.pid"), filepath.Join(dir, "hard.pid")
	if err := os.Symlink(victim, symlink); err != nil {
		t.Fatal(err)
	}
	created := filepath.Join(dir, "created-by-root")
	if err := os.Symlink(created, dangling); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(victim, hardlink); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{symlink, dangling, hardlink} {
		if ps, err := writePidFiles(path); err == nil {
			ps.release()
			t.Errorf("%s: written through a link", path)
		}
	}
	if got := mustRead(t, victim); got != "precious\n" {
		t.Errorf("the link's target now says %q", got)
	}
	if _, err := os.Lstat(created); !os.IsNotExist(err) {
		t.Errorf("the dangling link's target was created: %v", err)
	}
}

// A failed start leaves no pid file behind, and a written one replaces
// the stale file by rename (a reader never sees it empty or partly
// written): its inode changes.
func TestPidFileWrittenAtomically(t *testing.T) {
	dir := t.TempDir()
	first, stale := filepath.Join(dir, "vrrpd.pid"), filepath.Join(dir, "stale.pid")
	if ps, err := writePidFiles(first, filepath.Join(dir, "missing", "vrrp.pid")); err == nil {
		ps.release()
		t.Fatal("a pid file in a missing directory was written")
	}
	if _, err := os.Lstat(first); !os.IsNotExist(err) {
		t.Errorf("%s left behind by the failed start: %v", first, err)
	}
	if err := os.WriteFile(stale, []byte(strconv.Itoa(deadPid(t))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(stale)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := writePidFiles(stale)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.release()
	after, err := os.Stat(stale)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("the stale pid file was rewritten in place, not replaced")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left in the directory: %v", entries)
	}
}

// Without -p vrrpd writes keepalived's kind of default, under its own
// name (the test only reads the option: it never touches /run).
func TestDefaultPidFile(t *testing.T) {
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.pidFile != "/run/vrrpd.pid" || o.vrrpPidFile != "" {
		t.Errorf("defaults -p %q -r %q, want /run/vrrpd.pid and none", o.pidFile, o.vrrpPidFile)
	}
}
