package vip

import (
	"errors"
	"fmt"
	"net/netip"
)

// RouteType is what a route does with the packets it matches (rtnetlink's
// route types).
type RouteType uint8

const (
	// RouteUnicast forwards to a gateway or out of an interface (the
	// default).
	RouteUnicast RouteType = iota
	// RouteBlackhole drops silently.
	RouteBlackhole
	// RouteUnreachable drops with ICMP unreachable.
	RouteUnreachable
	// RouteProhibit drops with ICMP administratively prohibited.
	RouteProhibit
	// RouteThrow ends the lookup in this table (policy routing goes on).
	RouteThrow
)

func (t RouteType) String() string {
	switch t {
	case RouteUnicast:
		return "unicast"
	case RouteBlackhole:
		return "blackhole"
	case RouteUnreachable:
		return "unreachable"
	case RouteProhibit:
		return "prohibit"
	case RouteThrow:
		return "throw"
	}
	return fmt.Sprintf("RouteType(%d)", uint8(t))
}

// NextHop is one path of a multipath route.
type NextHop struct {
	Gateway   netip.Addr
	Interface string // empty: found by the kernel from Gateway
	Weight    int    // 1..256; 0 means 1
	OnLink    bool   // the gateway is on the link even outside its prefixes
}

// Route is a route that a router adds while master and removes otherwise
// (keepalived's virtual_routes entry), or one held for the life of the
// backend (static_routes). The zero value of each optional field is "ip
// route add"'s default, except Protocol (see RoutingConfig).
type Route struct {
	// Dst is the destination; 0.0.0.0/0 or ::/0 for a default route.
	// Required; its family is the route's.
	Dst netip.Prefix
	// Src is the preferred source address of packets the host sends by
	// the route (src). It must be on the host when the route is added:
	// compose the routes after the addresses (vip.Multi(linux, routes)).
	Src netip.Addr
	// Gateway is the next hop (via); Interface the outgoing interface
	// (dev). A unicast route needs one of them, or NextHops.
	Gateway   netip.Addr
	Interface string
	OnLink    bool
	// NextHops make a multipath route (nexthop ..., keepalived's "or"),
	// instead of Gateway and Interface.
	NextHops []NextHop
	Type     RouteType
	// Table is the routing table; 0 means main (254).
	Table uint32
	// Metric is the route's priority (metric, preference): lower wins.
	Metric uint32
	// Scope is rtnetlink's scope of the route: 0 universe (the default),
	// 200 site, 253 link, 254 host.
	Scope uint8
	// TOS matches the type-of-service field (tos), IPv4 only.
	TOS uint8
	// NoRestore: not put back when someone else deletes it
	// (keepalived's no_track).
	NoRestore bool
}

// IPv6 reports whether r is an IPv6 route.
func (r Route) IPv6() bool { return r.Dst.Addr().Is6() }

func (r Route) String() string {
	s := r.Dst.String()
	if r.Type != RouteUnicast {
		s = r.Type.String() + " " + s
	}
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	if r.Interface != "" {
		s += " dev " + r.Interface
	}
	if r.Table != 0 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	return s
}

// Validate reports what makes r impossible to add.
func (r Route) Validate() error {
	if !r.Dst.IsValid() || r.Dst.Addr().Is4In6() {
		return fmt.Errorf("vip: route %v: no destination", r.Dst)
	}
	if r.Dst.Masked() != r.Dst {
		return fmt.Errorf("vip: route %v: the destination has host bits set (%v)", r.Dst, r.Dst.Masked())
	}
	six := r.IPv6()
	fam := func(a netip.Addr, what string) error {
		if a.IsValid() && a.Is6() != six {
			return fmt.Errorf("vip: route %v: %s %v is not of the destination's family", r.Dst, what, a)
		}
		return nil
	}
	if err := errors.Join(fam(r.Src, "src"), fam(r.Gateway, "via")); err != nil {
		return err
	}
	if r.Type > RouteThrow {
		return fmt.Errorf("vip: route %v: unknown type %d", r.Dst, r.Type)
	}
	if len(r.NextHops) > 0 && (r.Gateway.IsValid() || r.Interface != "") {
		return fmt.Errorf("vip: route %v: both nexthops and via/dev", r.Dst)
	}
	for _, nh := range r.NextHops {
		if err := fam(nh.Gateway, "nexthop via"); err != nil {
			return err
		}
		if !nh.Gateway.IsValid() && nh.Interface == "" {
			return fmt.Errorf("vip: route %v: a nexthop needs via or dev", r.Dst)
		}
		if nh.Weight < 0 || nh.Weight > 256 {
			return fmt.Errorf("vip: route %v: nexthop weight %d is not 1..256", r.Dst, nh.Weight)
		}
	}
	if r.Type == RouteUnicast && !r.Gateway.IsValid() && r.Interface == "" && len(r.NextHops) == 0 {
		return fmt.Errorf("vip: route %v: needs via, dev or nexthops", r.Dst)
	}
	if six && r.TOS != 0 {
		return fmt.Errorf("vip: route %v: tos is IPv4 only", r.Dst)
	}
	return nil
}

