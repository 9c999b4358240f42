package labbench

import (
	"fmt"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Scenario is the group both daemons run: Routers virtual routers on eth0,
// VRIDs 1..Routers, one VIP each.
type Scenario struct {
	Routers  int
	Version  int           // 2 or 3
	Interval time.Duration // advert_int
}

// Config renders the keepalived.conf of one host. Every instance is BACKUP
// with the given priority, so the higher priority takes over by preemption.
func (s Scenario) Config(routerID string, priority int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_version %d\n}\n", routerID, s.Version)
	for i := 1; i <= s.Routers; i++ {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
  state BACKUP
  interface eth0
  virtual_router_id %d
  priority %d
  advert_int %s
  virtual_ipaddress {
    %s/32
  }
}
`, i, i, priority, seconds(s.Interval), vipFor(i))
	}
	return b.String()
}

// MasterDownInterval is the Master_Down_Interval of a backup with
// priority p (RFC 5798 §6.1, RFC 3768 §6.1), as vrrp computes it: every
// router has the same interval, so a v3 backup's learned
// Master_Adver_Interval is its own.
func (s Scenario) MasterDownInterval(p int) time.Duration {
	return vrrp.MasterDownInterval(s.Version, p, s.Interval)
}

// vipFor gives VRID i its own address outside the hosts' 10.0.0.0/24.
func vipFor(i int) string { return fmt.Sprintf("10.0.%d.%d", 1+i/250, 1+i%250) }

func seconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", d.Seconds()), "0"), ".")
}
