package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// fakeBackends records what routers ask of their addresses.
type fakeBackends struct {
	mu     sync.Mutex
	calls  []string // "acquire VI_1"
	scheds []vip.Schedule
}

func (f *fakeBackends) rec(op string, set vrrp.AddressSet) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+set.Router)
	return nil
}

func (f *fakeBackends) Acquire(_ context.Context, set vrrp.AddressSet) error {
	return f.rec("acquire", set)
}
func (f *fakeBackends) Release(_ context.Context, set vrrp.AddressSet) error {
	return f.rec("release", set)
}
func (f *fakeBackends) Announce(_ context.Context, set vrrp.AddressSet) error {
	return f.rec("announce", set)
}
func (f *fakeBackends) WithSchedule(s vip.Schedule) (vrrp.Backend, error) {
	f.mu.Lock()
	f.scheds = append(f.scheds, s)
	f.mu.Unlock()
	return f, nil
}

func (f *fakeBackends) of(router string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasSuffix(c, " "+router) {
			out = append(out, strings.Fields(c)[0])
		}
	}
	return out
}

// memConf is a configuration of v3 instances at 100 ms: name → priority.
func memConf(prios map[string]int) string {
	var b strings.Builder
	for i, name := range []string{"VI_1", "VI_2", "VI_3", "VI_4"} {
		if p, ok := prios[name]; ok {
			fmt.Fprintf(&b, "vrrp_instance %s {\n  interface eth0\n  virtual_router_id %d\n  version 3\n  priority %d\n"+
				"  advert_int 0.1\n  virtual_ipaddress {\n    10.0.0.%d/24\n  }\n}\n", name, i+1, p, 100+i)
		}
	}
	return b.String()
}

// memDaemon runs a daemon on an in-memory LAN inside a synctest bubble.
type memDaemon struct {
	d      *daemon
	fb     *fakeBackends
	cancel context.CancelFunc
	done   chan error
}

func startMemDaemon(t *testing.T, src string) *memDaemon {
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Seed: 1})
	h := lan.AddHost(vrrptest.HostConfig{Name: "a", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	node, err := vrrp.NewNode(vrrp.NodeConfig{Network: h, EventBuffer: 64})
	if err != nil {
		t.Fatal(err)
	}
	m := &memDaemon{fb: &fakeBackends{}, done: make(chan error, 1)}
	p := mustPlan(t, src)
	m.d = newDaemon(daemonConfig{node: node, backend: m.fb, baseSchedule: schedule(p.conf.Global.GARP, p.conf.Global),
		scriptEnv: func(kaconf.Global) *scriptEnv { return testEnv() }})
	m.d.load(p)
	var ctx context.Context
	ctx, m.cancel = context.WithCancel(context.Background())
	go func() { m.done <- node.Run(ctx) }()
	m.d.startRouters()
	return m
}

func (m *memDaemon) stop(t *testing.T) {
	m.cancel()
	if err := <-m.done; err != nil {
		t.Errorf("node: %v", err)
	}
	m.d.stop(context.Background())
}

func (m *memDaemon) router(name string) *vrrp.Router {
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	if in := m.d.instances[name]; in != nil {
		return in.r
	}
	return nil
}

// passFake lets d of a synctest bubble's fake time go by, then waits
// until every goroutine in the bubble is blocked: the routers have acted
// on every timer due by then.
func passFake(d time.Duration) {
	<-time.After(d)
	synctest.Wait()
}

// TestReloadRestartsOnlyChangedInstances: on reload an unchanged instance
// keeps its router (no release, no second acquire, no state change), a
// changed one restarts, a removed one releases its addresses, an added
// one starts.
func TestReloadRestartsOnlyChangedInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := startMemDaemon(t, memConf(map[string]int{"VI_1": 200, "VI_2": 200, "VI_3": 200}))
		passFake(time.Second) // alone on the LAN: each becomes master
		r1 := m.router("VI_1")
		for _, name := range []string{"VI_1", "VI_2", "VI_3"} {
			if r := m.router(name); r == nil || r.State() != vrrp.Master {
				t.Fatalf("%s is not master", name)
			}
		}

		// VI_2's address and priority change: a restart (a priority
		// change alone is applied in place, see the next test).
		next := strings.Replace(memConf(map[string]int{"VI_1": 200, "VI_2": 150, "VI_4": 200}), "10.0.0.101/24", "10.0.0.111/24", 1)
		m.d.reload(context.Background(), mustPlan(t, next))
		passFake(time.Second)

		if m.router("VI_1") != r1 {
			t.Error("the unchanged VI_1 got a new router")
		}
		if s := r1.Stats(); r1.State() != vrrp.Master || s.BecameMaster != 1 || s.LeftMaster != 0 || s.PriorityZeroSent != 0 {
			t.Errorf("VI_1: %v, %+v; want master all along", r1.State(), s)
		}
		// A router starting as backup releases first: a crashed
		// predecessor may have left the addresses.
		if got := m.fb.of("VI_1"); strings.Join(got, ",") != "release,acquire" {
			t.Errorf("VI_1's addresses: %q, want one acquire (after the startup release)", got)
		}
		if got := m.fb.of("VI_2"); strings.Join(got, ",") != "release,acquire,release,release,acquire" {
			t.Errorf("VI_2 (changed): %q, want it stopped and started again", got)
		}
		if r := m.router("VI_2"); r == nil || r.Priority() != 150 || r.State() != vrrp.Master {
			t.Errorf("VI_2 did not restart with priority 150")
		}
		if got := m.fb.of("VI_3"); strings.Join(got, ",") != "release,acquire,release" || m.router("VI_3") != nil {
			t.Errorf("VI_3 (removed): %q, still running: %v", got, m.router("VI_3") != nil)
		}
		if r := m.router("VI_4"); r == nil || r.State() != vrrp.Master {
			t.Error("VI_4 (added) is not master")
		}
		st := m.d.status("k.conf")
		if len(st.Instances) != 3 || st.Instances[0].Name != "VI_1" || st.Instances[2].Name != "VI_4" {
			t.Errorf("status lists %+v", st.Instances)
		}
		m.stop(t)
	})
}

