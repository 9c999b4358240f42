package vrrpprom

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// DefaultPingTimeout bounds how long a scrape waits for the protocol loop
// before it reports keepalived_up 0.
const DefaultPingTimeout = time.Second

// Options configures a Collector. The zero value (or nil) exports every
// metric that the routers themselves count.
type Options struct {
	// Observer adds the metrics only the Node's loop sees as they happen:
	// vrrpkit_takeover_latency_seconds and the backend operation metrics.
	// Give the same Observer to vrrp.NodeConfig.Observer. Default: none
	// (those metrics are not exported).
	Observer *Observer
	// Scripts lists the tracked scripts for keepalived_script_status and
	// keepalived_script_state. Called at each scrape, from the scraping
	// goroutine. Default: none.
	Scripts func() []Script
	// PingTimeout bounds the wait for the protocol loop at each scrape.
	// Default: DefaultPingTimeout.
	PingTimeout time.Duration
}

// Script is a tracked script's state, as keepalived reports its
// vrrp_script.
type Script struct {
	Name    string
	Good    bool // its last result (keepalived's GOOD / BAD)
	Running bool // a run is in progress
}

// Collector is a prometheus.Collector for the routers of a vrrp.Node.
// Every scrape reads the routers' current values (State, Priority, Stats,
// which are atomic), so it never waits for the protocol beyond one Ping.
type Collector struct {
	node node
	opts Options
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector for n's routers, those added later included:
//
//	prometheus.MustRegister(vrrpprom.New(node, nil))
func New(n *vrrp.Node, opts *Options) *Collector {
	return newCollector(asNode(n), opts)
}

func newCollector(n node, opts *Options) *Collector {
	c := &Collector{node: n}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.PingTimeout <= 0 {
		c.opts.PingTimeout = DefaultPingTimeout
	}
	return c
}

// Describe sends the descriptions of every metric the collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect sends the current value of every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.PingTimeout)
	up := 0.0
	if c.node.Ping(ctx) == nil {
		up = 1
	}
	cancel()
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)

	routers := c.node.Routers()
	seen := make(map[[3]string]bool, len(routers))
	for _, r := range routers {
		cfg := r.Config()
		lv := [3]string{cfg.Name, cfg.Interface, strconv.Itoa(int(cfg.VRID))}
		if seen[lv] {
			continue // two routers of one name: the first one's series stand
		}
		seen[lv] = true
		c.collectRouter(ch, r, &cfg, lv[:])
	}
	c.opts.Observer.forget(routers)

	if c.opts.Scripts != nil {
		for _, s := range c.opts.Scripts() {
			ch <- prometheus.MustNewConstMetric(descScriptStatus, prometheus.GaugeValue, boolValue(s.Good), s.Name)
			ch <- prometheus.MustNewConstMetric(descScriptState, prometheus.GaugeValue, boolValue(s.Running), s.Name)
		}
	}
}

func (c *Collector) collectRouter(ch chan<- prometheus.Metric, r *vrrp.Router, cfg *vrrp.Config, lv []string) {
	state := r.State()
	for _, v := range cfg.VIPs {
		intf := v.Interface
		if intf == "" {
			intf = cfg.Interface
		}
		d := descVRRPState
		if v.Excluded {
			d = descVRRPExcludedState
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, stateValue(state), lv[0], intf, lv[2], v.Prefix.String())
	}

	s := r.Stats()
	counter := func(d *prometheus.Desc, n uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), lv...)
	}
	counter(descAdvertsReceived, s.AdvertsReceived)
	counter(descAdvertsSent, s.AdvertsSent)
	counter(descBecomeMaster, s.BecameMaster)
	counter(descReleaseMaster, s.LeftMaster)
	counter(descPacketLength, s.Drops[vrrp.DropLength])
	counter(descIntervalErrors, s.Drops[vrrp.DropInterval])
	counter(descTTLErrors, s.Drops[vrrp.DropTTL])
	counter(descInvalidType, s.Drops[vrrp.DropType])
	counter(descAddressList, s.AddressListMismatch)
	counter(descAuthInvalid, 0)
	counter(descAuthMismatch, s.Drops[vrrp.DropAuthType])
	counter(descAuthFailure, s.Drops[vrrp.DropAuth]+s.Drops[vrrp.DropReplay])
	counter(descPrio0Received, s.PriorityZeroReceived)
	counter(descPrio0Sent, s.PriorityZeroSent)
	counter(descSendErrors, s.SendErrors)
	counter(descBackendErrors, s.BackendErrors)
	counter(descEventsLost, s.EventsLost)
	for i, n := range s.Drops {
		ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(n), lv[0], lv[1], lv[2], vrrp.DropReason(i).String())
	}

	family := "ipv4"
	if cfg.IPv6 {
		family = "ipv6"
	}
	ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, lv[0], lv[1], lv[2], family, strconv.Itoa(int(cfg.Version)))
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	gauge(descMaster, boolValue(state == vrrp.Master))
	gauge(descPriority, float64(r.Priority()))
	gauge(descBasePriority, float64(cfg.Priority))

	ro := c.opts.Observer.lookup(r)
	if c.opts.Observer == nil {
		return
	}
	tk := histSnapshot{buckets: zeroBuckets(TakeoverBuckets)}
	var ops []opSnapshot
	if ro != nil {
		tk = ro.takeover.snapshot()
		ops = ro.opSnapshots()
	}
	ch <- prometheus.MustNewConstHistogram(descTakeover, tk.count, tk.sum, tk.buckets, lv...)
	for _, o := range ops {
		ch <- prometheus.MustNewConstHistogram(descBackendOp, o.took.count, o.took.sum, o.took.buckets, lv[0], lv[1], lv[2], o.op)
		ch <- prometheus.MustNewConstMetric(descBackendOpErrors, prometheus.CounterValue, float64(o.errors), lv[0], lv[1], lv[2], o.op)
	}
}

func zeroBuckets(bounds []float64) map[float64]uint64 {
	m := make(map[float64]uint64, len(bounds))
	for _, b := range bounds {
		m[b] = 0
	}
	return m
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
