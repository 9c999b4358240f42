package vrrpprom

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// scrape gathers c through a registry, as a Prometheus server would.
func scrape(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// find returns the series of name whose labels include want.
func find(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range mf.GetMetric() {
		got := make(map[string]string)
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no series %s%v", name, want)
	return nil
}

func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	m := find(t, mfs, name, want)
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s is neither counter nor gauge", name)
	return 0
}

// pair is two nodes on an in-memory LAN, one router each for VRID 51.
type pair struct {
	lan           *vrrptest.LAN
	n1, n2        *vrrp.Node
	r1, r2        *vrrp.Router
	c1, c2        *Collector
	stop1, stop2  context.CancelFunc
	done1, done2  chan error
	vip, excluded netip.Prefix
}

func newPair(t *testing.T, obs *Observer) *pair {
	t.Helper()
	p := &pair{vip: netip.MustParsePrefix("10.0.0.100/24"), excluded: netip.MustParsePrefix("10.0.0.200/24")}
	p.lan = vrrptest.NewLAN(vrrptest.LANConfig{})
	add := func(name, addr string, prio int, obs *Observer) (*vrrp.Node, *vrrp.Router, *Collector) {
		h := p.lan.AddHost(vrrptest.HostConfig{Name: name, Addrs: []netip.Addr{netip.MustParseAddr(addr)}})
		n, err := vrrp.NewNode(vrrp.NodeConfig{Network: h})
		if err != nil {
			t.Fatal(err)
		}
		r, err := n.Add(vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Priority: prio,
			Interval: 100 * time.Millisecond, Backend: &vrrptest.Backend{},
			VIPs: []vrrp.VIP{{Prefix: p.vip}, {Prefix: p.excluded, Excluded: true, Interface: "eth1"}}})
		if err != nil {
			t.Fatal(err)
		}
		return n, r, New(n, &Options{Observer: obs})
	}
	p.n1, p.r1, p.c1 = add("h1", "10.0.0.1", 200, obs)
	p.n2, p.r2, p.c2 = add("h2", "10.0.0.2", 100, nil)
	return p
}

func (p *pair) start() {
	var ctx1, ctx2 context.Context
	ctx1, p.stop1 = context.WithCancel(context.Background())
	ctx2, p.stop2 = context.WithCancel(context.Background())
	p.done1, p.done2 = make(chan error, 1), make(chan error, 1)
	go func() { p.done1 <- p.n1.Run(ctx1) }()
	go func() { p.done2 <- p.n2.Run(ctx2) }()
}

// await waits, in the bubble's time, until cond holds.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var vi1 = map[string]string{"iname": "VI_1", "intf": "eth0", "vrid": "51"}

