package main

import (
	"fmt"
	"syscall"
)

// keepalived's signals, by the names its --signum takes. JSON and
// STATS_CLEAR are real-time signals: keepalived (with glibc, whose
// SIGRTMIN is 34 and SIGRTMAX 64) uses SIGRTMIN+2 and SIGRTMAX-1, which
// scripts and exporters hard-code as 36 and 63.
const (
	sigJSON       = syscall.Signal(36)
	sigStatsClear = syscall.Signal(63)
)

var keepalivedSignals = map[string]syscall.Signal{
	"STOP":        syscall.SIGTERM,
	"RELOAD":      syscall.SIGHUP,
	"DATA":        syscall.SIGUSR1,
	"STATS":       syscall.SIGUSR2,
	"STATS_CLEAR": sigStatsClear,
	"JSON":        sigJSON,
}

// dumpSignals are the signals that ask for a dump file.
var dumpSignals = []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, sigStatsClear, sigJSON}

func setFacility(o *options, v string) error {
	f, err := parseFacility(v)
	if err != nil {
		return err
	}
	o.log.syslog, o.log.facility = true, f
	return nil
}

func setLogFormat(o *options, v string) error {
	switch v {
	case "keepalived", "console":
		o.log.json = false
	case "json":
		o.log.json = true
	default:
		return fmt.Errorf("invalid --log-format %q: want keepalived or json", v)
	}
	return nil
}