// TestReloadAppliesAPriorityInPlace: a reload that changes only VI_1's
// priority keeps its router, which takes the new priority with no
// transition and no address change.
func TestReloadAppliesAPriorityInPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := startMemDaemon(t, memConf(map[string]int{"VI_1": 200}))
		passFake(time.Second)
		r1 := m.router("VI_1")
		m.d.reload(context.Background(), mustPlan(t, memConf(map[string]int{"VI_1": 150})))
		passFake(time.Second)
		if m.router("VI_1") != r1 {
			t.Fatal("VI_1 got a new router for a priority change")
		}
		if s := r1.Stats(); r1.State() != vrrp.Master || r1.Priority() != 150 || s.BecameMaster != 1 || s.PriorityZeroSent != 0 {
			t.Errorf("VI_1: %v at %d, %+v; want master all along, at 150", r1.State(), r1.Priority(), s)
		}
		if got := m.fb.of("VI_1"); strings.Join(got, ",") != "release,acquire" {
			t.Errorf("VI_1's addresses: %q, want only the start's release and acquire", got)
		}
		if st := m.d.status("k.conf"); len(st.Instances) != 1 || st.Instances[0].BasePriority != 150 {
			t.Errorf("status: %+v", st.Instances)
		}
		m.stop(t)
	})
}

// TestAGlobalScheduleChangeRestartsTheInstancesItReaches: vrrp_garp_*
// settings live in global_defs but change what each instance runs.
func TestAGlobalScheduleChangeRestartsTheInstancesItReaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := memConf(map[string]int{"VI_1": 200})
		m := startMemDaemon(t, src)
		passFake(time.Second)
		r1 := m.router("VI_1")
		m.d.reload(context.Background(), mustPlan(t, "global_defs {\n  vrrp_garp_master_repeat 2\n}\n"+src))
		passFake(time.Second)
		if m.router("VI_1") == r1 {
			t.Error("VI_1 kept running on the old announcement schedule")
		}
		if len(m.fb.scheds) != 1 || m.fb.scheds[0].Repeat != 2 {
			t.Errorf("schedules asked for: %+v", m.fb.scheds)
		}
		m.stop(t)
	})
}

// TestStopReleasesEveryMaster: stopping the node releases every address;
// the daemon then drains what the routers last said.
func TestStopReleasesEveryMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := startMemDaemon(t, memConf(map[string]int{"VI_1": 200, "VI_2": 100}))
		passFake(time.Second)
		m.stop(t)
		for _, name := range []string{"VI_1", "VI_2"} {
			if got := m.fb.of(name); strings.Join(got, ",") != "release,acquire,release" {
				t.Errorf("%s: %q, want acquire then release", name, got)
			}
		}
	})
}