// RuleAction is what a policy rule does when it matches.
type RuleAction uint8

const (
	// RuleLookup looks the packet up in Rule.Table (the default).
	RuleLookup RuleAction = iota
	// RuleGoto jumps to the rule of priority Rule.Goto.
	RuleGoto
	// RuleNop does nothing.
	RuleNop
	// RuleBlackhole, RuleUnreachable and RuleProhibit drop the packet.
	RuleBlackhole
	RuleUnreachable
	RuleProhibit
)

func (a RuleAction) String() string {
	switch a {
	case RuleLookup:
		return "lookup"
	case RuleGoto:
		return "goto"
	case RuleNop:
		return "nop"
	case RuleBlackhole:
		return "blackhole"
	case RuleUnreachable:
		return "unreachable"
	case RuleProhibit:
		return "prohibit"
	}
	return fmt.Sprintf("RuleAction(%d)", uint8(a))
}

// Rule is a policy routing rule that a router adds while master
// (keepalived's virtual_rules entry) or that is held for the life of the
// backend (static_rules).
type Rule struct {
	// IPv6 is the rule's family when neither From nor To says it.
	IPv6 bool
	// From and To match the source and destination (from, to). Zero:
	// any.
	From, To netip.Prefix
	// Priority orders the rules (preference, priority, order). Give one:
	// without it the kernel picks one, and a router that changes state
	// adds its rules in another order each time.
	Priority uint32
	Action   RuleAction
	// Table is where RuleLookup looks (table, lookup); 0 means main.
	Table uint32
	// Goto is RuleGoto's target priority.
	Goto uint32
	// FwMark and FwMask match the packet's mark (fwmark MARK[/MASK]);
	// a zero FwMask with a FwMark is the kernel's 0xffffffff.
	FwMark, FwMask uint32
	// IIF and OIF match the incoming and outgoing interface (iif, oif).
	IIF, OIF string
	TOS      uint8
	// Invert negates the match (not).
	Invert bool
	// NoRestore: not put back when someone else deletes it
	// (keepalived's no_track).
	NoRestore bool
}

// Family6 reports whether r is an IPv6 rule.
func (r Rule) Family6() bool {
	switch {
	case r.From.IsValid():
		return r.From.Addr().Is6()
	case r.To.IsValid():
		return r.To.Addr().Is6()
	}
	return r.IPv6
}

func (r Rule) String() string {
	s := fmt.Sprintf("%d:", r.Priority)
	if r.Invert {
		s += " not"
	}
	if r.From.IsValid() {
		s += " from " + r.From.String()
	}
	if r.To.IsValid() {
		s += " to " + r.To.String()
	}
	switch r.Action {
	case RuleLookup:
		s += fmt.Sprintf(" table %d", r.table())
	case RuleGoto:
		s += fmt.Sprintf(" goto %d", r.Goto)
	default:
		s += " " + r.Action.String()
	}
	return s
}

func (r Rule) table() uint32 {
	if r.Table == 0 {
		return 254
	}
	return r.Table
}

// Validate reports what makes r impossible to add.
func (r Rule) Validate() error {
	six := r.Family6()
	for _, p := range []netip.Prefix{r.From, r.To} {
		if p.IsValid() && (p.Addr().Is6() != six || p.Addr().Is4In6()) {
			return fmt.Errorf("vip: rule %v: from and to must be of one family", r)
		}
	}
	if r.Action > RuleProhibit {
		return fmt.Errorf("vip: rule %v: unknown action %d", r, r.Action)
	}
	if r.Action == RuleGoto && r.Goto <= r.Priority {
		return fmt.Errorf("vip: rule %v: goto must jump forward, past its own priority", r)
	}
	if r.FwMask != 0 && r.FwMark&^r.FwMask != 0 {
		return fmt.Errorf("vip: rule %v: fwmark %#x has bits outside its mask %#x", r, r.FwMark, r.FwMask)
	}
	return nil
}
