package labbench

import (
	"fmt"
	"strings"
	"time"
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

// MasterDownInterval is RFC 5798 §6.1's Master_Down_Interval of a backup
// with priority p (v3; v2's skew is in whole seconds' 256ths).
func (s Scenario) MasterDownInterval(p int) time.Duration {
	if s.Version == 2 {
		return 3*s.Interval + time.Duration(256-p)*time.Second/256
	}
	return 3*s.Interval + time.Duration(256-p)*s.Interval/256
}

// vipFor gives VRID i its own address outside the hosts' 10.0.0.0/24.
func vipFor(i int) string { return fmt.Sprintf("10.0.%d.%d", 1+i/250, 1+i%250) }

func seconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", d.Seconds()), "0"), ".")
}
