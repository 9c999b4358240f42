package promtext

import (
	"context"
	"strconv"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// DefaultPingTimeout bounds how long Gather waits for the protocol loop
// before it reports keepalived_up 0.
const DefaultPingTimeout = time.Second

// Options says what Gather exports beyond what the routers count. The
// zero value (or nil) exports every metric the routers themselves count.
type Options struct {
	// Observer adds the metrics only the Node's loop sees as they happen:
	// vrrpkit_takeover_latency_seconds and the backend operation metrics.
	// Give the same Observer to vrrp.NodeConfig.Observer. Default: none
	// (those metrics are not exported).
	Observer *Observer
	// Scripts lists the tracked scripts for keepalived_script_status and
	// keepalived_script_state. Called at each gathering. Default: none.
	Scripts func() []Script
	// PingTimeout bounds the wait for the protocol loop at each
	// gathering. Default: DefaultPingTimeout.
	PingTimeout time.Duration
}

// Script is a tracked script's state, as keepalived reports its
// vrrp_script.
type Script struct {
	Name    string
	Good    bool // its last result (keepalived's GOOD / BAD)
	Running bool // a run is in progress
}

// Family is one metric's samples.
type Family struct {
	*Def
	Samples []Sample
}

// Sample is one series: its label values (in the order of Def.Labels)
// and its value, or for a histogram its buckets.
type Sample struct {
	Labels []string
	Value  float64
	Hist   *Hist
}

// Hist is a histogram's state: cumulative counts per upper bound.
type Hist struct {
	Count      uint64
	Sum        float64
	Bounds     []float64
	Cumulative []uint64
}

// Gather reads n's routers now: their atomic state and counters, and one
// Ping of the protocol loop for keepalived_up. It never holds the loop.
// The families come in the order of Defs; those without samples are left
// out. Routers' names (vrrp.Config.Name) should be unique: of two routers
// with the same name, interface and VRID, only the first is exported.
func Gather(n Node, opts *Options) []Family {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	g := gatherer{byDef: make(map[*Def]int, len(Defs))}
	for i, d := range Defs {
		g.byDef[d] = i
	}
	g.fams = make([]Family, len(Defs))
	for i, d := range Defs {
		g.fams[i].Def = d
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.PingTimeout)
	g.add(Up, boolValue(n.Ping(ctx) == nil))
	cancel()

	routers := n.Routers()
	seen := make(map[[3]string]bool, len(routers))
	for _, r := range routers {
		cfg := r.Config()
		lv := [3]string{cfg.Name, cfg.Interface, strconv.Itoa(int(cfg.VRID))}
		if seen[lv] {
			continue
		}
		seen[lv] = true
		g.router(r, &cfg, lv[:], o.Observer)
	}
	o.Observer.forget(routers)
	if o.Scripts != nil {
		for _, s := range o.Scripts() {
			g.add(ScriptStatus, boolValue(s.Good), s.Name)
			g.add(ScriptState, boolValue(s.Running), s.Name)
		}
	}

	out := g.fams[:0]
	for _, f := range g.fams {
		if len(f.Samples) > 0 {
			out = append(out, f)
		}
	}
	return out
}

type gatherer struct {
	fams  []Family
	byDef map[*Def]int
}

func (g *gatherer) add(d *Def, v float64, labels ...string) {
	f := &g.fams[g.byDef[d]]
	f.Samples = append(f.Samples, Sample{Labels: labels, Value: v})
}

func (g *gatherer) addHist(d *Def, h histSnapshot, labels ...string) {
	f := &g.fams[g.byDef[d]]
	f.Samples = append(f.Samples, Sample{Labels: labels, Hist: &Hist{Count: h.count, Sum: h.sum, Bounds: h.bounds, Cumulative: h.cumulative}})
}

func (g *gatherer) router(r *vrrp.Router, cfg *vrrp.Config, lv []string, obs *Observer) {
	state := r.State()
	for _, v := range cfg.VIPs {
		intf := v.Interface
		if intf == "" {
			intf = cfg.Interface
		}
		d := VRRPState
		if v.Excluded {
			d = VRRPExcludedState
		}
		g.add(d, stateValue(state), lv[0], intf, lv[2], v.Prefix.String())
	}

	s := r.Stats()
	for _, c := range []struct {
		d *Def
		n uint64
	}{
		{AdvertsReceived, s.AdvertsReceived},
		{AdvertsSent, s.AdvertsSent},
		{BecomeMaster, s.BecameMaster},
		{ReleaseMaster, s.LeftMaster},
		{PacketLength, s.Drops[vrrp.DropLength]},
		{IntervalErrors, s.Drops[vrrp.DropInterval]},
		{TTLErrors, s.Drops[vrrp.DropTTL]},
		{InvalidType, s.Drops[vrrp.DropType]},
		{AddressList, s.AddressListMismatch},
		{AuthInvalid, 0},
		{AuthMismatch, s.Drops[vrrp.DropAuthType]},
		{AuthFailure, s.Drops[vrrp.DropAuth] + s.Drops[vrrp.DropReplay]},
		{Prio0Rcvd, s.PriorityZeroReceived},
		{Prio0Sent, s.PriorityZeroSent},
		{SendErrors, s.SendErrors},
		{BackendErrors, s.BackendErrors},
		{EventsLost, s.EventsLost},
	} {
		g.add(c.d, float64(c.n), lv...)
	}
	for i, n := range s.Drops {
		g.add(Drops, float64(n), lv[0], lv[1], lv[2], vrrp.DropReason(i).String())
	}

	family := "ipv4"
	if cfg.IPv6 {
		family = "ipv6"
	}
	g.add(Info, 1, lv[0], lv[1], lv[2], family, strconv.Itoa(int(cfg.Version)))
	g.add(Master, boolValue(state == vrrp.Master), lv...)
	g.add(Priority, float64(r.Priority()), lv...)
	g.add(BasePriority, float64(cfg.Priority), lv...)

	if obs == nil {
		return
	}
	ro := obs.lookup(r)
	if ro == nil {
		g.addHist(Takeover, emptySnapshot(TakeoverBuckets), lv...)
		return
	}
	g.addHist(Takeover, ro.takeover.snapshot(), lv...)
	for _, o := range ro.opSnapshots() {
		g.addHist(BackendOp, o.took, lv[0], lv[1], lv[2], o.op)
		g.add(BackendOpErrs, float64(o.errors), lv[0], lv[1], lv[2], o.op)
	}
}

// stateValue is keepalived's number for a state.
func stateValue(s vrrp.State) float64 {
	switch s {
	case vrrp.Backup:
		return 1
	case vrrp.Master:
		return 2
	case vrrp.Fault:
		return 3
	}
	return 0 // INIT
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
