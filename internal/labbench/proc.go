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

// rss is the resident set size of group pgid, summed over its processes.
func rss(pgid int) (bytesRSS int64, err error) {
	pids, err := groupPids(pgid)
	if err != nil {
		return 0, err
	}
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if kb, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
				bytesRSS += n * 1024
			}
		}
		f.Close()
	}
	return bytesRSS, nil
}

// cpuShare measures group pgid's CPU use over window, as a percentage of
// one core.
func cpuShare(pgids []int, window time.Duration) ([]float64, error) {
	before := make([]time.Duration, len(pgids))
	for i, pg := range pgids {
		c, err := cpuTime(pg)
		if err != nil {
			return nil, err
		}
		before[i] = c
	}
	start := time.Now()
	time.Sleep(window) // the measurement window itself
	elapsed := time.Since(start)
	shares := make([]float64, len(pgids))
	for i, pg := range pgids {
		c, err := cpuTime(pg)
		if err != nil {
			return nil, err
		}
		shares[i] = 100 * float64(c-before[i]) / float64(elapsed)
	}
	return shares, nil
}
