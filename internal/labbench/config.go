package labbench

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Scenario is the group both daemons run: Routers virtual routers, one VIP
// each, spread evenly over Interfaces interfaces (VRIDs 1..Routers/Interfaces
// on each).
type Scenario struct {
	Routers  int
	Version  int           // 2 or 3
	Interval time.Duration // advert_int
	// Interfaces is how many interfaces carry the routers. 0 or 1: the
	// hosts' eth0. More: that many interfaces besides eth0 (see
	// Interface), each a segment and subnet of its own, since one
	// interface holds at most 255 VRIDs.
	Interfaces int
	// GlobalDefs are extra global_defs lines (vrrp_rt_priority 50, ...).
	GlobalDefs []string
}

// ifaces is how many interfaces the scenario uses (at least 1).
func (s Scenario) ifaces() int { return max(1, s.Interfaces) }

// PerInterface is how many routers (VRIDs) each interface carries.
func (s Scenario) PerInterface() int { return s.Routers / s.ifaces() }

// Interface names interface k (0-based) of a host: eth0 alone, or eth1
// onwards, each on its own segment (see setupInterfaces).
func (s Scenario) Interface(k int) string {
	if s.ifaces() == 1 {
		return "eth0"
	}
	return fmt.Sprintf("eth%d", 1+k)
}

// vlanAddr is host i's address on interface k of several: 10.(k+1).0.i, a subnet
// apart from eth0's 10.0.0.0/24 and from the VIPs in 10.0.1.0 to 10.0.17.0.
func vlanAddr(k int, host byte) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(k + 1), 0, host})
}

// Config renders the keepalived.conf of one host. Every instance is BACKUP
// with the given priority, so the higher priority takes over by preemption.
func (s Scenario) Config(routerID string, priority int) string {
	return s.config(routerID, func(i int) (int, []string) { return priority, []string{vipFor(i)} })
}

// config is Config with router i's (1-based) priority and VIPs given by
// inst.
func (s Scenario) config(routerID string, inst func(i int) (priority int, vips []string)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_version %d\n", routerID, s.Version)
	for _, l := range s.GlobalDefs {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	b.WriteString("}\n")
	per := s.PerInterface()
	for i := 1; i <= s.Routers; i++ {
		k, vrid := (i-1)/per, 1+(i-1)%per
		prio, vips := inst(i)
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
  state BACKUP
  interface %s
  virtual_router_id %d
  priority %d
  advert_int %s
  virtual_ipaddress {
`, i, s.Interface(k), vrid, prio, seconds(s.Interval))
		for _, v := range vips {
			fmt.Fprintf(&b, "    %s/32\n", v)
		}
		b.WriteString("  }\n}\n")
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

// vipFor gives router i (1-based) its own address outside the hosts'
// subnets: 10.0.1.0 onwards, 250 to a /24.
func vipFor(i int) string { return fmt.Sprintf("10.0.%d.%d", 1+i/250, 1+i%250) }

func seconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}
