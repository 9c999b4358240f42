package labbench

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// 200 virtual routers, VRRPv3, 100 ms adverts: DESIGN.md's benchmark setup.
var scenario200 = Scenario{Routers: 200, Version: 3, Interval: 100 * time.Millisecond}

func BenchmarkTakeover(b *testing.B) {
	b.Run("keepalived", func(b *testing.B) {
		netlab.NeedTool(b, "keepalived", "to measure it beside vrrpd")
		for range b.N {
			r := Run(b, Keepalived{}, scenario200)
			r.Report(b)
		}
	})
	b.Run("vrrpd", func(b *testing.B) {
		d := BuildVrrpd(b)
		for range b.N {
			r := Run(b, d, scenario200)
			r.Report(b)
		}
	})
}

func TestTakeoverMeasuresLagBeyondMasterDown(t *testing.T) {
	t0 := time.Unix(1000, 0)
	old, nw := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	mdi := 360 * time.Millisecond
	seen := []Seen{
		{t0, old, 1, 200},
		{t0.Add(5 * time.Millisecond), old, 2, 200},
		{t0.Add(100 * time.Millisecond), old, 1, 200}, // last from old for VRID 1
		{t0.Add(2 * time.Millisecond), nw, 2, 100},    // before old's last: ignored
		{t0.Add(470 * time.Millisecond), nw, 1, 100},  // 370 ms after: lag 10 ms
		{t0.Add(900 * time.Millisecond), nw, 1, 100},  // not the first
		{t0.Add(405 * time.Millisecond), nw, 2, 100},  // 400 ms after: lag 40 ms
		{t0.Add(400 * time.Millisecond), nw, 3, 0},    // priority 0 never counts
	}
	lags, missing := Takeover(seen, one(3, old, nw), mdi)
	want := []time.Duration{10 * time.Millisecond, 40 * time.Millisecond}
	if len(lags) != 2 || lags[0] != want[0] || lags[1] != want[1] {
		t.Errorf("lags = %v, want %v", lags, want)
	}
	if len(missing) != 1 || missing[0] != 3 {
		t.Errorf("missing = %v, want [3]", missing)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {0, 1}} {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("Percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestMasterDownIntervalMatchesRFC(t *testing.T) {
	// RFC 5798 §6.1: 3 × 100 ms + (256−100) × 100 ms / 256 = 360.9375 ms.
	if got, want := scenario200.MasterDownInterval(100), 360937500*time.Nanosecond; got != want {
		t.Errorf("v3 Master_Down_Interval = %v, want %v", got, want)
	}
	// RFC 3768 §6.1: 3 × 1 s + (256−100)/256 s.
	v2 := Scenario{Version: 2, Interval: time.Second}
	if got, want := v2.MasterDownInterval(100), 3*time.Second+609375*time.Microsecond; got != want {
		t.Errorf("v2 Master_Down_Interval = %v, want %v", got, want)
	}
}

func TestParseAdvertIPv4(t *testing.T) {
	frame := make([]byte, 14+20+8)
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:]
	ip[0], ip[9] = 0x45, 112
	copy(ip[12:16], []byte{10, 0, 0, 7})
	ip[20], ip[21], ip[22] = 0x31, 42, 150
	s, ok := parseAdvert(time.Unix(1, 0), frame)
	if !ok || s.Src != netip.MustParseAddr("10.0.0.7") || s.VRID != 42 || s.Priority != 150 {
		t.Errorf("parseAdvert = %+v, %v", s, ok)
	}
	ip[9] = 51 // AH: not counted
	if _, ok := parseAdvert(time.Unix(1, 0), frame); ok {
		t.Error("parseAdvert accepted protocol 51")
	}
}

// frameSource is a capture that grows by hand.
type frameSource struct{ frames []netlab.Frame }

func (c *frameSource) since(i int) ([]netlab.Frame, int) { return c.frames[i:], len(c.frames) }

func (c *frameSource) advert(t time.Time, src netip.Addr, vrid, prio byte) {
	frame := make([]byte, 14+20+8)
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:]
	ip[0], ip[9] = 0x45, 112
	copy(ip[12:16], src.AsSlice())
	ip[20], ip[21], ip[22] = 0x31, vrid, prio
	c.frames = append(c.frames, netlab.Frame{Time: t, Data: frame})
}

