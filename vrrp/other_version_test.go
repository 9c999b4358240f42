package vrrp_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// A VRRPv2 router (keepalived's default) and a VRRPv3 one (ours) on one
// VRID ignore each other and both become master: the v3 router says so
// in an event, once while the v2 one keeps talking, and in its Stats.
func TestRouterOfTheOtherVersionIsAnnounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := newLAN(t)
		c2, c3 := cfg("VI_1", 51, 100), cfg("VI_1", 51, 200)
		c2.Version = 2
		r2, _ := vrrp.NewRouter(c2, vrrp.NodeConfig{Network: addHost(lan, "a", "10.0.0.1")})
		r3, _ := vrrp.NewRouter(c3, vrrp.NodeConfig{Network: addHost(lan, "b", "10.0.0.2")})
		run2, run3 := run(r2.Run), run(r3.Run)
		var seen []vrrp.Event
		deadline := time.After(30 * time.Second)
	read:
		for {
			select {
			case ev := <-r3.Events():
				if ev.Kind == vrrp.EventOtherVersion {
					seen = append(seen, ev)
				}
			case <-deadline:
				break read
			}
		}
		if len(seen) != 1 {
			t.Fatalf("%d EventOtherVersion in 30 s of a v2 master's adverts, want 1: %v", len(seen), seen)
		}
		if ev := seen[0]; ev.Master.String() != "10.0.0.1" || ev.Detail != "VRRPv2" {
			t.Errorf("event %v, want 10.0.0.1 speaking VRRPv2", ev)
		}
		if got := seen[0].String(); got != "VI_1: 10.0.0.1 speaks VRRPv2 on this VRID" {
			t.Errorf("String() = %q", got)
		}
		st := r3.Stats()
		if o := st.OtherVersion; o.From.String() != "10.0.0.1" || o.Version != 2 || time.Since(o.LastSeen) > 2*time.Second {
			t.Errorf("Stats.OtherVersion = %+v, want 10.0.0.1, v2, seen within 2 s", o)
		}
		if st.Drops[vrrp.DropVersion] < 25 {
			t.Errorf("%d version drops in 30 s of adverts, want about 30", st.Drops[vrrp.DropVersion])
		}
		if r2.State() != vrrp.Master || r3.State() != vrrp.Master {
			t.Errorf("states %v / %v: the two versions were expected not to hear each other", r2.State(), r3.State())
		}
		run2.stop(t)
		run3.stop(t)
	})
}
