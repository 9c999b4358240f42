package kaconf

import (
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// instDraft is an instance being read, with what resolve() needs to apply
// keepalived's defaults once global_defs is known.
type instDraft struct {
	in          *Instance
	prioritySet bool
	advert      time.Duration // advert_int as written; 0: not set
	advertPos   Pos
	versionSet  bool
	versionPos  Pos
	family      int // 4 or 6 once known
	familyPos   Pos
	srcPos      Pos // unicast_src_ip or mcast_src_ip
	unicastKw   bool
	nopreempt   Pos
	delayPos    Pos
	garp        garpDraft
	authPos     Pos
	hmac        hmacDraft
	csumSet     bool // v3_checksum_as_v2 given in the instance
	noVIPsPos   Pos
	tracks      [numTrackKinds][]trackEntry
	// Settings whose default is global, nil when not given.
	higherPrio, lowerPrio, prioChanges *bool
	garpExtraIf                        *GARPExtraIf
	xmitBase                           Pos
	vmacShortMAC                       bool // use_vmac gave 5 bytes: the VRID is the sixth
	mcastDst                           netip.Addr
	mcastDstPos                        Pos
}

// garpDraft holds an instance's own garp_* settings; nil means the global
// one.
type garpDraft struct {
	repeat, refreshRepeat, lowerPrioRepeat *int
	delay, refresh, lowerPrioDelay         *time.Duration
}

// instanceUnsupported are keepalived 2.2.7's other vrrp_instance keywords.
var instanceUnsupported = words(`use_vmac_addr use_ipvlan vrf
	track_bfd track_src_ip unicast_ttl
	old_unicast_checksum skip_check_adv_addr strict_mode debug smtp_alert
	lvs_sync_daemon_interface down_timer_adverts timer_expired_backup
	vmac_garp_intvl kernel_rx_buf_size linkbeat_use_polling promote_secondaries`)

// maxIfName is IFNAMSIZ - 1.
const maxIfName = 15

func (p *parser) instance(n *node, name string) {
	for _, o := range p.insts {
		if o.in.Name == name {
			p.d.errorf(n.pos, n.keyword(), "instance %s is already defined at %s", name, o.in.Pos)
			return
		}
	}
	d := &instDraft{in: &Instance{Name: name, Pos: n.pos, Preempt: true, Accept: true}}
	p.insts = append(p.insts, d)
	for _, c := range n.block {
		p.instanceKeyword(d, c)
	}
}

func (p *parser) instanceKeyword(d *instDraft, n *node) {
	in := d.in
	kw := n.keyword()
	switch kw {
	case "state":
		if !p.args(n, 1, 1) {
			break
		}
		switch n.words[1] {
		case "MASTER":
			in.State = Master
		case "BACKUP":
			if in.State == Master {
				p.d.warnf(n.pos, kw, "state was already set to MASTER: BACKUP is ignored, as keepalived does")
			}
		default:
			p.d.errorf(n.pos, kw, "%q is not MASTER or BACKUP", n.words[1])
		}
	case "interface":
		if p.args(n, 1, 1) {
			if len(n.words[1]) > maxIfName {
				p.d.errorf(n.pos, kw, "interface name %q is longer than %d bytes", n.words[1], maxIfName)
				break
			}
			in.Interface = n.words[1]
		}
	case "virtual_router_id":
		if v, ok := p.intKeyword(n, 1, 255); ok {
			in.VRID = uint8(v)
		}
	case "priority":
		if v, ok := p.intKeyword(n, 1, 255); ok {
			in.Priority = uint8(v)
			d.prioritySet = true
		}
	case "advert_int":
		if v, ok := p.secondsKeyword(n, 10*time.Millisecond, 255*time.Second); ok {
			d.advert = v
			d.advertPos = n.pos
		}
	case "version":
		if v, ok := p.intKeyword(n, 2, 3); ok {
			in.Version = v
			d.versionSet = true
			d.versionPos = n.pos
		}
	case "nopreempt":
		if p.flag(n) {
			in.Preempt = false
			d.nopreempt = n.pos
		}
	case "preempt":
		if p.flag(n) {
			in.Preempt = true
			d.nopreempt = Pos{}
		}
	case "preempt_delay":
		if v, ok := p.secondsKeyword(n, 0, 1000*time.Second); ok {
			in.PreemptDelay = v
			d.delayPos = n.pos
		}
	case "accept":
		if p.flag(n) {
			in.Accept = true
		}
	case "no_accept":
		if p.flag(n) {
			in.Accept = false
		}
	case "unicast_src_ip", "mcast_src_ip":
		if !p.args(n, 1, 1) {
			break
		}
		if kw == "unicast_src_ip" {
			d.unicastKw = true
		}
		if a, ok := p.addrValue(n, kw, n.words[1]); ok && p.setFamily(d, n, kw, a) {
			in.SourceAddr = a
			d.srcPos = n.pos
		}
	case "unicast_peer":
		if p.block(n) && p.count(n, 0, 0) {
			d.unicastKw = true
			for _, e := range n.block {
				p.peer(d, e)
			}
		}
	case "check_unicast_src":
		if p.flag(n) {
			d.unicastKw = true
			in.CheckUnicastSource = true
		}
	case "native_ipv6":
		if p.flag(n) {
			p.d.warnf(n.pos, kw, "deprecated: the virtual addresses set the address family")
			p.setFamily(d, n, kw, netip.IPv6Unspecified())
		}
	case "authentication":
		if p.block(n) && p.count(n, 0, 0) {
			p.authentication(d, n)
		}
	case "auth_hmac":
		if p.block(n) && p.count(n, 0, 0) {
			p.authHMAC(d, n)
		}
	case "no_virtual_ipaddress":
		if p.flag(n) {
			in.NoVirtualIPAddress = true
			d.noVIPsPos = n.pos
		}
	case "virtual_ipaddress", "virtual_ipaddress_excluded":
		if p.block(n) && p.count(n, 0, 0) {
			for _, e := range n.block {
				if v, ok := p.vip(e, kw == "virtual_ipaddress_excluded"); ok {
					if !v.Excluded && !p.setFamily(d, e, kw, v.Prefix.Addr()) {
						continue
					}
					in.VIPs = append(in.VIPs, v)
				}
			}
		}
	case "track_interface":
		p.trackBlock(n, trackInterface, &d.tracks[trackInterface])
	case "track_script":
		p.trackBlock(n, trackScript, &d.tracks[trackScript])
	case "track_process":
		p.trackBlock(n, trackProcess, &d.tracks[trackProcess])
	case "track_file":
		p.trackBlock(n, trackFile, &d.tracks[trackFile])
	case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
		p.notify(n, &in.Notify)
	case "garp_master_delay", "garp_master_refresh", "garp_lower_prio_delay":
		v, ok := p.intKeyword(n, 0, math.MaxUint32/1000000)
		if !ok {
			break
		}
		dur := time.Duration(v) * time.Second
		switch kw {
		case "garp_master_delay":
			d.garp.delay = &dur
		case "garp_master_refresh":
			d.garp.refresh = &dur
		default:
			d.garp.lowerPrioDelay = &dur
		}
	case "garp_master_repeat", "garp_master_refresh_repeat":
		if v, ok := p.repeat(n); ok {
			if kw == "garp_master_repeat" {
				d.garp.repeat = &v
			} else {
				d.garp.refreshRepeat = &v
			}
		}
	case "garp_lower_prio_repeat":
		if v, ok := p.intKeyword(n, 0, math.MaxInt32); ok {
			d.garp.lowerPrioRepeat = &v
		}
	case "dont_track_primary":
		if p.flag(n) {
			in.DontTrackPrimary = true
		}
	case "v3_checksum_as_v2":
		if v, ok := p.boolKeyword(n); ok {
			in.V3ChecksumAsV2 = v
			d.csumSet = true
		}
	case "vrrpd_cloud":
		p.cloud(d, n)
	case "higher_prio_send_advert", "lower_prio_no_advert", "notify_priority_changes":
		if v, ok := p.boolKeyword(n); ok {
			switch kw {
			case "higher_prio_send_advert":
				d.higherPrio = &v
			case "lower_prio_no_advert":
				d.lowerPrio = &v
			default:
				d.prioChanges = &v
			}
		}
	case "unicast_fault_no_peer":
		if p.flag(n) {
			in.UnicastFaultNoPeer = true
			d.unicastKw = true
		}
	case "notify_master_rx_lower_pri", "notify_deleted":
		p.notify(n, &in.Notify)
	case "mcast_dst_ip":
		if !p.args(n, 1, 1) {
			break
		}
		a, err := netip.ParseAddr(n.words[1])
		if err != nil || a.Zone() != "" || !a.IsMulticast() || (a.Is6() && !a.IsLinkLocalMulticast()) {
			p.d.errorf(n.pos, kw, "%q is not an IPv4 multicast address or a link-local IPv6 one (ff02::)", n.words[1])
			break
		}
		d.mcastDst, d.mcastDstPos = a, n.pos
	case "use_vmac":
		p.useVMAC(d, n)
	case "vmac_xmit_base":
		if p.flag(n) {
			d.xmitBase = n.pos
		}
	case "garp_extra_if":
		if g, ok := p.garpExtraIf(n); ok {
			d.garpExtraIf = &g
		}
	case "virtual_routes":
		in.Routes = append(in.Routes, p.routeBlock(n)...)
	case "virtual_rules":
		in.Rules = append(in.Rules, p.ruleBlock(n)...)
	default:
		if strings.HasPrefix(kw, "auth") {
			// An authentication vrrpd does not know must not leave the
			// instance unauthenticated.
			p.d.errorf(n.pos, kw, "unknown authentication keyword: vrrpd would not authenticate as this configuration asks")
			break
		}
		p.unknown(n, instanceUnsupported)
	}
}

// setFamily records the instance's address family on its first address
// and checks the later ones against it; keepalived ignores a mismatching
// address with a warning, which leaves the instance other than written.
func (p *parser) setFamily(d *instDraft, n *node, kw string, a netip.Addr) bool {
	f := 4
	if a.Is6() {
		f = 6
	}
	if d.family == 0 {
		d.family = f
		d.familyPos = n.pos
		return true
	}
	if d.family != f {
		what := a.String()
		if a.IsUnspecified() {
			what = "native_ipv6"
		}
		p.d.errorf(n.pos, kw, "%s is IPv%d but the instance is IPv%d since line %d (all its addresses but virtual_ipaddress_excluded must be of one family)", what, f, d.family, d.familyPos.Line)
		return false
	}
	return true
}

// peer parses a unicast_peer entry: "ADDRESS [min_ttl N] [max_ttl N]".
func (p *parser) peer(d *instDraft, n *node) {
	if n.hasBlock {
		p.d.errorf(n.pos, "unicast_peer", "entry %s takes no { } block", n.words[0])
		return
	}
	const kw = "unicast_peer"
	a, ok := p.addrValue(n, kw, n.words[0])
	if !ok || !p.setFamily(d, n, kw, a) {
		return
	}
	peer := Peer{Addr: a, MinTTL: 0, MaxTTL: 255}
	for i := 1; i < len(n.words); i += 2 {
		opt := n.words[i]
		if opt != "min_ttl" && opt != "max_ttl" {
			p.d.errorf(n.pos, kw, "%s: unknown option %q", n.words[0], opt)
			return
		}
		v, ok := p.intValue(n, i+1, 0, 255)
		if !ok {
			return
		}
		if opt == "min_ttl" {
			peer.MinTTL = uint8(v)
		} else {
			peer.MaxTTL = uint8(v)
		}
		// keepalived: min_ttl or max_ttl turns on check_unicast_src.
		d.in.CheckUnicastSource = true
	}
	if peer.MinTTL > peer.MaxTTL {
		p.d.errorf(n.pos, kw, "%s: min_ttl %d is above max_ttl %d", a, peer.MinTTL, peer.MaxTTL)
		return
	}
	for _, o := range d.in.Peers {
		if o.Addr == a {
			p.d.warnf(n.pos, kw, "%s is listed twice", a)
			return
		}
	}
	d.in.Peers = append(d.in.Peers, peer)
}

// authentication parses "authentication { auth_type PASS|AH; auth_pass P }".
func (p *parser) authentication(d *instDraft, n *node) {
	a := &d.in.Auth
	d.authPos = n.pos
	typeSet, passSet := false, false
	for _, c := range n.block {
		switch c.keyword() {
		case "auth_type":
			if !p.args(c, 1, 1) {
				break
			}
			switch c.words[1] {
			case "PASS":
				a.Type = AuthPass
			case "AH":
				a.Type = AuthAH
			default:
				p.d.errorf(c.pos, c.keyword(), "%q is not PASS or AH", c.words[1])
				continue
			}
			typeSet = true
		case "auth_pass":
			pass, ok := p.secretValue(c)
			if !ok {
				break
			}
			if pass.Len() > 8 {
				p.d.warnf(c.pos, c.keyword(), "%v: cut to its first 8 bytes, as keepalived does (\"Truncating auth_pass to 8 characters\")", pass)
				pass = NewSecret(pass.Reveal()[:8])
			}
			a.Password = pass
			passSet = true
		default:
			// A password written on a line of its own would be the
			// keyword here: do not show it.
			p.d.errorf(c.pos, "authentication", "unknown line (not shown: it may be a secret): vrrpd would not authenticate as this configuration asks")
		}
	}
	switch {
	case !typeSet && !passSet:
		p.d.errorf(n.pos, n.keyword(), "empty block: keepalived would not authenticate")
	case !typeSet:
		p.d.errorf(n.pos, n.keyword(), "auth_pass without auth_type: keepalived would not authenticate")
	case !passSet:
		p.d.errorf(n.pos, n.keyword(), "auth_type without auth_pass: keepalived would not authenticate")
	}
}

// notify parses one of the notify* keywords into its slot of nt.
func (p *parser) notify(n *node, nt *Notify) {
	var slot **Command
	switch n.keyword() {
	case "notify":
		slot = &nt.Any
	case "notify_master":
		slot = &nt.Master
	case "notify_backup":
		slot = &nt.Backup
	case "notify_fault":
		slot = &nt.Fault
	case "notify_stop":
		slot = &nt.Stop
	case "notify_master_rx_lower_pri":
		slot = &nt.MasterRxLowerPri
	case "notify_deleted":
		// notify_deleted [SCRIPT [USER [GROUP]]]: the word alone says
		// DELETED rather than FAULT.
		if nt.Deleted {
			p.d.errorf(n.pos, n.keyword(), "set twice (keepalived would ignore this one)")
			return
		}
		nt.Deleted = true
		if len(n.words) == 1 && !n.hasBlock {
			return
		}
		slot = &nt.DeletedScript
	}
	if *slot != nil {
		p.d.errorf(n.pos, n.keyword(), "set twice (keepalived would ignore this one)")
		return
	}
	if c, ok := p.command(n, true); ok {
		*slot = c
	}
}

// useVMAC parses "use_vmac [[name] NAME] [MAC] [netlink_notify_msg]
// [group GROUP]".
func (p *parser) useVMAC(d *instDraft, n *node) {
	if n.hasBlock {
		p.d.errorf(n.pos, n.keyword(), "takes no { } block")
		return
	}
	v := &VMAC{}
	w := n.words[1:]
	for i := 0; i < len(w); i++ {
		switch word := w[i]; {
		case word == "name" && i+1 < len(w):
			i++
			v.Name = w[i]
		case word == "netlink_notify_msg":
			p.d.warnf(n.pos, n.keyword(), "netlink_notify_msg: not needed by vrrpd (it does not wait for the kernel's link message of the base interface), ignored")
		case word == "group" && i+1 < len(w):
			i++
			p.d.warnf(n.pos, n.keyword(), "group %s: not supported by vrrpd, ignored: the VMAC is in the default group", w[i])
		case isMAC(word):
			mac, err := net.ParseMAC(word)
			if err != nil {
				// Five bytes: keepalived makes the VRID the sixth.
				mac, err = net.ParseMAC(word + ":00")
				if err != nil {
					p.d.errorf(n.pos, n.keyword(), "%q is not a MAC address", word)
					return
				}
				d.vmacShortMAC = true
			}
			if len(mac) != 6 || mac[0]&1 != 0 {
				p.d.errorf(n.pos, n.keyword(), "%s is not a unicast Ethernet address", word)
				return
			}
			v.MAC = mac
		case v.Name == "":
			v.Name = word
		default:
			p.d.errorf(n.pos, n.keyword(), "unexpected %q", word)
			return
		}
	}
	if len(v.Name) > maxIfName {
		p.d.errorf(n.pos, n.keyword(), "interface name %q is longer than %d bytes", v.Name, maxIfName)
		return
	}
	d.in.VMAC = v
}

// isMAC reports whether w looks like a MAC address of 5 or 6 bytes.
func isMAC(w string) bool {
	parts := strings.Split(w, ":")
	if len(parts) != 5 && len(parts) != 6 {
		return false
	}
	for _, x := range parts {
		if len(x) == 0 || len(x) > 2 {
			return false
		}
		if _, err := strconv.ParseUint(x, 16, 8); err != nil {
			return false
		}
	}
	return true
}

// garpExtraIf parses "garp_extra_if [all] SECONDS" (0 turns it off;
// at most a day).
func (p *parser) garpExtraIf(n *node) (GARPExtraIf, bool) {
	if !p.args(n, 1, 2) {
		return GARPExtraIf{}, false
	}
	g := GARPExtraIf{}
	i := 1
	if n.words[1] == "all" {
		g.All = true
		i++
	}
	if i != len(n.words)-1 {
		p.d.errorf(n.pos, n.keyword(), "needs [all] SECONDS")
		return GARPExtraIf{}, false
	}
	secs, ok := p.intValue(n, i, 0, 86400)
	if !ok {
		return GARPExtraIf{}, false
	}
	g.Interval = time.Duration(secs) * time.Second
	return g, true
}
