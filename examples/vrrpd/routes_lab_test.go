package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// routesOf is what h holds of keepalived's protocol (vrrpd marks its
// routes and rules so): routes of every table, and rules, one a line.
func routesOf(t *testing.T, h *netlab.Host) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"-4", "route", "show", "table", "all", "proto", "keepalived"},
		{"-6", "route", "show", "table", "all", "proto", "keepalived"},
		{"-4", "rule", "show"},
	} {
		out, err := h.Run("ip", args...)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(out)
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "\n", " | ")), " ")
}

// TestRoutesAndRulesFollowTheMaster: virtual_routes and virtual_rules are
// on the master only and move with it; static_routes and static_rules are
// on every node; a killed master's routes are removed when it comes back
// as a backup; a clean stop removes them all. An instance with
// unicast_fault_no_peer and no peers stays in FAULT and sends nothing.
func TestRoutesAndRulesFollowTheMaster(t *testing.T) {
	t.Parallel()
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	conf := func(self *netlab.Host, prio int) string {
		return fmt.Sprintf(`global_defs {
  router_id %s
}
static_routes {
  198.51.100.0/24 via 10.0.0.254 dev eth0
}
static_rules {
  from 198.51.100.0/24 table 200 preference 300
}
vrrp_instance VI_R {
  interface eth0
  virtual_router_id 80
  version 3
  priority %d
  advert_int 0.1
  virtual_ipaddress {
    10.0.0.180/24
  }
  virtual_routes {
    src 10.0.0.180 to 10.1.0.0/24 via 10.0.0.254 dev eth0
    blackhole 10.3.0.0/24 table 100
  }
  virtual_rules {
    from 10.0.0.180/32 table 100 preference 100
  }
}
vrrp_instance VI_N {
  interface eth0
  virtual_router_id 81
  version 3
  priority %d
  advert_int 0.1
  unicast_src_ip %s
  unicast_fault_no_peer
  virtual_ipaddress {
    10.0.0.181/24
  }
}
`, self.Name, prio, prio, self.IPv4)
	}
	virtual := []string{"10.1.0.0/24 via 10.0.0.254 dev eth0 src 10.0.0.180", "blackhole 10.3.0.0/24 table 100",
		"100: from 10.0.0.180 lookup 100 proto keepalived"}
	static := []string{"198.51.100.0/24 via 10.0.0.254 dev eth0", "300: from 198.51.100.0/24 lookup 200 proto keepalived"}
	want := func(what string, h *netlab.Host, lines []string, present bool) {
		t.Helper()
		var got string
		err := poll(func() bool {
			got = routesOf(t, h)
			for _, l := range lines {
				if strings.Contains(got, l) != present {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("%s: %s has %q, want %q present=%v", what, h.Name, got, lines, present)
		}
	}
	d1, d2 := t.TempDir(), t.TempDir()
	v1 := ld.vrrpd(h1, d1, conf(h1, 200))
	v2 := ld.vrrpd(h2, d2, conf(h2, 100))
	v1.await(0, `\(VI_R\) Entering MASTER STATE`)
	v2.await(0, `\(VI_R\) Entering BACKUP STATE`)
	want("h1 master", h1, append(virtual, static...), true)
	want("h2 backup: its static ones", h2, static, true)
	want("h2 backup: no virtual ones", h2, virtual, false)
	for _, v := range []*proc{v1, v2} {
		v.await(0, `\(VI_N\) Entering FAULT STATE`)
		if in := instanceStatus(v.status(), "VI_N"); in == nil || in.State != "FAULT" {
			t.Errorf("%s: VI_N is %+v, want FAULT (unicast_fault_no_peer)", v.name, in)
		}
	}

	// h1 is killed: h2 takes the virtual routes; h1's stay where the
	// killed run left them until it comes back.
	mark := v2.log.mark()
	v1.kill()
	if got := routesOf(t, h1); !strings.Contains(got, virtual[0]) {
		t.Fatalf("the killed run left no route to clean up: %q", got)
	}
	v2.await(mark, `\(VI_R\) Entering MASTER STATE`)
	want("h2 master", h2, append(virtual, static...), true)
	v1 = ld.vrrpd(h1, d1, conf(h1, 50))
	v1.await(0, `\(VI_R\) Entering BACKUP STATE`)
	want("h1 back as a backup: the killed run's virtual ones removed", h1, virtual, false)
	want("h1 back as a backup: its static ones", h1, static, true)

	// A clean stop removes everything, static ones included.
	v1.terminate()
	want("h1 stopped", h1, append(virtual, static...), false)
	v2.terminate()
	want("h2 stopped", h2, append(virtual, static...), false)
	for _, w := range wireFrames(capture) {
		if w.vrrp && w.vrid == 81 {
			t.Errorf("VI_N (unicast_fault_no_peer, no peers) sent an advert from %s", w.src)
			break
		}
	}
	ld.checkNoComplaints()
}
