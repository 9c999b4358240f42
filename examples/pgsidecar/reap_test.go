package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The postmasters of the lab are orphans: pg_ctl starts them in a
// session of their own and exits. They would be reparented to PID 1,
// which in a container may never reap them, and a postmaster killed in
// a test would then stay a zombie whose PID, still in postmaster.pid,
// keeps the next postmaster from starting. The test process makes itself
// their reaper (TestMain) and reaps the Postgres processes that die.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// reapPostgres reaps every child of ours that is a dead postgres process
// (the exec'd commands the tests wait for themselves are never named
// postgres). It reports whether pid was among them or is gone.
func reapPostgres(pid int) bool {
	self := os.Getpid()
	found := false
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		fields := strings.Fields(s[close+1:])
		if len(fields) < 2 || s[open+1:close] != "postgres" || fields[0] != "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self {
			continue
		}
		p, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		var ws unix.WaitStatus
		if _, err := unix.Wait4(p, &ws, unix.WNOHANG, nil); err == nil && p == pid {
			found = true
		}
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		found = true
	}
	return found
}
