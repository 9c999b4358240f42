package kaconf

import (
	"strings"
	"testing"
	"time"
)

func TestGlobalSchedulingKeywords(t *testing.T) {
	cfg := mustParse(t, "global_defs {\n vrrp_rt_priority 50\n vrrp_rlimit_rttime 20000\n vrrp_priority -5\n vrrp_no_swap\n}\n"+instance(""))
	g := cfg.Global
	if g.RTPriority != 50 || g.RLimitRTTime != 20*time.Millisecond || g.ProcessPriority != -5 || !g.NoSwap {
		t.Errorf("Global = rt %d, rttime %v, priority %d, no_swap %v; want 50, 20ms, -5, true",
			g.RTPriority, g.RLimitRTTime, g.ProcessPriority, g.NoSwap)
	}
	if g := mustParse(t, instance("")).Global; g.RTPriority != 0 || g.RLimitRTTime != 0 || g.ProcessPriority != 0 || g.NoSwap {
		t.Errorf("defaults = %+v, want all zero", g)
	}
	for _, c := range []struct{ line, want string }{
		{"vrrp_rt_priority 0", "vrrp_rt_priority"},
		{"vrrp_rt_priority 100", "vrrp_rt_priority"},
		{"vrrp_rlimit_rttime 1", "vrrp_rlimit_rttime"},
		{"vrrp_priority 20", "vrrp_priority"},
		{"vrrp_priority -21", "vrrp_priority"},
	} {
		_, err := Parse("k.conf", []byte("global_defs {\n "+c.line+"\n}\n"+instance("")), testOpts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming %s", c.line, err, c.want)
		}
	}
}
