package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// writePidFiles writes this process's id to each of paths (empty ones
// skipped), refusing, before writing any, when one names another vrrpd
// that still runs: two daemons on one host would fight over the same VIPs
// (keepalived refuses too: "daemon is already running"). A file left by a
// killed run, or naming a process that is not vrrpd (its pid reused), is
// overwritten.
func writePidFiles(paths ...string) error {
	for _, path := range paths {
		if pid, ok := readPid(path); ok && pid != os.Getpid() && runsProgram(pid, selfExe()) {
			return fmt.Errorf("pid file %s: vrrpd is already running as pid %d", path, pid)
		}
	}
	for _, path := range paths {
		if path == "" {
			continue
		}
		if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
	}
	return nil
}

// readPid reads the pid in path; ok is false when there is none.
func readPid(path string) (pid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

func selfExe() string { return exeOf("self") }

// exeOf is the program process proc ("self" or a pid) runs, without the
// " (deleted)" the kernel appends when the file was replaced (an upgrade
// while the old daemon runs is still the same daemon).
func exeOf(proc string) string {
	p, err := os.Readlink("/proc/" + proc + "/exe")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(p, " (deleted)")
}

// runsProgram reports whether process pid is alive and runs exe. When it
// is alive but its program cannot be read (another user's process, a
// zombie), it counts as running: refusing to start is the safe mistake.
func runsProgram(pid int, exe string) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	other := exeOf(strconv.Itoa(pid))
	return other == "" || exe == "" || other == exe
}