// TestMetricsFollowAFailover: the counters and states that keepalived's
// exporter reports move as a failover goes: the higher priority becomes
// master, then leaves with priority 0 and the other takes over.
func TestMetricsFollowAFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, nil)
		m := scrape(t, p.c1)
		if got := value(t, m, "keepalived_vrrp_state", map[string]string{"iname": "VI_1", "intf": "eth0", "vrid": "51", "ip_address": "10.0.0.100/24"}); got != 0 {
			t.Errorf("before Run: keepalived_vrrp_state %v, want 0 (INIT)", got)
		}
		p.start()
		await(t, "h1 master, h2 backup", func() bool { return p.r1.State() == vrrp.Master && p.r2.Master() == netip.MustParseAddr("10.0.0.1") })
		await(t, "h2 heard adverts", func() bool { return p.r2.Stats().AdvertsReceived >= 3 })

		m1, m2 := scrape(t, p.c1), scrape(t, p.c2)
		vipLabels := map[string]string{"iname": "VI_1", "intf": "eth0", "vrid": "51", "ip_address": "10.0.0.100/24"}
		exLabels := map[string]string{"iname": "VI_1", "intf": "eth1", "vrid": "51", "ip_address": "10.0.0.200/24"}
		for _, c := range []struct {
			m      map[string]*dto.MetricFamily
			name   string
			labels map[string]string
			want   float64
		}{
			{m1, "keepalived_vrrp_state", vipLabels, 2},
			{m1, "keepalived_vrrp_excluded_state", exLabels, 2},
			{m2, "keepalived_vrrp_state", vipLabels, 1},
			{m1, "keepalived_become_master_total", vi1, 1},
			{m2, "keepalived_become_master_total", vi1, 0},
			{m1, "vrrpkit_master", vi1, 1},
			{m2, "vrrpkit_master", vi1, 0},
			{m1, "vrrpkit_priority", vi1, 200},
			{m2, "vrrpkit_base_priority", vi1, 100},
			{m1, "keepalived_up", nil, 1},
		} {
			if got := value(t, c.m, c.name, c.labels); got != c.want {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
			}
		}
		if got := value(t, m1, "keepalived_advertisements_sent_total", vi1); got < 3 {
			t.Errorf("master sent %v adverts, want ≥ 3", got)
		}
		if got := value(t, m2, "keepalived_advertisements_received_total", vi1); got < 3 {
			t.Errorf("backup received %v adverts, want ≥ 3", got)
		}

		// h1 stops: priority 0, and h2 takes over.
		p.stop1()
		if err := <-p.done1; err != nil {
			t.Fatal(err)
		}
		await(t, "h2 master", func() bool { return p.r2.State() == vrrp.Master })
		m1, m2 = scrape(t, p.c1), scrape(t, p.c2)
		for _, c := range []struct {
			m      map[string]*dto.MetricFamily
			name   string
			labels map[string]string
			want   float64
		}{
			{m1, "keepalived_priority_zero_sent_total", vi1, 1},
			{m1, "keepalived_release_master_total", vi1, 1},
			{m1, "keepalived_vrrp_state", vipLabels, 0},
			{m1, "vrrpkit_master", vi1, 0},
			{m2, "keepalived_priority_zero_received_total", vi1, 1},
			{m2, "keepalived_become_master_total", vi1, 1},
			{m2, "keepalived_vrrp_state", vipLabels, 2},
			{m2, "vrrpkit_master", vi1, 1},
		} {
			if got := value(t, c.m, c.name, c.labels); got != c.want {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
			}
		}
		p.stop2()
		<-p.done2
	})
}

// TestDropsAreCountedByReason: a packet the router drops shows in
// vrrpkit_drops_total under its reason and in keepalived's counter for
// it.
func TestDropsAreCountedByReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPair(t, nil)
		p.start()
		await(t, "h1 master", func() bool { return p.r1.State() == vrrp.Master })
		// A multicast advert whose TTL is not 255 (RFC 5798 §7.1).
		h2 := p.lan.Host("h2")
		pkt := advertFrom(t, "10.0.0.9", 51, 64)
		h2.Inject(pkt)
		await(t, "the drop counted", func() bool { return p.r2.Stats().Drops[vrrp.DropTTL] == 1 })
		m := scrape(t, p.c2)
		if got := value(t, m, "vrrpkit_drops_total", map[string]string{"iname": "VI_1", "reason": "ttl"}); got != 1 {
			t.Errorf("vrrpkit_drops_total{reason=ttl} = %v, want 1", got)
		}
		if got := value(t, m, "keepalived_ip_ttl_errors_total", vi1); got != 1 {
			t.Errorf("keepalived_ip_ttl_errors_total = %v, want 1", got)
		}
		if got := value(t, m, "vrrpkit_drops_total", map[string]string{"iname": "VI_1", "reason": "checksum"}); got != 0 {
			t.Errorf("vrrpkit_drops_total{reason=checksum} = %v, want 0", got)
		}
		p.stop1()
		p.stop2()
		<-p.done1
		<-p.done2
	})
}

