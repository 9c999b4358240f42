package vip

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// sent is one announcement as the fake sender saw it.
type sent struct {
	at   time.Duration // since the test's start
	addr string
	ifc  string
}

func (s sent) String() string { return fmt.Sprintf("%v %s@%s", s.at, s.addr, s.ifc) }

type recorder struct {
	clock *vrrptest.ManualClock
	start time.Time
	mu    sync.Mutex
	got   []sent
}

func (r *recorder) send(t target) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, sent{at: r.clock.Now().Sub(r.start), addr: t.addr.String(), ifc: t.ifname})
	return nil
}

// take returns what was sent since the last take.
func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func newTestAnnouncer(t *testing.T) (*announcer, *vrrptest.ManualClock, *recorder) {
	clock := vrrptest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rec := &recorder{clock: clock, start: clock.Now()}
	a := newAnnouncer(clock, zap.NewNop(), rec.send)
	t.Cleanup(a.close)
	return a, clock, rec
}

// advance moves clock forward by d inside the test's synctest bubble,
// firing each due timer at its own time and waiting (synctest.Wait) until
// every goroutine has reacted before the next: what the announcer does at
// 5 s happens at 5 s.
func advance(clock *vrrptest.ManualClock, d time.Duration) {
	synctest.Wait()
	end := clock.Now().Add(d)
	for clock.StepUntil(end) {
		synctest.Wait()
	}
	clock.AdvanceTo(end)
	synctest.Wait()
}

func tgt(addr, ifname string, ifindex int) target {
	return target{
		addr:    netip.MustParseAddr(addr),
		ifname:  ifname,
		ifindex: ifindex,
		mac:     net.HardwareAddr{2, 0, 0, 0, 0, byte(ifindex)},
	}
}

// rounds is what n rounds over addrs look like at one instant.
func rounds(at time.Duration, n int, ifc string, addrs ...string) []sent {
	var out []sent
	for range n {
		for _, a := range addrs {
			out = append(out, sent{at: at, addr: a, ifc: ifc})
		}
	}
	return out
}

func checkSent(t *testing.T, what string, got, want []sent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %d: %v\nwant %d: %v", what, len(got), got, len(want), want)
	}
}

func TestDefaultScheduleIsFivePlusFiveAfterFiveSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, clock, rec := newTestAnnouncer(t)
		o := &owner{name: "VI_1", sched: DefaultSchedule(),
			targets: []target{tgt("10.0.0.100", "eth0", 2), tgt("10.0.0.101", "eth0", 2)}}
		a.start(o)
		synctest.Wait()
		// keepalived's order in the capture: round after round over the VIPs.
		checkSent(t, "at once", rec.take(), rounds(0, 5, "eth0", "10.0.0.100", "10.0.0.101"))

		advance(clock, 5*time.Second-time.Nanosecond)
		checkSent(t, "before 5 s", rec.take(), nil)
		advance(clock, time.Nanosecond)
		checkSent(t, "at 5 s", rec.take(), rounds(5*time.Second, 5, "eth0", "10.0.0.100", "10.0.0.101"))

		advance(clock, time.Hour)
		checkSent(t, "afterwards (refresh is off by default)", rec.take(), nil)
		if n := a.pending(); n != 0 {
			t.Errorf("%d events still pending", n)
		}
	})
}

func TestScheduleOrderMatchesKeepalivedCapture(t *testing.T) {
	for _, tc := range []struct {
		pcap  string
		addrs []string
	}{
		{"v2-pass-mcast.pcap", []string{"10.0.0.100", "10.0.0.101"}},
		{"v3-ipv6-mcast.pcap", []string{"fd00::100", "fd00::101"}},
	} {
		t.Run(tc.pcap, func(t *testing.T) {
			var want []string
			for _, f := range capturedAnnouncements(t, tc.pcap) {
				if strings.Contains(tc.pcap, "ipv6") {
					want = append(want, netip.AddrFrom16([16]byte(f.Data[14+48:14+64])).String())
				} else {
					want = append(want, netip.AddrFrom4([4]byte(f.Data[38:42])).String())
				}
			}
			synctest.Test(t, func(t *testing.T) {
				a, _, rec := newTestAnnouncer(t)
				o := &owner{name: "VI_1", sched: DefaultSchedule()}
				for _, s := range tc.addrs {
					o.targets = append(o.targets, tgt(s, "eth0", 2))
				}
				a.start(o)
				synctest.Wait()
				var got []string
				for _, s := range rec.take() {
					got = append(got, s.addr)
				}
				if !slices.Equal(got, want) {
					t.Errorf("targets in order:\n got %v\nwant %v (keepalived)", got, want)
				}
			})
		})
	}
}

