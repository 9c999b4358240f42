package vrrpprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom/promtext"
)

// The metrics are defined and gathered by promtext; this package hands
// them to the Prometheus client.
type (
	// Options configures a Collector; see promtext.Options.
	Options = promtext.Options
	// Script is a tracked script's state, as keepalived reports its
	// vrrp_script.
	Script = promtext.Script
	// Observer records what only the Node's loop sees as it happens:
	// takeover latencies and backend operations. Give the same Observer
	// to the Node (vrrp.NodeConfig.Observer) and to New (Options).
	Observer = promtext.Observer
)

// NewObserver returns an Observer with no observations.
func NewObserver() *Observer { return promtext.NewObserver() }

// DefaultPingTimeout bounds how long a scrape waits for the protocol loop
// before it reports keepalived_up 0.
const DefaultPingTimeout = promtext.DefaultPingTimeout

// Collector is a prometheus.Collector for the routers of a vrrp.Node.
// Every scrape reads the routers' current values (State, Priority, Stats,
// which are atomic), so it never waits for the protocol beyond one Ping.
type Collector struct {
	node  promtext.Node
	opts  Options
	descs map[*promtext.Def]*prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector for n's routers, those added later included:
//
//	prometheus.MustRegister(vrrpprom.New(node, nil))
func New(n *vrrp.Node, opts *Options) *Collector {
	return newCollector(promtext.NodeOf(n), opts)
}

func newCollector(n promtext.Node, opts *Options) *Collector {
	c := &Collector{node: n, descs: make(map[*promtext.Def]*prometheus.Desc, len(promtext.Defs))}
	if opts != nil {
		c.opts = *opts
	}
	for _, d := range promtext.Defs {
		c.descs[d] = prometheus.NewDesc(d.Name, d.Help, d.Labels, nil)
	}
	return c
}

// Describe sends the descriptions of every metric the collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range promtext.Defs {
		ch <- c.descs[d]
	}
}

// Collect sends the current value of every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range promtext.Gather(c.node, &c.opts) {
		desc := c.descs[f.Def]
		for _, s := range f.Samples {
			if h := s.Hist; h != nil {
				buckets := make(map[float64]uint64, len(h.Bounds))
				for i, b := range h.Bounds {
					buckets[b] = h.Cumulative[i]
				}
				ch <- prometheus.MustNewConstHistogram(desc, h.Count, h.Sum, buckets, s.Labels...)
				continue
			}
			vt := prometheus.GaugeValue
			if f.Type == promtext.Counter {
				vt = prometheus.CounterValue
			}
			ch <- prometheus.MustNewConstMetric(desc, vt, s.Value, s.Labels...)
		}
	}
}
