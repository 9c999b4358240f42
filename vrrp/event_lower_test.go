package vrrp_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// A master that hears a lower priority (two masters after a partition
// heals) tells the program with EventLowerPriority, naming the other
// master, when Config.LowerPriorityEvents asks for it: keepalived runs
// notify_master_rx_lower_pri on it, so that a program moving its address
// by an API call can take it back. Without it, no such event.
func TestMasterHearingALowerPriorityTellsTheProgram(t *testing.T) {
	for _, on := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			lan := newLAN(t)
			h1, h2 := addHost(lan, "h1", "10.0.0.1"), addHost(lan, "h2", "10.0.0.2")
			lan.Partition([]string{"h1"}, []string{"h2"})
			c1 := cfg("VI_1", 1, 200)
			c1.LowerPriorityEvents = on
			r1, err := vrrp.NewRouter(c1, vrrp.NodeConfig{Network: h1, EventBuffer: 64})
			if err != nil {
				t.Fatal(err)
			}
			// h2 advertises ten times as often: after the heal, h1 hears
			// it before h2 hears h1 and steps down.
			c2 := cfg("VI_1", 1, 100)
			c2.Interval = 100 * time.Millisecond
			r2, err := vrrp.NewRouter(c2, vrrp.NodeConfig{Network: h2, EventBuffer: 64})
			if err != nil {
				t.Fatal(err)
			}
			n1, n2 := run(r1.Run), run(r2.Run)
			waitState(t, r1, vrrp.Master, 5*time.Second)
			waitState(t, r2, vrrp.Master, 5*time.Second)
			lan.Heal()
			waitState(t, r2, vrrp.Backup, 3*time.Second)
			pass(time.Second)
			var got []vrrp.Event
			for len(r1.Events()) > 0 {
				if ev := <-r1.Events(); ev.Kind == vrrp.EventLowerPriority {
					got = append(got, ev)
				}
			}
			switch {
			case on && len(got) == 0:
				t.Error("no EventLowerPriority after the partition healed")
			case on && (got[0].Master != h2.Addr(false) || got[0].Priority != 200 || got[0].Router != "VI_1"):
				t.Errorf("event %+v, want from 10.0.0.2 with our priority 200", got[0])
			case !on && len(got) > 0:
				t.Errorf("EventLowerPriority without LowerPriorityEvents: %v", got)
			}
			for _, n := range []*running{n1, n2} {
				if err := n.stop(t); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