func TestScheduleSettings(t *testing.T) {
	two := []string{"10.0.0.100", "10.0.0.101"}
	for _, tc := range []struct {
		name  string
		sched Schedule
		until time.Duration
		want  []sent
	}{
		{
			name:  "garp_master_repeat 3, garp_master_delay 0: one batch",
			sched: Schedule{Repeat: 3},
			until: time.Hour,
			want:  rounds(0, 3, "eth0", two...),
		},
		{
			name:  "garp_master_repeat 1, garp_master_delay 2",
			sched: Schedule{Repeat: 1, Delay: 2 * time.Second},
			until: time.Hour,
			want:  append(rounds(0, 1, "eth0", two...), rounds(2*time.Second, 1, "eth0", two...)...),
		},
		{
			name:  "garp_master_repeat 0: nothing",
			sched: Schedule{Repeat: 0, Delay: 5 * time.Second},
			until: time.Hour,
			want:  nil,
		},
		{
			name:  "garp_master_refresh 10 with default refresh_repeat 1",
			sched: Schedule{Repeat: 2, Delay: 5 * time.Second, Refresh: 10 * time.Second, RefreshRepeat: 1},
			until: 35 * time.Second,
			want: slices.Concat(
				rounds(0, 2, "eth0", two...),
				rounds(5*time.Second, 2, "eth0", two...),
				rounds(10*time.Second, 1, "eth0", two...),
				rounds(20*time.Second, 1, "eth0", two...),
				rounds(30*time.Second, 1, "eth0", two...),
			),
		},
		{
			name:  "garp_master_refresh 3 with garp_master_refresh_repeat 2",
			sched: Schedule{Repeat: 1, Refresh: 3 * time.Second, RefreshRepeat: 2},
			until: 7 * time.Second,
			want: slices.Concat(
				rounds(0, 1, "eth0", two...),
				rounds(3*time.Second, 2, "eth0", two...),
				rounds(6*time.Second, 2, "eth0", two...),
			),
		},
		{
			name:  "garp_master_refresh_repeat 0: no refresh",
			sched: Schedule{Repeat: 1, Refresh: 3 * time.Second, RefreshRepeat: 0},
			until: time.Minute,
			want:  rounds(0, 1, "eth0", two...),
		},
		{
			name:  "garp_interval 0.1: one ARP per 100 ms on the interface",
			sched: Schedule{Repeat: 2, Delay: time.Second, ARPInterval: 100 * time.Millisecond},
			until: time.Hour,
			want: []sent{
				{0, "10.0.0.100", "eth0"}, {100 * time.Millisecond, "10.0.0.101", "eth0"},
				{200 * time.Millisecond, "10.0.0.100", "eth0"}, {300 * time.Millisecond, "10.0.0.101", "eth0"},
				{time.Second, "10.0.0.100", "eth0"}, {1100 * time.Millisecond, "10.0.0.101", "eth0"},
				{1200 * time.Millisecond, "10.0.0.100", "eth0"}, {1300 * time.Millisecond, "10.0.0.101", "eth0"},
			},
		},
		{
			name:  "gna_interval does not space ARPs",
			sched: Schedule{Repeat: 2, NAInterval: time.Second},
			until: time.Hour,
			want:  rounds(0, 2, "eth0", two...),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, clock, rec := newTestAnnouncer(t)
				o := &owner{name: "VI_1", sched: tc.sched,
					targets: []target{tgt("10.0.0.100", "eth0", 2), tgt("10.0.0.101", "eth0", 2)}}
				a.start(o)
				advance(clock, tc.until)
				checkSent(t, "sent", rec.take(), tc.want)
			})
		})
	}
}

func TestIntervalsSpacePerInterfaceAndKind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, clock, rec := newTestAnnouncer(t)
		s := Schedule{Repeat: 2, ARPInterval: 100 * time.Millisecond, NAInterval: 300 * time.Millisecond}
		o := &owner{name: "VI_1", sched: s, targets: []target{
			tgt("10.0.0.100", "eth0", 2),
			tgt("fd00::100", "eth0", 2),
			tgt("10.1.0.100", "eth1", 3),
		}}
		a.start(o)
		advance(clock, time.Hour)
		want := []sent{
			{0, "10.0.0.100", "eth0"},
			{0, "fd00::100", "eth0"},
			{0, "10.1.0.100", "eth1"},
			{100 * time.Millisecond, "10.0.0.100", "eth0"},
			{100 * time.Millisecond, "10.1.0.100", "eth1"},
			{300 * time.Millisecond, "fd00::100", "eth0"},
		}
		checkSent(t, "sent", rec.take(), want)
	})
}

func TestIntervalIsSharedByRoutersOnOneInterface(t *testing.T) {
	// keepalived keeps garp_next_time per interface: two instances on eth0
	// queue behind each other.
	synctest.Test(t, func(t *testing.T) {
		a, clock, rec := newTestAnnouncer(t)
		s := Schedule{Repeat: 1, ARPInterval: time.Second}
		a.start(&owner{name: "VI_1", sched: s, targets: []target{tgt("10.0.0.100", "eth0", 2)}})
		a.start(&owner{name: "VI_2", sched: s, targets: []target{tgt("10.0.0.200", "eth0", 2)}})
		advance(clock, time.Hour)
		checkSent(t, "sent", rec.take(), []sent{
			{0, "10.0.0.100", "eth0"},
			{time.Second, "10.0.0.200", "eth0"},
		})
	})
}

