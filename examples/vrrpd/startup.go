package main

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

// startupDelay is how long the instances wait before they start, and
// which keyword asks for it: vrrp_startup_delay, or what is left of
// vrrp_delay_after_boot for a system up for uptime — the longer one, as
// keepalived 2.4 does. Zero: start at once.
func startupDelay(g kaconf.Global, uptime time.Duration) (time.Duration, string) {
	delay, why := g.StartupDelay, "vrrp_startup_delay"
	if left := g.DelayAfterBoot - uptime; left > delay {
		delay, why = left, "vrrp_delay_after_boot"
	}
	if delay <= 0 {
		return 0, ""
	}
	return delay, why
}

// uptime is how long the system has been up (0 if unknown: no boot
// delay is then owed).
func uptime() time.Duration {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return time.Duration(si.Uptime) * time.Second
}
