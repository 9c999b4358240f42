package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
			err := writePidFiles(pidFile, "", vrrpPid)
			if tc.refused {
				want := "pid file " + vrrpPid + ": vrrpd is already running as pid " + strconv.Itoa(other)
				if err == nil || err.Error() != want {
					t.Fatalf("got %v, want %q", err, want)
				}
				// Nothing written: not even the file that named no one.
				if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
					t.Errorf("%s written although the start was refused: %v", pidFile, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{pidFile, vrrpPid} {
				b, err := os.ReadFile(f)
				if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
					t.Errorf("%s: %q, %v; want our pid %d", f, b, err, os.Getpid())
				}
			}
		})
	}
}