func TestWatchFollowsConvergenceAndTakeover(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h1, h2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	src := &frameSource{}
	w := newWatch(src.since, one(2, h1, h2))
	quiet := time.Second
	if w.converged(quiet) {
		t.Fatal("converged with nothing captured")
	}
	src.advert(t0, h2, 1, 100)
	src.advert(t0, h2, 2, 100)
	src.advert(t0.Add(100*time.Millisecond), h1, 1, 200)
	src.advert(t0.Add(100*time.Millisecond), h1, 2, 200)
	if w.converged(quiet) {
		t.Error("converged while the backup advertised within quiet")
	}
	src.advert(t0.Add(1500*time.Millisecond), h1, 1, 200)
	if w.converged(quiet) {
		t.Error("converged while VRID 2's master advert is older than quiet")
	}
	src.advert(t0.Add(1600*time.Millisecond), h1, 2, 200)
	if !w.converged(quiet) {
		t.Error("not converged: h1 fresh for both VRIDs, h2 silent for 1.6 s")
	}
	kill := t0.Add(1700 * time.Millisecond)
	w.killed(kill)
	src.advert(t0.Add(2100*time.Millisecond), h2, 1, 100)
	src.advert(t0.Add(2100*time.Millisecond), h2, 2, 0) // priority 0 does not count
	if w.tookOver() {
		t.Error("took over with VRID 2 advertised at priority 0 only")
	}
	src.advert(t0.Add(2110*time.Millisecond), h2, 2, 100)
	if !w.tookOver() {
		t.Error("not taken over after both VRIDs were advertised by h2")
	}
	lags, missing := Takeover(w.seen, one(2, h1, h2), 360*time.Millisecond)
	want := []time.Duration{(2100 - 1500 - 360) * time.Millisecond, (2110 - 1600 - 360) * time.Millisecond}
	if len(missing) != 0 || len(lags) != 2 || lags[0] != want[0] || lags[1] != want[1] {
		t.Errorf("Takeover(seen) = %v, %v; want %v, none missing", lags, missing, want)
	}
}

// one is the layout of n routers on one interface.
func one(n int, old, nw netip.Addr) Layout {
	return Layout{PerInterface: n, Old: []netip.Addr{old}, New: []netip.Addr{nw}}
}

func TestLayoutTellsRoutersApartByInterfaceAddress(t *testing.T) {
	s := Scenario{Routers: 1000, Interfaces: 4}
	l := Layout{PerInterface: s.PerInterface()}
	for k := range 4 {
		l.Old = append(l.Old, vlanAddr(k, 1))
		l.New = append(l.New, vlanAddr(k, 2))
	}
	for _, c := range []struct {
		src        netip.Addr
		vrid       uint8
		host, want int
	}{
		{vlanAddr(0, 1), 1, 1, 1},
		{vlanAddr(0, 2), 250, 2, 250},
		{vlanAddr(3, 1), 250, 1, 1000},
		{vlanAddr(2, 2), 7, 2, 507},
		{vlanAddr(2, 2), 251, 0, 0}, // beyond the interface's VRIDs
		{netip.MustParseAddr("10.0.0.1"), 1, 0, 0},
	} {
		if h, r := l.router(Seen{Src: c.src, VRID: c.vrid, Priority: 1}); h != c.host || r != c.want {
			t.Errorf("router(%v, %d) = %d, %d; want %d, %d", c.src, c.vrid, h, r, c.host, c.want)
		}
	}
	if cfg := s.Config("h1", 200); !strings.Contains(cfg, "interface eth4\n  virtual_router_id 250\n") ||
		strings.Count(cfg, "vrrp_instance") != 1000 {
		t.Error("Config does not put router 1000 on VRID 250 of the fourth VLAN")
	}
}

func TestFlapsCountsRunsAndDualMasters(t *testing.T) {
	t0 := time.Unix(1000, 0)
	old, nw := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	seen := []Seen{
		{ms(0), old, 1, 200},
		{ms(400), nw, 1, 100},   // run 1 for router 1: the master yields the
		{ms(450), old, 1, 200},  // advert after, so no dual master
		{ms(1000), nw, 1, 100},  // run 2: a gap of 550 ms > 300 ms
		{ms(1100), old, 1, 200}, // inside run 2: dual master
		{ms(1200), nw, 1, 100},
		{ms(1300), nw, 2, 0},   // priority 0: not a takeover
		{ms(5000), nw, 2, 100}, // after the window
		{ms(1400), nw, 9, 100}, // beyond the layout
	}
	falses, duals := Flaps(seen, one(2, old, nw), t0, ms(2000), 300*time.Millisecond)
	if falses != 2 || duals != 1 {
		t.Errorf("Flaps = %d false takeovers, %d dual masters; want 2, 1", falses, duals)
	}
}

func TestParseAdvertSkipsAVLANTag(t *testing.T) {
	frame := make([]byte, 18+20+8)
	frame[12], frame[13] = 0x81, 0x00
	frame[16], frame[17] = 0x08, 0x00
	ip := frame[18:]
	ip[0], ip[9] = 0x45, 112
	copy(ip[12:16], []byte{10, 2, 0, 1})
	ip[20], ip[21], ip[22] = 0x31, 250, 200
	s, ok := parseAdvert(time.Unix(1, 0), frame)
	if !ok || s.Src != netip.MustParseAddr("10.2.0.1") || s.VRID != 250 || s.Priority != 200 {
		t.Errorf("parseAdvert = %+v, %v", s, ok)
	}
}