func TestLowerPriorityReannounce(t *testing.T) {
	one := []string{"10.0.0.100"}
	for _, tc := range []struct {
		name  string
		sched Schedule
		want  []sent // relative to the Announce call at 60 s
	}{
		{"defaults: 5 now, 5 after 5 s", DefaultSchedule(),
			append(rounds(60*time.Second, 5, "eth0", one...), rounds(65*time.Second, 5, "eth0", one...)...)},
		{"garp_lower_prio_repeat 2, garp_lower_prio_delay 0", Schedule{Repeat: 1, LowerPrioRepeat: 2},
			rounds(60*time.Second, 2, "eth0", one...)},
		{"garp_lower_prio_repeat 1, garp_lower_prio_delay 3", Schedule{Repeat: 1, LowerPrioRepeat: 1, LowerPrioDelay: 3 * time.Second},
			append(rounds(60*time.Second, 1, "eth0", one...), rounds(63*time.Second, 1, "eth0", one...)...)},
		{"garp_lower_prio_repeat 0: nothing", Schedule{Repeat: 1, LowerPrioRepeat: 0, LowerPrioDelay: 3 * time.Second},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, clock, rec := newTestAnnouncer(t)
				o := &owner{name: "VI_1", sched: tc.sched, targets: []target{tgt("10.0.0.100", "eth0", 2)}}
				a.start(o)
				advance(clock, 60*time.Second)
				rec.take()
				a.lowerPrio(o)
				advance(clock, time.Hour)
				checkSent(t, "after Announce", rec.take(), tc.want)
			})
		})
	}
}

func TestStopDropsPendingAnnouncements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, clock, rec := newTestAnnouncer(t)
		s := DefaultSchedule()
		s.Refresh = 10 * time.Second
		s.ARPInterval = time.Second // so part of the first batch is still queued
		o := &owner{name: "VI_1", sched: s, targets: []target{tgt("10.0.0.100", "eth0", 2)}}
		other := &owner{name: "VI_2", sched: Schedule{Repeat: 1, Delay: 20 * time.Second},
			targets: []target{tgt("10.0.9.100", "eth9", 9)}}
		a.start(o)
		a.start(other)
		advance(clock, 1500*time.Millisecond)
		checkSent(t, "first 1.5 s", rec.take(), []sent{
			{0, "10.0.0.100", "eth0"}, {0, "10.0.9.100", "eth9"}, {time.Second, "10.0.0.100", "eth0"},
		})
		a.stop(o)
		advance(clock, time.Hour)
		checkSent(t, "after stop: only the other router", rec.take(), []sent{{20 * time.Second, "10.0.9.100", "eth9"}})
		if n := a.pending(); n != 0 {
			t.Errorf("%d events still pending", n)
		}
	})
}

func TestSomeAnnouncesOnlyTheGivenTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, clock, rec := newTestAnnouncer(t)
		o := &owner{name: "VI_1", sched: Schedule{Repeat: 2},
			targets: []target{tgt("10.0.0.100", "eth0", 2), tgt("10.0.0.101", "eth0", 2)}}
		a.start(o)
		advance(clock, time.Minute)
		rec.take()
		a.some(o, []target{tgt("10.0.0.101", "eth0", 2)})
		advance(clock, time.Minute)
		checkSent(t, "restored address", rec.take(), rounds(time.Minute, 2, "eth0", "10.0.0.101"))
	})
}

func TestCloseStopsTheGoroutineWithWorkPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := vrrptest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		rec := &recorder{clock: clock, start: clock.Now()}
		a := newAnnouncer(clock, zap.NewNop(), rec.send)
		a.start(&owner{name: "VI_1", sched: DefaultSchedule(), targets: []target{tgt("10.0.0.100", "eth0", 2)}})
		synctest.Wait()
		a.close()
		a.close() // idempotent
		a.start(&owner{name: "VI_2", sched: DefaultSchedule(), targets: []target{tgt("10.0.0.200", "eth0", 2)}})
		advance(clock, time.Hour)
		checkSent(t, "sent", rec.take(), rounds(0, 5, "eth0", "10.0.0.100"))
		// synctest.Test fails if the announcer's goroutine is still running.
	})
}

func TestScheduleValidateNamesTheField(t *testing.T) {
	if err := DefaultSchedule().Validate(); err != nil {
		t.Fatalf("default schedule: %v", err)
	}
	s := DefaultSchedule()
	s.LowerPrioDelay = -time.Second
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "LowerPrioDelay") {
		t.Errorf("negative LowerPrioDelay: %v", err)
	}
	s = DefaultSchedule()
	s.Repeat = -1
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "Repeat") {
		t.Errorf("negative Repeat: %v", err)
	}
}