// TestObserverFillsTheLatencyHistograms: what the Node's loop reports
// through the Observer is exported as histograms, per router and
// operation, with the errors counted.
func TestObserverFillsTheLatencyHistograms(t *testing.T) {
	obs := NewObserver()
	p := newPair(t, obs)
	m := scrape(t, p.c1)
	if h := find(t, m, "vrrpkit_takeover_latency_seconds", vi1).GetHistogram(); h.GetSampleCount() != 0 {
		t.Errorf("takeover histogram before any takeover: %d samples", h.GetSampleCount())
	}
	if _, ok := m["vrrpkit_backend_operation_seconds"]; ok {
		t.Error("backend histogram before any operation")
	}

	obs.Takeover(p.r1, 150*time.Millisecond)
	obs.BackendDone(p.r1, "acquire", 2*time.Millisecond, nil)
	obs.BackendDone(p.r1, "acquire", 3*time.Millisecond, errors.New("netlink: no such device"))
	obs.BackendDone(p.r1, "announce", 100*time.Microsecond, nil)
	m = scrape(t, p.c1)

	h := find(t, m, "vrrpkit_takeover_latency_seconds", vi1).GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.15 {
		t.Errorf("takeover: %d samples, sum %v; want 1, 0.15", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 0.15 {
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("takeover bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	acq := map[string]string{"iname": "VI_1", "op": "acquire"}
	if h := find(t, m, "vrrpkit_backend_operation_seconds", acq).GetHistogram(); h.GetSampleCount() != 2 {
		t.Errorf("acquire: %d samples, want 2", h.GetSampleCount())
	}
	if got := value(t, m, "vrrpkit_backend_operation_errors_total", acq); got != 1 {
		t.Errorf("acquire errors %v, want 1", got)
	}
	if got := value(t, m, "vrrpkit_backend_operation_errors_total", map[string]string{"op": "announce"}); got != 0 {
		t.Errorf("announce errors %v, want 0", got)
	}
	// The other node has no Observer: no histograms at all.
	if _, ok := scrape(t, p.c2)["vrrpkit_takeover_latency_seconds"]; ok {
		t.Error("a collector without an Observer exports the takeover histogram")
	}
}

// stuckNode is a node whose loop does not answer.
type stuckNode struct{ routers []*vrrp.Router }

func (n stuckNode) Routers() []*vrrp.Router { return n.routers }
func (stuckNode) Ping(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestUpIsZeroWhenTheLoopIsStuck: keepalived_up says whether the
// protocol loop answers, within PingTimeout.
func TestUpIsZeroWhenTheLoopIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCollector(stuckNode{}, &Options{PingTimeout: 50 * time.Millisecond})
		start := time.Now()
		m := scrape(t, c)
		if got := value(t, m, "keepalived_up", nil); got != 0 {
			t.Errorf("keepalived_up %v with a stuck loop, want 0", got)
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("the scrape waited %v, want the PingTimeout (50ms)", took)
		}
	})
}

// TestScriptsAreExportedAsKeepalivedDoes: GOOD is 1, BAD 0; running 1,
// idle 0.
func TestScriptsAreExportedAsKeepalivedDoes(t *testing.T) {
	c := newCollector(stuckNode{}, &Options{PingTimeout: time.Millisecond, Scripts: func() []Script {
		return []Script{{Name: "chk_good", Good: true}, {Name: "chk_bad", Running: true}}
	}})
	m := scrape(t, c)
	for _, w := range []struct {
		metric, name string
		want         float64
	}{
		{"keepalived_script_status", "chk_good", 1},
		{"keepalived_script_status", "chk_bad", 0},
		{"keepalived_script_state", "chk_good", 0},
		{"keepalived_script_state", "chk_bad", 1},
	} {
		if got := value(t, m, w.metric, map[string]string{"name": w.name}); got != w.want {
			t.Errorf("%s{name=%s} = %v, want %v", w.metric, w.name, got, w.want)
		}
	}
}

// TestRoutersLeavingTheNodeLeaveTheMetrics: a removed router's series
// and observations go with it.
func TestRoutersLeavingTheNodeLeaveTheMetrics(t *testing.T) {
	obs := NewObserver()
	p := newPair(t, obs)
	obs.Takeover(p.r1, time.Second)
	if err := p.n1.Remove(context.Background(), p.r1); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, p.c1)
	for name, mf := range m {
		if strings.HasPrefix(name, "keepalived_up") {
			continue
		}
		t.Errorf("%s still has %d series after the router left", name, len(mf.GetMetric()))
	}
}

// advertFrom is a VRRPv3 advert for vrid from src to the IPv4 group with
// the given TTL.
func advertFrom(t *testing.T, src string, vrid, ttl uint8) *advert.Packet {
	t.Helper()
	from := netip.MustParseAddr(src)
	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: vrid, Priority: 250,
		Interval: 100 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	msg, err := a.Append(nil, from, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	return &advert.Packet{Src: from, Dst: advert.GroupIPv4, HopLimit: ttl, Msg: msg}
}
