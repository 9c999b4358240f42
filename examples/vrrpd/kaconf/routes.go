package kaconf

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/vrrpkit/vrrpkit/vip"
)

// Routes and rules: virtual_routes, virtual_rules, static_routes and
// static_rules entries, in keepalived's syntax, which is "ip route add"'s
// and "ip rule add"'s without their abbreviations. What vip.Route and
// vip.Rule cannot carry is an error naming the option: keepalived would
// add the route otherwise than vrrpd.

// routeTypes are the route types an entry may start with.
var routeTypes = map[string]vip.RouteType{
	"unicast": vip.RouteUnicast, "blackhole": vip.RouteBlackhole, "unreachable": vip.RouteUnreachable,
	"prohibit": vip.RouteProhibit, "throw": vip.RouteThrow,
}

// scopeNumber maps a scope name or number to rtnetlink's number.
func scopeNumber(s string) (uint8, bool) {
	switch s {
	case "global", "universe":
		return 0, true
	case "site":
		return 200, true
	case "link":
		return 253, true
	case "host":
		return 254, true
	case "nowhere":
		return 255, true
	}
	n, err := strconv.ParseUint(s, 0, 8)
	return uint8(n), err == nil
}

// tableNumber maps a table name (iproute2's fixed ones) or number.
func tableNumber(s string) (uint32, bool) {
	switch s {
	case "main":
		return 254, true
	case "local":
		return 255, true
	case "default":
		return 253, true
	}
	n, err := strconv.ParseUint(s, 0, 32)
	return uint32(n), err == nil && n > 0
}

// routeEntry parses one virtual_routes or static_routes line:
//
//	[TYPE] [src ADDR] [to] PREFIX|default [via|gw ADDR] [or ADDR] [dev IF]
//	[onlink] [scope S] [table T] [metric|priority|preference N] [tos N]
//	[protocol keepalived] [nexthop via ADDR [dev IF] [weight N] [onlink]]...
//	[inet6] [no_track]
func (p *parser) routeEntry(n *node, kw string) (vip.Route, bool) {
	if n.hasBlock {
		p.d.errorf(n.pos, kw, "an entry takes no { } block")
		return vip.Route{}, false
	}
	var r vip.Route
	w := n.words
	bad := func(format string, args ...any) (vip.Route, bool) {
		p.d.errorf(n.pos, kw, "%s: "+format, append([]any{strings.Join(w, " ")}, args...)...)
		return vip.Route{}, false
	}
	inet6 := false
	var or []netip.Addr
	i := 0
	if t, ok := routeTypes[w[0]]; ok {
		r.Type, i = t, 1
	}
	addr := func(s string) (netip.Addr, bool) {
		a, err := netip.ParseAddr(s)
		return a, err == nil && a.Zone() == "" && !a.Is4In6()
	}
	value := func() (string, bool) {
		if i+1 >= len(w) {
			return "", false
		}
		i++
		return w[i], true
	}
	dstSet := false
	for ; i < len(w); i++ {
		opt := w[i]
		switch opt {
		case "src", "via", "gw", "or":
			v, ok := value()
			a, aok := addr(v)
			if !ok || !aok {
				return bad("%s needs an address", opt)
			}
			switch opt {
			case "src":
				r.Src = a
			case "or":
				or = append(or, a)
			default:
				r.Gateway = a
			}
		case "dev", "oif":
			v, ok := value()
			if !ok || len(v) > maxIfName {
				return bad("%s needs an interface name", opt)
			}
			r.Interface = v
		case "onlink":
			r.OnLink = true
		case "scope":
			v, _ := value()
			s, ok := scopeNumber(v)
			if !ok {
				return bad("scope %q is not global, site, link, host, nowhere or 0..255", v)
			}
			r.Scope = s
		case "table":
			v, _ := value()
			t, ok := tableNumber(v)
			if !ok {
				return bad("table %q: give a number, main, local or default (vrrpd does not read rt_tables)", v)
			}
			r.Table = t
		case "metric", "priority", "preference":
			v, _ := value()
			m, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return bad("%s %q is not a number", opt, v)
			}
			r.Metric = uint32(m)
		case "tos", "dsfield":
			v, _ := value()
			t, err := strconv.ParseUint(v, 0, 8)
			if err != nil {
				return bad("%s %q is not a number", opt, v)
			}
			r.TOS = uint8(t)
		case "protocol", "proto":
			v, _ := value()
			if v != "keepalived" && v != "18" {
				return bad("protocol %s: vrrpd marks every route it adds with protocol keepalived", v)
			}
		case "nexthop":
			nh, next, ok := p.nextHop(w, i+1)
			if !ok {
				return bad("nexthop needs via ADDR or dev IF, then weight N or onlink")
			}
			r.NextHops = append(r.NextHops, nh)
			i = next - 1
		case "inet6":
			inet6 = true
		case "no_track":
			r.NoRestore = true
		case "track_group":
			return bad("track_group is not supported by vrrpd (a static route that cannot be put back does not put instances in FAULT)")
		case "to":
			continue
		case "default":
			if dstSet {
				return bad("two destinations")
			}
			dstSet = true
			r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		default:
			if pfx, ok := parseVIPPrefix(opt); ok && !dstSet {
				dstSet = true
				r.Dst = pfx
				continue
			}
			return bad("%q is not supported by vrrpd (keepalived would add the route with it)", opt)
		}
	}
	if !dstSet {
		return bad("no destination")
	}
	if r.Dst.Bits() == 0 && r.Dst.Addr().Is4() && (inet6 || r.Gateway.Is6() || r.Src.Is6()) {
		r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	if len(or) > 0 {
		// keepalived 2.4.3 calls "or" deprecated and fails to add such a
		// route (EINVAL); its meaning, more paths, is a multipath route.
		if !r.Gateway.IsValid() || len(r.NextHops) > 0 {
			return bad("or needs via and no nexthop")
		}
		p.d.warnf(n.pos, kw, "%s: \"or\" is deprecated (keepalived 2.4.3 fails to add such a route): vrrpd adds a multipath route, as nexthop would", strings.Join(w, " "))
		r.NextHops = append(r.NextHops, vip.NextHop{Gateway: r.Gateway, Interface: r.Interface, OnLink: r.OnLink})
		for _, a := range or {
			r.NextHops = append(r.NextHops, vip.NextHop{Gateway: a, Interface: r.Interface, OnLink: r.OnLink})
		}
		r.Gateway, r.Interface, r.OnLink = netip.Addr{}, "", false
	}
	r.Dst = r.Dst.Masked()
	if err := r.Validate(); err != nil {
		return bad("%s", strings.TrimPrefix(err.Error(), "vip: "))
	}
	return r, true
}

