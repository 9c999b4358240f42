package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrpsched"
)

// schedOptions maps global_defs' vrrp_rt_priority, vrrp_rlimit_rttime,
// vrrp_priority and vrrp_no_swap.
func schedOptions(g kaconf.Global) vrrpsched.Options {
	return vrrpsched.Options{
		RTPriority:   g.RTPriority,
		RLimitRTTime: g.RLimitRTTime,
		Nice:         g.ProcessPriority,
		NoSwap:       g.NoSwap,
	}
}

// applySched sets them once, at startup, before the routers start: a
// reload that changes them takes effect at the next start, as in
// keepalived, whose VRRP child sets them when it starts. A failure is
// logged and vrrpd runs on without them, as keepalived does.
func applySched(g kaconf.Global, log *zap.Logger) {
	o := schedOptions(g)
	if o.Zero() {
		return
	}
	if err := vrrpsched.Apply(o); err != nil {
		log.Error(err.Error())
		return
	}
	log.Info(fmt.Sprintf("Scheduling: rt_priority %d, rlimit_rttime %v, priority %d, no_swap %v",
		o.RTPriority, o.RLimitRTTime, o.Nice, o.NoSwap))
}
