package kaconf

import (
	"strconv"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// resolve applies keepalived 2.2.7's defaults and its checks across
// blocks once everything is read (keepalived does this in
// vrrp_complete_init and at startup).
func (p *parser) resolve() {
	g := &p.cfg.Global
	if !p.global.lowerPrioDelaySet {
		g.GARP.LowerPrioDelay = g.GARP.Delay
	}
	if !p.global.lowerPrioRepeatSet {
		g.GARP.LowerPrioRepeat = g.GARP.Repeat
	}
	for _, f := range []**FIFO{&g.NotifyFIFO, &g.VRRPNotifyFIFO} {
		if *f != nil && (*f).Path == "" {
			p.d.errorf((*f).Pos, "notify_fifo_script", "needs its notify_fifo (or vrrp_notify_fifo) FIFO_NAME")
			*f = nil
		}
	}
	for i := range p.cfg.StaticAddresses {
		if p.cfg.StaticAddresses[i].Interface == "" {
			p.cfg.StaticAddresses[i].Interface = g.DefaultInterface
		}
	}
	if a, b := g.NotifyFIFO, g.VRRPNotifyFIFO; a != nil && b != nil && a.Path == b.Path {
		p.d.errorf(b.Pos, "vrrp_notify_fifo", "%s is notify_fifo's too (keepalived: the FIFO names must all be different)", b.Path)
	}

	groupOf := map[string]*groupDraft{}
	for _, gd := range p.groups {
		p.resolveGroup(gd, groupOf)
	}
	for _, d := range p.insts {
		p.resolveInstance(d, groupOf[d.in.Name])
		p.cfg.Instances = append(p.cfg.Instances, d.in)
	}
	p.checkVRIDs()

	used := map[string]bool{}
	for _, in := range p.cfg.Instances {
		for _, t := range in.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, sg := range p.cfg.SyncGroups {
		for _, t := range sg.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, s := range p.cfg.Scripts {
		if !used[s.Name] {
			p.d.warnf(s.Pos, "vrrp_script", "%s is not tracked by any instance or sync group", s.Name)
		}
	}
}

func (p *parser) resolveGroup(gd *groupDraft, groupOf map[string]*groupDraft) {
	sg := gd.g
	seen := map[string]bool{}
	var members []string
	for _, m := range sg.Members {
		switch {
		case seen[m]:
			p.d.warnf(gd.groupPos, "group", "%s is listed twice", m)
			continue
		case p.draft(m) == nil:
			p.d.errorf(gd.groupPos, "group", "vrrp_sync_group %s: vrrp_instance %s is not defined", sg.Name, m)
			continue
		case groupOf[m] != nil:
			p.d.errorf(gd.groupPos, "group", "vrrp_instance %s is already in vrrp_sync_group %s", m, groupOf[m].g.Name)
			continue
		}
		seen[m] = true
		groupOf[m] = gd
		members = append(members, m)
	}
	sg.Members = members
	switch len(members) {
	case 0:
		p.d.warnf(sg.Pos, "vrrp_sync_group", "%s has no members: ignored, as keepalived does", sg.Name)
		return
	case 1:
		p.d.warnf(sg.Pos, "vrrp_sync_group", "%s has only one member (keepalived warns too)", sg.Name)
	}
	sg.TrackInterfaces = p.resolveTracks(gd.tracks[trackInterface], trackInterface)
	sg.TrackScripts = p.resolveTracks(gd.tracks[trackScript], trackScript)
	sg.TrackProcesses = p.resolveTracks(gd.tracks[trackProcess], trackProcess)
	sg.TrackFiles = p.resolveTracks(gd.tracks[trackFile], trackFile)
	p.cfg.SyncGroups = append(p.cfg.SyncGroups, sg)
}

func (p *parser) draft(name string) *instDraft {
	for _, d := range p.insts {
		if d.in.Name == name {
			return d
		}
	}
	return nil
}

func (p *parser) resolveInstance(d *instDraft, group *groupDraft) {
	in := d.in
	g := &p.cfg.Global
	if in.Interface == "" {
		p.d.errorf(in.Pos, "vrrp_instance", "%s has no interface", in.Name)
	}
	if in.VRID == 0 {
		p.d.errorf(in.Pos, "vrrp_instance", "%s has no virtual_router_id", in.Name)
	}

	in.IPv6 = d.family == 6
	switch {
	case d.versionSet:
		if in.Version == 2 && in.IPv6 {
			p.d.errorf(d.versionPos, "version", "VRRPv2 (RFC 3768) is IPv4 only and %s is IPv6", in.Name)
		}
	case in.IPv6:
		in.Version = 3
	default:
		in.Version = g.Version
	}

	in.AdvertInterval = p.advertInterval(d)

	if !d.prioritySet {
		in.Priority = 100
		if in.State == Master {
			in.Priority = 255
		}
	}
	if !in.Preempt {
		switch {
		case in.State == Master:
			p.d.errorf(d.nopreempt, "nopreempt", "needs state BACKUP: with state MASTER keepalived ignores it")
		case in.Priority == 255:
			p.d.errorf(d.nopreempt, "nopreempt", "cannot work with priority 255, the address owner: keepalived ignores it")
		}
	}
	if in.PreemptDelay > 0 && in.State == Master {
		p.d.errorf(d.delayPos, "preempt_delay", "needs state BACKUP: with state MASTER keepalived ignores it")
	}

	if in.HMAC != nil {
		if in.Auth.Type != AuthNone {
			p.d.errorf(in.HMAC.Pos, "auth_hmac", "cannot be combined with the authentication block at line %d (keepalived drops that block)", d.authPos.Line)
		}
		switch {
		case in.HMAC.Window == 0:
			in.HMAC.Window = auth.DefaultWindow(in.AdvertInterval)
		case in.HMAC.AntiReplay == auth.AntiReplayMonotonic:
			p.d.warnf(d.hmac.windowPos, "time_window", "has no effect with anti_replay monotonic")
		}
	}
	if !d.csumSet {
		in.V3ChecksumAsV2 = g.V3ChecksumAsV2
	}
	if in.Auth.Type != AuthNone && in.Version == 3 {
		p.d.warnf(d.authPos, "authentication", "VRRPv3 has no authentication: ignored, as keepalived does")
		in.Auth = Auth{}
	}

	switch {
	case d.mcastDst.IsValid():
		if d.mcastDst.Is6() != in.IPv6 {
			p.d.errorf(d.mcastDstPos, "mcast_dst_ip", "%s is not of %s's family", d.mcastDst, in.Name)
		}
		in.MulticastGroup = d.mcastDst
	case in.IPv6:
		in.MulticastGroup = g.MulticastGroup6
	default:
		in.MulticastGroup = g.MulticastGroup4
	}
	in.CheckUnicastSource = in.CheckUnicastSource || g.CheckUnicastSource
	if d.unicastKw && len(in.Peers) == 0 {
		pos := d.srcPos
		if pos == (Pos{}) {
			pos = in.Pos
		}
		if in.UnicastFaultNoPeer {
			p.d.warnf(pos, "unicast_fault_no_peer", "%s has no unicast peers: it stays in FAULT (unicast_fault_no_peer)", in.Name)
		} else {
			p.d.warnf(pos, "unicast_peer", "%s has no unicast peers: adverts go to the multicast group %s (keepalived 2.2.7 does the same, and calls it deprecated)", in.Name, in.MulticastGroup)
		}
	}
	p.resolveExtensions(d)

	in.GARP = g.GARP
	setInt(&in.GARP.Repeat, d.garp.repeat)
	setInt(&in.GARP.RefreshRepeat, d.garp.refreshRepeat)
	setInt(&in.GARP.LowerPrioRepeat, d.garp.lowerPrioRepeat)
	setDuration(&in.GARP.Delay, d.garp.delay)
	setDuration(&in.GARP.Refresh, d.garp.refresh)
	setDuration(&in.GARP.LowerPrioDelay, d.garp.lowerPrioDelay)

	p.checkVIPs(in)

	in.TrackInterfaces = p.resolveTracks(d.tracks[trackInterface], trackInterface)
	in.TrackScripts = p.resolveTracks(d.tracks[trackScript], trackScript)
	in.TrackProcesses = p.resolveTracks(d.tracks[trackProcess], trackProcess)
	in.TrackFiles = p.resolveTracks(d.tracks[trackFile], trackFile)
	in.TrackInterfaces = p.dropOwnInterface(in, d.tracks[trackInterface])
	if group != nil {
		in.SyncGroup = group.g.Name
		if !group.g.TrackingWeight {
			p.syncGroupWeights(in, d)
		}
	}
	if in.Priority == 255 {
		p.ownerWeights(in, d)
	}
}

// advertInterval rounds advert_int as keepalived does for the version:
// VRRPv2 to whole seconds (at least 1), VRRPv3 to 10 ms.
func (p *parser) advertInterval(d *instDraft) time.Duration {
	adv := d.advert
	if adv == 0 {
		return time.Second
	}
	if d.in.Version == 2 {
		r := (adv + time.Second/2) / time.Second * time.Second
		if r < time.Second {
			r = time.Second
		}
		if r != adv {
			p.d.warnf(d.advertPos, "advert_int", "VRRPv2 counts whole seconds: %s s is rounded to %s s, as keepalived does", seconds(adv), seconds(r))
		}
		return r
	}
	const max = 4095 * 10 * time.Millisecond
	if adv > max {
		p.d.errorf(d.advertPos, "advert_int", "%s s is above VRRPv3's maximum of 40.95 s (RFC 5798 §5.2.7; keepalived would use 40.95 s)", seconds(adv))
		return max
	}
	r := (adv + 5*time.Millisecond) / (10 * time.Millisecond) * (10 * time.Millisecond)
	if r != adv {
		p.d.warnf(d.advertPos, "advert_int", "VRRPv3 counts centiseconds: %s s is rounded to %s s, as keepalived does", seconds(adv), seconds(r))
	}
	return r
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setDuration(dst *time.Duration, v *time.Duration) {
	if v != nil {
		*dst = *v
	}
}

// checkVIPs reports an instance without addresses in its adverts and
// addresses configured twice.
func (p *parser) checkVIPs(in *Instance) {
	listed := 0
	for i, v := range in.VIPs {
		if !v.Excluded {
			listed++
		}
		for _, o := range in.VIPs[:i] {
			if o.Prefix.Addr() == v.Prefix.Addr() {
				p.d.warnf(in.Pos, "vrrp_instance", "%s lists %s twice", in.Name, v.Prefix.Addr())
				break
			}
		}
	}
	if listed > 0 || in.NoVirtualIPAddress {
		return
	}
	if in.Version == 3 {
		p.d.errorf(in.Pos, "vrrp_instance", "%s has no virtual_ipaddress; keepalived requires one for VRRPv3 unless no_virtual_ipaddress says so", in.Name)
	} else {
		p.d.warnf(in.Pos, "vrrp_instance", "%s has no virtual_ipaddress (keepalived warns too)", in.Name)
	}
}

// resolveTracks checks that tracked objects exist and takes an entry's
// weight from its object when the entry has none.
func (p *parser) resolveTracks(entries []trackEntry, kind trackKind) []Track {
	var out []Track
	k := trackKinds[kind]
	for _, e := range entries {
		t := e.Track
		var weight int
		var reverse, found bool
		switch kind {
		case trackInterface:
			found = true
		case trackScript:
			if s := p.cfg.Script(t.Name); s != nil {
				weight, reverse, found = s.Weight, s.Reverse, true
			}
		case trackProcess:
			if tp := p.cfg.Process(t.Name); tp != nil {
				weight, reverse, found = tp.Weight, tp.Reverse, true
			}
		case trackFile:
			if f := p.cfg.File(t.Name); f != nil {
				weight, reverse, found = f.Weight, f.Reverse, true
			}
		}
		if !found {
			p.d.errorf(e.pos, k.keyword, "%s %s is not defined", k.object, t.Name)
			continue
		}
		if !e.weightSet {
			t.Weight, t.Reverse = weight, reverse
		}
		out = append(out, t)
	}
	return out
}

// dropOwnInterface removes track_interface entries naming the instance's
// own interface, which keepalived ignores.
func (p *parser) dropOwnInterface(in *Instance, entries []trackEntry) []Track {
	var out []Track
	for _, t := range in.TrackInterfaces {
		if t.Name == in.Interface {
			p.d.warnf(entryPos(entries, t.Name, in.Pos), "track_interface", "%s is %s's own interface: ignored, as keepalived does", t.Name, in.Name)
			continue
		}
		out = append(out, t)
	}
	return out
}

// syncGroupWeights applies keepalived 2.2.7's rule for members of a sync
// group without sync_group_tracking_weight: track_interface weights become
// 0, weighted track_script entries are dropped, a track_file entry whose
// weight is the file's default 1 gets 0 and other weighted ones are
// dropped; track_process entries are left alone (keepalived does).
func (p *parser) syncGroupWeights(in *Instance, d *instDraft) {
	why := "in vrrp_sync_group " + in.SyncGroup + " without sync_group_tracking_weight"
	for i, t := range in.TrackInterfaces {
		if t.Weight != 0 {
			p.d.warnf(entryPos(d.tracks[trackInterface], t.Name, in.Pos), "track_interface", "%s: weight %d is ignored %s, as keepalived does", t.Name, t.Weight, why)
			in.TrackInterfaces[i].Weight = 0
		}
	}
	in.TrackScripts = p.dropWeighted(in.TrackScripts, d.tracks[trackScript], "track_script", why, in.Pos)
	in.TrackFiles = p.fileWeights(in.TrackFiles, d.tracks[trackFile], why, in.Pos)
}

// ownerWeights applies keepalived 2.2.7's rule for an address owner
// (priority 255), whose priority tracking cannot change: weighted
// track_interface and track_script entries are dropped, track_file entries
// as for a sync group, track_process entries are left alone.
func (p *parser) ownerWeights(in *Instance, d *instDraft) {
	why := "for the address owner (priority 255)"
	in.TrackInterfaces = p.dropWeighted(in.TrackInterfaces, d.tracks[trackInterface], "track_interface", why, in.Pos)
	in.TrackScripts = p.dropWeighted(in.TrackScripts, d.tracks[trackScript], "track_script", why, in.Pos)
	in.TrackFiles = p.fileWeights(in.TrackFiles, d.tracks[trackFile], why, in.Pos)
}

func (p *parser) dropWeighted(ts []Track, entries []trackEntry, kw, why string, def Pos) []Track {
	var out []Track
	for _, t := range ts {
		if t.Weight != 0 {
			p.d.warnf(entryPos(entries, t.Name, def), kw, "%s with weight %d is ignored %s, as keepalived does", t.Name, t.Weight, why)
			continue
		}
		out = append(out, t)
	}
	return out
}

func (p *parser) fileWeights(ts []Track, entries []trackEntry, why string, def Pos) []Track {
	var out []Track
	for _, t := range ts {
		if t.Weight != 0 {
			pos := entryPos(entries, t.Name, def)
			explicit := false
			for _, e := range entries {
				if e.Name == t.Name {
					explicit = e.weightSet
				}
			}
			if f := p.cfg.File(t.Name); !explicit && f != nil && !f.weightSet {
				p.d.warnf(pos, "track_file", "%s: its default weight 1 is ignored %s, as keepalived does: write weight 0", t.Name, why)
				t.Weight = 0
			} else {
				p.d.warnf(pos, "track_file", "%s with weight %d is ignored %s, as keepalived does", t.Name, t.Weight, why)
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

func entryPos(entries []trackEntry, name string, def Pos) Pos {
	for _, e := range entries {
		if e.Name == name {
			return e.pos
		}
	}
	return def
}

// checkVRIDs refuses two instances with one VRID on one interface and
// address family: their adverts would be indistinguishable. keepalived
// allows it for unicast instances whose peers do not overlap.
func (p *parser) checkVRIDs() {
	ins := p.cfg.Instances
	for i, a := range ins {
		for _, b := range ins[:i] {
			if a.VRID == 0 || a.VRID != b.VRID || a.Interface != b.Interface || a.IPv6 != b.IPv6 {
				continue
			}
			if len(a.Peers) > 0 && len(b.Peers) > 0 && !peersOverlap(a.Peers, b.Peers) {
				continue
			}
			fam := "IPv4"
			if a.IPv6 {
				fam = "IPv6"
			}
			p.d.errorf(a.Pos, "virtual_router_id", "%s and %s (%s) both use VRID %d with %s on %s", b.Name, a.Name, b.Pos, a.VRID, fam, a.Interface)
			break
		}
	}
}

func peersOverlap(a, b []Peer) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Addr == y.Addr {
				return true
			}
		}
	}
	return false
}

// resolveExtensions applies the global defaults of keepalived's settings
// beyond the RFCs and checks use_vmac.
func (p *parser) resolveExtensions(d *instDraft) {
	in, g := d.in, &p.cfg.Global
	pick := func(v *bool, def bool) bool {
		if v != nil {
			return *v
		}
		return def
	}
	in.HigherPrioSendAdvert = pick(d.higherPrio, g.HigherPrioSendAdvert)
	in.LowerPrioNoAdvert = pick(d.lowerPrio, g.LowerPrioNoAdvert)
	in.NotifyPriorityChanges = pick(d.prioChanges, g.NotifyPriorityChanges)
	in.GARPExtraIf = g.GARPExtraIf
	if d.garpExtraIf != nil {
		in.GARPExtraIf = *d.garpExtraIf
	}
	v := in.VMAC
	if v == nil {
		if d.xmitBase != (Pos{}) {
			p.d.warnf(d.xmitBase, "vmac_xmit_base", "has no effect without use_vmac, as in keepalived")
		}
		return
	}
	v.XmitBase = d.xmitBase != (Pos{})
	if v.Name == "" {
		v.Name = g.VMACPrefix + "." + strconv.Itoa(int(in.VRID))
	}
	if d.vmacShortMAC {
		v.MAC[5] = in.VRID
	}
	if len(in.Peers) > 0 && !v.XmitBase {
		p.d.errorf(in.Pos, "use_vmac", "%s: use_vmac with unicast peers needs vmac_xmit_base (adverts to a peer's own address must leave by the base interface)", in.Name)
	}
	if v.Name == in.Interface {
		p.d.errorf(in.Pos, "use_vmac", "%s: the VMAC cannot be named as the instance's interface %s", in.Name, in.Interface)
	}
}