// nextHop parses "via ADDR [dev IF] [weight N] [onlink]" from w[i:] and
// returns where it stopped.
func (p *parser) nextHop(w []string, i int) (vip.NextHop, int, bool) {
	var nh vip.NextHop
	for i < len(w) {
		switch w[i] {
		case "via", "dev", "weight":
			if i+1 >= len(w) {
				return nh, i, false
			}
			v := w[i+1]
			switch w[i] {
			case "via":
				a, err := netip.ParseAddr(v)
				if err != nil || a.Zone() != "" {
					return nh, i, false
				}
				nh.Gateway = a
			case "dev":
				nh.Interface = v
			default:
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 256 {
					return nh, i, false
				}
				nh.Weight = n
			}
			i += 2
		case "onlink":
			nh.OnLink = true
			i++
		default:
			return nh, i, nh.Gateway.IsValid() || nh.Interface != ""
		}
	}
	return nh, i, nh.Gateway.IsValid() || nh.Interface != ""
}

// ruleActions are the actions a rule may name instead of a table.
var ruleActions = map[string]vip.RuleAction{
	"blackhole": vip.RuleBlackhole, "unreachable": vip.RuleUnreachable, "prohibit": vip.RuleProhibit, "nop": vip.RuleNop,
}

// ruleEntry parses one virtual_rules or static_rules line:
//
//	[not] [from PREFIX|all] [to PREFIX|all] [table|lookup T]
//	[preference|priority|order N] [fwmark N[/MASK]] [iif IF] [oif IF]
//	[tos N] [goto N] [blackhole|unreachable|prohibit|nop] [protocol
//	keepalived] [inet6] [no_track]
func (p *parser) ruleEntry(n *node, kw string) (vip.Rule, bool) {
	if n.hasBlock {
		p.d.errorf(n.pos, kw, "an entry takes no { } block")
		return vip.Rule{}, false
	}
	var r vip.Rule
	w := n.words
	bad := func(format string, args ...any) (vip.Rule, bool) {
		p.d.errorf(n.pos, kw, "%s: "+format, append([]any{strings.Join(w, " ")}, args...)...)
		return vip.Rule{}, false
	}
	prefix := func(s string) (netip.Prefix, bool) {
		if s == "all" {
			return netip.Prefix{}, true
		}
		pfx, ok := parseVIPPrefix(s)
		return pfx.Masked(), ok
	}
	num := func(i int, bits int) (uint64, bool) {
		if i >= len(w) {
			return 0, false
		}
		v, err := strconv.ParseUint(w[i], 0, bits)
		return v, err == nil
	}
	tableSet := false
	for i := 0; i < len(w); i++ {
		opt := w[i]
		if a, ok := ruleActions[opt]; ok {
			r.Action = a
			continue
		}
		switch opt {
		case "not":
			r.Invert = true
			continue
		case "inet6":
			r.IPv6 = true
			continue
		case "no_track":
			r.NoRestore = true
			continue
		case "track_group":
			return bad("track_group is not supported by vrrpd")
		}
		if i+1 >= len(w) {
			return bad("%s needs a value", opt)
		}
		i++
		v := w[i]
		switch opt {
		case "from", "to":
			pfx, ok := prefix(v)
			if !ok {
				return bad("%s %q is not a prefix or all", opt, v)
			}
			if opt == "from" {
				r.From = pfx
			} else {
				r.To = pfx
			}
		case "table", "lookup":
			t, ok := tableNumber(v)
			if !ok {
				return bad("table %q: give a number, main, local or default (vrrpd does not read rt_tables)", v)
			}
			r.Table, tableSet = t, true
		case "preference", "priority", "order", "pref":
			n, ok := num(i, 32)
			if !ok {
				return bad("%s %q is not a number", opt, v)
			}
			r.Priority = uint32(n)
		case "fwmark":
			mark, mask, _ := strings.Cut(v, "/")
			m, err := strconv.ParseUint(mark, 0, 32)
			if err != nil {
				return bad("fwmark %q", v)
			}
			r.FwMark = uint32(m)
			if mask != "" {
				k, err := strconv.ParseUint(mask, 0, 32)
				if err != nil {
					return bad("fwmark mask %q", v)
				}
				r.FwMask = uint32(k)
			}
		case "iif", "dev":
			r.IIF = v
		case "oif":
			r.OIF = v
		case "tos", "dsfield":
			n, ok := num(i, 8)
			if !ok {
				return bad("%s %q is not a number", opt, v)
			}
			r.TOS = uint8(n)
		case "goto":
			n, ok := num(i, 32)
			if !ok {
				return bad("goto %q is not a number", v)
			}
			r.Action, r.Goto = vip.RuleGoto, uint32(n)
		case "protocol", "proto":
			if v != "keepalived" && v != "18" {
				return bad("protocol %s: vrrpd marks every rule it adds with protocol keepalived", v)
			}
		default:
			return bad("%q is not supported by vrrpd (keepalived would add the rule with it)", opt)
		}
	}
	if r.Action == vip.RuleLookup && !tableSet {
		return bad("no table, goto or action")
	}
	if r.Priority == 0 {
		// keepalived picks one; the kernel would too, differently each
		// time an instance adds its rules.
		p.d.warnf(n.pos, kw, "%s: no preference; keepalived's manual asks for one, and the kernel picks one at each transition", strings.Join(w, " "))
	}
	if err := r.Validate(); err != nil {
		return bad("%s", strings.TrimPrefix(err.Error(), "vip: "))
	}
	return r, true
}

// routeBlock parses a virtual_routes / static_routes block.
func (p *parser) routeBlock(n *node) []vip.Route {
	if !p.block(n) || !p.count(n, 0, 0) {
		return nil
	}
	var out []vip.Route
	for _, e := range n.block {
		if r, ok := p.routeEntry(e, n.keyword()); ok {
			out = append(out, r)
		}
	}
	return out
}

// ruleBlock parses a virtual_rules / static_rules block.
func (p *parser) ruleBlock(n *node) []vip.Rule {
	if !p.block(n) || !p.count(n, 0, 0) {
		return nil
	}
	var out []vip.Rule
	for _, e := range n.block {
		if r, ok := p.ruleEntry(e, n.keyword()); ok {
			out = append(out, r)
		}
	}
	return out
}
