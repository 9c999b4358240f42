package promtext

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Bucket upper bounds, in seconds. A takeover waits about
// Master_Down_Interval (30 ms with 10 ms adverts, over 3 s with VRRPv2's 1
// s), a backend call from microseconds (netlink) to seconds (a cloud API).
var (
	TakeoverBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	BackendBuckets  = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// Observer records what only the Node's loop sees as it happens: takeover
// latencies and backend operations. Give the same Observer to the Node
// (vrrp.NodeConfig.Observer) and to New. Its methods are called on the
// protocol loop: they take no lock a scrape can hold for long and never
// block.
type Observer struct {
	routers sync.Map // *vrrp.Router → *routerObs
}

// NewObserver returns an Observer with no observations.
func NewObserver() *Observer { return &Observer{} }

type routerObs struct {
	takeover histogram
	mu       sync.Mutex // ops; held for a map access
	ops      map[string]*opObs
}

type opObs struct {
	took   histogram
	errors atomic.Uint64
}

// Takeover records that r became master latency after the last advert it
// heard from the previous master.
func (o *Observer) Takeover(r *vrrp.Router, latency time.Duration) {
	o.router(r).takeover.observe(latency)
}

// BackendDone records a finished backend operation of r: op is the
// operation (acquire, release, announce), took its duration, err its
// result.
func (o *Observer) BackendDone(r *vrrp.Router, op string, took time.Duration, err error) {
	ro := o.router(r)
	ro.mu.Lock()
	oo := ro.ops[op]
	if oo == nil {
		oo = &opObs{took: newHistogram(BackendBuckets)}
		ro.ops[op] = oo
	}
	ro.mu.Unlock()
	oo.took.observe(took)
	if err != nil {
		oo.errors.Add(1)
	}
}

func (o *Observer) router(r *vrrp.Router) *routerObs {
	if v, ok := o.routers.Load(r); ok {
		return v.(*routerObs)
	}
	v, _ := o.routers.LoadOrStore(r, &routerObs{takeover: newHistogram(TakeoverBuckets), ops: make(map[string]*opObs)})
	return v.(*routerObs)
}

// lookup returns r's observations, nil when there are none.
func (o *Observer) lookup(r *vrrp.Router) *routerObs {
	if o == nil {
		return nil
	}
	v, ok := o.routers.Load(r)
	if !ok {
		return nil
	}
	return v.(*routerObs)
}

// forget drops the observations of routers that left the node.
func (o *Observer) forget(keep []*vrrp.Router) {
	if o == nil {
		return
	}
	o.routers.Range(func(k, _ any) bool {
		if !slices.Contains(keep, k.(*vrrp.Router)) {
			o.routers.Delete(k)
		}
		return true
	})
}

// opSnapshot is one operation's observations at a scrape.
type opSnapshot struct {
	op     string
	took   histSnapshot
	errors uint64
}

func (ro *routerObs) opSnapshots() []opSnapshot {
	ro.mu.Lock()
	out := make([]opSnapshot, 0, len(ro.ops))
	for op, oo := range ro.ops {
		out = append(out, opSnapshot{op: op, took: oo.took.snapshot(), errors: oo.errors.Load()})
	}
	ro.mu.Unlock()
	slices.SortFunc(out, func(a, b opSnapshot) int { return strings.Compare(a.op, b.op) })
	return out
}

// histogram counts durations into fixed buckets with atomics, so that
// observing never waits for a scrape.
type histogram struct {
	bounds []float64 // seconds, ascending
	counts []atomic.Uint64
	sumNs  atomic.Int64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(d time.Duration) {
	i := sort.SearchFloat64s(h.bounds, d.Seconds()) // first bound ≥ d: le is inclusive
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

type histSnapshot struct {
	count      uint64
	sum        float64
	bounds     []float64
	cumulative []uint64
}

func (h *histogram) snapshot() histSnapshot {
	s := histSnapshot{bounds: h.bounds, cumulative: make([]uint64, len(h.bounds))}
	var cum uint64
	for i := range h.bounds {
		cum += h.counts[i].Load()
		s.cumulative[i] = cum
	}
	s.count = cum + h.counts[len(h.bounds)].Load()
	s.sum = time.Duration(h.sumNs.Load()).Seconds()
	return s
}

func emptySnapshot(bounds []float64) histSnapshot {
	return histSnapshot{bounds: bounds, cumulative: make([]uint64, len(bounds))}
}
