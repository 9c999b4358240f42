package vrrpsched

import (
	"errors"
	"fmt"
	"time"
)

// Options are keepalived's global_defs vrrp_rt_priority,
// vrrp_rlimit_rttime, vrrp_priority and vrrp_no_swap. The zero value
// changes nothing.
type Options struct {
	// RTPriority, 1..99, runs every thread SCHED_RR at that priority
	// (vrrp_rt_priority). 0: the normal scheduler.
	RTPriority int
	// RLimitRTTime bounds the CPU time a real-time thread may use without
	// a blocking system call (vrrp_rlimit_rttime, keepalived's default
	// DefaultRLimitRTTime when 0). Past it the kernel sends SIGXCPU,
	// which Go ignores; past twice it (and at least RTTimeKillMargin
	// more), SIGKILL: a runaway real-time daemon must not own a core.
	// Only applies with RTPriority.
	RLimitRTTime time.Duration
	// Nice, -20..19, is every thread's nice value (vrrp_priority;
	// negative is more CPU). 0 leaves it as it is.
	Nice int
	// NoSwap locks all current and future memory as it is touched
	// (mlockall MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT, vrrp_no_swap), so
	// that a page fault on swapped-out memory never delays an advert.
	NoSwap bool
}

// DefaultRLimitRTTime is keepalived's vrrp_rlimit_rttime default.
const DefaultRLimitRTTime = 10 * time.Millisecond

// RTTimeKillMargin is the least gap between RLIMIT_RTTIME's soft limit
// (SIGXCPU) and its hard limit (SIGKILL): a Go garbage collection of a
// large configuration may run a thread for tens of milliseconds without
// blocking, which must not kill the daemon.
const RTTimeKillMargin = 200 * time.Millisecond

// Zero reports whether o changes nothing.
func (o Options) Zero() bool { return o == Options{} }

// Validate checks the ranges keepalived accepts.
func (o Options) Validate() error {
	var errs []error
	if o.RTPriority < 0 || o.RTPriority > 99 {
		errs = append(errs, fmt.Errorf("vrrpsched: real-time priority %d: want 1..99", o.RTPriority))
	}
	if o.RLimitRTTime < 0 || (o.RLimitRTTime > 0 && o.RLimitRTTime < 2*time.Microsecond) {
		errs = append(errs, fmt.Errorf("vrrpsched: rlimit_rttime %v: want at least 2µs", o.RLimitRTTime))
	}
	if o.Nice < -20 || o.Nice > 19 {
		errs = append(errs, fmt.Errorf("vrrpsched: nice %d: want -20..19", o.Nice))
	}
	return errors.Join(errs...)
}

// rttimeLimits are RLIMIT_RTTIME's soft and hard limits in microseconds.
func (o Options) rttimeLimits() (soft, hard uint64) {
	d := o.RLimitRTTime
	if d == 0 {
		d = DefaultRLimitRTTime
	}
	soft = uint64(d / time.Microsecond)
	hard = soft + max(soft, uint64(RTTimeKillMargin/time.Microsecond))
	return soft, hard
}
