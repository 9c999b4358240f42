package kaconf

import (
	"net/netip"
	"strconv"
	"strings"
)

// vipIgnored are virtual_ipaddress options vrrpd accepts and ignores,
// with the number of values each takes.
var vipIgnored = map[string]int{
	"home": 0, "-nodad": 0, "nodad": 0, "mngtmpaddr": 0, "noprefixroute": 0,
	"autojoin": 0, "no_track": 0, "peer": 1, "preferred_lft": 1, "track_group": 1,
}

// scopes are the names of rt_scopes(5) keepalived accepts.
var scopes = words(`global site link host nowhere`)

// vip parses a virtual_ipaddress(_excluded) entry:
// "ADDRESS[/LEN] [brd ADDRESS|+|-] [dev IF] [scope SCOPE] [label LABEL] ...".
func (p *parser) vip(n *node, excluded bool) (VIP, bool) {
	if n.hasBlock {
		p.d.errorf(n.pos, n.keyword(), "takes no { } block")
		return VIP{}, false
	}
	// keepalived's keyword for the entry is the address itself; name the
	// block instead, which is what the reader looks for.
	kw := "virtual_ipaddress"
	if excluded {
		kw = "virtual_ipaddress_excluded"
	}
	pfx, ok := parseVIPPrefix(n.words[0])
	if !ok {
		p.d.errorf(n.pos, kw, "%q is not an IP address or prefix", n.words[0])
		return VIP{}, false
	}
	if a := pfx.Addr(); a.IsUnspecified() || a.IsMulticast() {
		p.d.errorf(n.pos, kw, "%s is not a unicast address", a)
		return VIP{}, false
	}
	v := VIP{Prefix: pfx, Excluded: excluded}
	is4 := pfx.Addr().Is4()
	for i := 1; i < len(n.words); i++ {
		opt := n.words[i]
		value := func() (string, bool) {
			if i+1 >= len(n.words) {
				p.d.errorf(n.pos, kw, "%s %s: missing value", n.words[0], opt)
				return "", false
			}
			i++
			return n.words[i], true
		}
		switch opt {
		case "dev":
			s, ok := value()
			if !ok {
				return VIP{}, false
			}
			if len(s) > maxIfName {
				p.d.errorf(n.pos, kw, "%s dev %s: interface name longer than %d bytes", n.words[0], s, maxIfName)
				return VIP{}, false
			}
			v.Interface = s
		case "label":
			s, ok := value()
			if !ok {
				return VIP{}, false
			}
			if !is4 {
				p.d.warnf(n.pos, kw, "%s: labels are IPv4 only, ignored", n.words[0])
				break
			}
			if len(s) > maxIfName {
				p.d.errorf(n.pos, kw, "%s label %s: longer than %d bytes", n.words[0], s, maxIfName)
				return VIP{}, false
			}
			v.Label = s
		case "brd", "broadcast":
			s, ok := value()
			if !ok {
				return VIP{}, false
			}
			if !is4 {
				p.d.warnf(n.pos, kw, "%s: brd is IPv4 only, ignored", n.words[0])
				break
			}
			b, ok := broadcast(pfx, s)
			if !ok {
				p.d.errorf(n.pos, kw, "%s brd %s: not an IPv4 address, + or -", n.words[0], s)
				return VIP{}, false
			}
			v.Broadcast = b
		case "scope":
			s, ok := value()
			if !ok {
				return VIP{}, false
			}
			if num, err := strconv.Atoi(s); err == nil && num >= 0 && num <= 255 {
				v.Scope = s
			} else if scopes[s] {
				v.Scope = s
			} else {
				p.d.errorf(n.pos, kw, "%s scope %s: not global, site, link, host, nowhere or 0..255", n.words[0], s)
				return VIP{}, false
			}
			if v.Scope == "global" || v.Scope == "0" {
				v.Scope = ""
			}
		case "use_vmac":
			p.d.warnf(n.pos, kw, "%s use_vmac: not supported by vrrpd, ignored", n.words[0])
			// use_vmac takes an optional interface name.
			if i+1 < len(n.words) && !isVIPOption(n.words[i+1]) {
				i++
			}
		default:
			nv, known := vipIgnored[opt]
			if !known {
				// keepalived: "Unknown configuration entry ... for ip
				// address - ignoring"; what follows is read as options.
				p.d.warnf(n.pos, kw, "%s: unknown option %q ignored", n.words[0], opt)
				break
			}
			p.d.warnf(n.pos, kw, "%s %s: not supported by vrrpd, ignored", n.words[0], opt)
			for ; nv > 0; nv-- {
				if _, ok := value(); !ok {
					return VIP{}, false
				}
			}
		}
	}
	return v, true
}

func isVIPOption(w string) bool {
	_, ignored := vipIgnored[w]
	return ignored || w == "dev" || w == "label" || w == "brd" || w == "broadcast" || w == "scope" || w == "use_vmac"
}

// parseVIPPrefix parses "ADDRESS" (as /32 or /128) or "ADDRESS/LEN",
// keeping the address's host bits.
func parseVIPPrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// broadcast resolves brd's value: an address, "+" (host bits set) or "-"
// (host bits clear).
func broadcast(pfx netip.Prefix, s string) (netip.Addr, bool) {
	switch s {
	case "-":
		return pfx.Masked().Addr(), true
	case "+":
		b := pfx.Masked().Addr().As4()
		for i := pfx.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}
