package labbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// groupPids lists the processes of process group pgid (a daemon and the
// children it forked: keepalived runs its VRRP code in a child).
func groupPids(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// Fields after the parenthesised command: state ppid pgrp ...
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("no process in group %d", pgid)
	}
	return pids, nil
}

// cpuTime is the CPU time used so far by every thread of every process in
// group pgid, from schedstat (nanoseconds, unlike stat's clock ticks).
func cpuTime(pgid int) (time.Duration, error) {
	pids, err := groupPids(pgid)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, pid := range pids {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				continue
			}
			ns, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				total += time.Duration(ns)
			}
		}
	}
	return total, nil
}

// rss is the resident set size of group pgid, and its anonymous part
// (RssAnon), summed over its processes.
func rss(pgid int) (bytesRSS, bytesAnon int64, err error) {
	pids, err := groupPids(pgid)
	if err != nil {
		return 0, 0, err
	}
	for _, pid := range pids {
		r, a := procRSS(pid)
		bytesRSS += r
		bytesAnon += a
	}
	return bytesRSS, bytesAnon, nil
}

// procRSS is one process's VmRSS and RssAnon, zero if it is gone.
func procRSS(pid int) (bytesRSS, bytesAnon int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if kb, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			bytesRSS = statusKB(kb)
		} else if kb, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			bytesAnon = statusKB(kb)
		}
	}
	return bytesRSS, bytesAnon
}

// statusKB is the bytes of a /proc/PID/status figure such as " 1234 kB".
func statusKB(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "kB")), 10, 64)
	return n * 1024
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every architecture this lab runs on (the kernel scales its own
// HZ to it for userspace).
const clockTicks = 100

// statTimes reads utime and stime, fields 14 and 15 of a /proc/PID/stat
// line, in clock ticks. The command (field 2) is parenthesised and may
// hold spaces and parentheses itself, so fields are counted from its last
// closing parenthesis.
func statTimes(stat []byte) (utime, stime uint64, err error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("stat %q: no command field", stat)
	}
	// Fields after the command start at field 3 (state): utime is the
	// 12th of them, stime the 13th.
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("stat %q: %d fields after the command, want at least 13", stat, len(f))
	}
	if utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stat utime: %w", err)
	}
	if stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stat stime: %w", err)
	}
	return utime, stime, nil
}

// userSys is the user and system CPU time used so far by every process
// in group pgid, threads included, from /proc/PID/stat (clock ticks: 10 ms
// steps).
func userSys(pgid int) (user, sys time.Duration, err error) {
	pids, err := groupPids(pgid)
	if err != nil {
		return 0, 0, err
	}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone
		}
		u, s, err := statTimes(b)
		if err != nil {
			return 0, 0, err
		}
		user += time.Duration(u) * time.Second / clockTicks
		sys += time.Duration(s) * time.Second / clockTicks
	}
	return user, sys, nil
}

// cpuUse is a process group's CPU use over a window, each figure a
// percentage of one core. Total is from schedstat (nanoseconds); User and
// Sys from stat's clock ticks, which the kernel scales so that their sum
// follows the same runtime: User + Sys matches Total to within a tick or
// so per process over the window.
type cpuUse struct{ Total, User, Sys float64 }

// cpuShare measures each group's CPU use over window.
func cpuShare(pgids []int, window time.Duration) ([]cpuUse, error) {
	type sample struct{ total, user, sys time.Duration }
	read := func(pg int) (sample, error) {
		t, err := cpuTime(pg)
		if err != nil {
			return sample{}, err
		}
		u, s, err := userSys(pg)
		return sample{t, u, s}, err
	}
	before := make([]sample, len(pgids))
	for i, pg := range pgids {
		c, err := read(pg)
		if err != nil {
			return nil, err
		}
		before[i] = c
	}
	start := time.Now()
	time.Sleep(window) // the measurement window itself
	elapsed := time.Since(start)
	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(elapsed) }
	shares := make([]cpuUse, len(pgids))
	for i, pg := range pgids {
		c, err := read(pg)
		if err != nil {
			return nil, err
		}
		b := before[i]
		shares[i] = cpuUse{Total: pct(c.total - b.total), User: pct(c.user - b.user), Sys: pct(c.sys - b.sys)}
	}
	return shares, nil
}
