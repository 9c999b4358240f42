package vrrpsched

import (
	"strings"
	"testing"
	"time"
)

func TestValidateTakesKeepalivedsRanges(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string // "" for valid
	}{
		{Options{}, ""},
		{Options{RTPriority: 1, RLimitRTTime: 2 * time.Microsecond, Nice: -20, NoSwap: true}, ""},
		{Options{RTPriority: 99, Nice: 19}, ""},
		{Options{RTPriority: 100}, "real-time priority 100"},
		{Options{RTPriority: -1}, "real-time priority -1"},
		{Options{RLimitRTTime: time.Microsecond}, "rlimit_rttime"},
		{Options{Nice: 20}, "nice 20"},
		{Options{Nice: -21}, "nice -21"},
	} {
		err := c.o.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", c.o, err, c.want)
		}
	}
}

func TestRTTimeLimitsKeepAKillMargin(t *testing.T) {
	for _, c := range []struct {
		d          time.Duration
		soft, hard uint64
	}{
		{0, 10000, 210000}, // keepalived's default, then the margin
		{5 * time.Millisecond, 5000, 205000},
		{time.Second, 1000000, 2000000}, // twice, beyond the margin
	} {
		soft, hard := Options{RTPriority: 1, RLimitRTTime: c.d}.rttimeLimits()
		if soft != c.soft || hard != c.hard {
			t.Errorf("rttimeLimits(%v) = %d, %d µs; want %d, %d", c.d, soft, hard, c.soft, c.hard)
		}
	}
}
