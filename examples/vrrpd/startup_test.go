package main

import (
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

// The longer of vrrp_startup_delay and what is left of
// vrrp_delay_after_boot applies; a system up longer than the boot delay
// owes none.
func TestStartupDelay(t *testing.T) {
	for _, c := range []struct {
		startup, boot, up time.Duration
		want              time.Duration
		why               string
	}{
		{0, 0, time.Hour, 0, ""},
		{5 * time.Second, 0, time.Hour, 5 * time.Second, "vrrp_startup_delay"},
		{0, 30 * time.Second, 10 * time.Second, 20 * time.Second, "vrrp_delay_after_boot"},
		{0, 30 * time.Second, time.Minute, 0, ""},
		{25 * time.Second, 30 * time.Second, 10 * time.Second, 25 * time.Second, "vrrp_startup_delay"},
		{5 * time.Second, 30 * time.Second, 10 * time.Second, 20 * time.Second, "vrrp_delay_after_boot"},
	} {
		d, why := startupDelay(kaconf.Global{StartupDelay: c.startup, DelayAfterBoot: c.boot}, c.up)
		if d != c.want || why != c.why {
			t.Errorf("startup %v, after boot %v, up %v: %v (%s), want %v (%s)", c.startup, c.boot, c.up, d, why, c.want, c.why)
		}
	}
	if uptime() <= 0 {
		t.Error("uptime() is not positive on a running system")
	}
}
