package kaconf

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// vipFlags are the virtual_ipaddress options without a value.
var vipFlags = map[string]func(v *VIP){
	"home":          func(v *VIP) { v.Home = true },
	"mngtmpaddr":    func(v *VIP) { v.MngTmpAddr = true },
	"noprefixroute": func(v *VIP) { v.NoPrefixRoute = true },
	"autojoin":      func(v *VIP) { v.AutoJoin = true },
	"no_track":      func(v *VIP) { v.NoTrack = true },
	// keepalived adds every IPv6 address without DAD anyway.
	"-nodad": func(*VIP) {},
	"nodad":  func(*VIP) {},
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
		case "peer":
			s, ok := value()
			if !ok {
				return VIP{}, false
			}
			peer, ok := parseVIPPrefix(s)
			if !ok || peer.Addr().Is4() != is4 {
				p.d.errorf(n.pos, kw, "%s peer %s: not an address of the same family", n.words[0], s)
				return VIP{}, false
			}
			v.Peer = peer
		case "preferred_lft":
			s, ok := value()
			if !ok {
				return VIP{}, false
			}
			v.PreferredLifetimeSet = true
			if s == "forever" {
				v.PreferredLifetime = vrrp.LifetimeForever
				break
			}
			secs, err := strconv.ParseUint(s, 10, 32)
			if err != nil || secs == math.MaxUint32 {
				p.d.errorf(n.pos, kw, "%s preferred_lft %s: not a number of seconds or forever", n.words[0], s)
				return VIP{}, false
			}
			v.PreferredLifetime = time.Duration(secs) * time.Second
		case "track_group":
			if _, ok := value(); !ok {
				return VIP{}, false
			}
			p.d.warnf(n.pos, kw, "%s track_group: not supported by vrrpd, ignored (a static address that cannot be put back does not put instances in FAULT)", n.words[0])
		case "use_vmac":
			p.d.warnf(n.pos, kw, "%s use_vmac: a VMAC per address is not supported by vrrpd, ignored (use_vmac of the instance is)", n.words[0])
			// use_vmac takes an optional interface name.
			if i+1 < len(n.words) && !isVIPOption(n.words[i+1]) {
				i++
			}
		default:
			set, known := vipFlags[opt]
			if !known {
				// keepalived: "Unknown configuration entry ... for ip
				// address - ignoring"; what follows is read as options.
				p.d.warnf(n.pos, kw, "%s: unknown option %q ignored", n.words[0], opt)
				break
			}
			if (opt == "home" || opt == "mngtmpaddr") && is4 {
				p.d.warnf(n.pos, kw, "%s %s: IPv6 only, ignored", n.words[0], opt)
				break
			}
			set(&v)
		}
	}
	return v, true
}

func isVIPOption(w string) bool {
	_, flag := vipFlags[w]
	switch w {
	case "dev", "label", "brd", "broadcast", "scope", "use_vmac", "peer", "preferred_lft", "track_group":
		return true
	}
	return flag
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
