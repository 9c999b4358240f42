package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vip/vmac"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// The translation from keepalived.conf (kaconf's model, keepalived's
// defaults already applied) to the library: one small function per
// concept, each table-tested. Settings the library has no field for are
// warned about with the file and line of their vrrp_instance.

// plan is a configuration translated: what the daemon runs.
type plan struct {
	conf     *kaconf.Config
	routers  []*routerPlan // in file order
	groups   []*groupPlan
	warnings []kaconf.Diagnostic // translation warnings (kaconf's own are in conf.Warnings)
}

// routerPlan is one vrrp_instance.
type routerPlan struct {
	inst *kaconf.Instance
	// cfg is the router's configuration without its Backend.
	cfg vrrp.Config
	// schedule is the instance's announcement schedule.
	schedule vip.Schedule
	tracks   []trackRef
	notify   kaconf.Notify
	// vmac is the instance's VMAC (use_vmac), or nil.
	vmac *vmac.Spec
	// routes and rules are virtual_routes and virtual_rules.
	routes []vip.Route
	rules  []vip.Rule
	// faults are tracked statuses that never change: the instance stays
	// in FAULT (unicast_fault_no_peer without peers).
	faults []vrrp.TrackStatus
}

// groupPlan is one vrrp_sync_group.
type groupPlan struct {
	group  *kaconf.SyncGroup
	notify kaconf.Notify
}

// trackKind is what kind of object a tracker watches.
type trackKind uint8

const (
	trackScript trackKind = iota + 1
	trackProcess
	trackFile
	trackInterface
)

func (k trackKind) String() string {
	switch k {
	case trackScript:
		return "script"
	case trackProcess:
		return "process"
	case trackFile:
		return "file"
	case trackInterface:
		return "interface"
	}
	return "unknown"
}

// trackKey names one tracked object of the configuration.
type trackKey struct {
	kind trackKind
	name string
}

func (k trackKey) String() string { return k.kind.String() + " " + k.name }

// trackRef is one instance's use of a tracked object, with its weight.
type trackRef struct {
	key    trackKey
	weight health.Weight
}

// buildPlan translates a loaded configuration. The error lists every
// instance the library refuses (with its file and line); warnings are
// settings vrrpd accepts but does not carry out.
func buildPlan(conf *kaconf.Config) (*plan, error) {
	p := &plan{conf: conf}
	global := conf.Global
	var errs []string
	for _, in := range conf.Instances {
		warn := func(keyword, format string, args ...any) {
			p.warnings = append(p.warnings, kaconf.Diagnostic{Pos: in.Pos, Keyword: keyword,
				Msg: "(" + in.Name + ") " + fmt.Sprintf(format, args...)})
		}
		rp := &routerPlan{inst: in, cfg: routerConfig(in, warn), notify: in.Notify, routes: in.Routes, rules: in.Rules}
		rp.vmac = vmacSpec(in, &rp.cfg)
		if global.NotifyFIFO != nil || global.VRRPNotifyFIFO != nil {
			rp.cfg.LowerPriorityEvents = true
		}
		rp.faults = fixedFaults(in)
		rp.schedule = schedule(in.GARP, global)
		extraInterfaceRefresh(in, &rp.schedule)
		rp.tracks = trackRefs(in, conf.SyncGroup(in.SyncGroup))
		if err := rp.cfg.Validate(); err != nil {
			var ce *vrrp.ConfigError
			msg := err.Error()
			if errors.As(err, &ce) {
				msg = ce.Field + ": " + ce.Err.Error()
			}
			errs = append(errs, kaconf.Diagnostic{Pos: in.Pos, Keyword: "vrrp_instance",
				Msg: "(" + in.Name + ") not supported by vrrpd: " + msg}.String())
			continue
		}
		p.routers = append(p.routers, rp)
	}
	for _, g := range conf.SyncGroups {
		p.groups = append(p.groups, &groupPlan{group: g, notify: g.Notify})
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return p, nil
}

// routerConfig maps a vrrp_instance onto vrrp.Config (without Backend).
func routerConfig(in *kaconf.Instance, warn func(keyword, format string, args ...any)) vrrp.Config {
	c := vrrp.Config{
		Name:      in.Name,
		VRID:      int(in.VRID),
		Interface: in.Interface,
		IPv6:      in.IPv6,
		Version:   in.Version,
		Priority:  int(in.Priority),
		Interval:  in.AdvertInterval,
		NoPreempt: !in.Preempt,
		// keepalived 2.2.7 ignores "state MASTER" for a non-owner beyond
		// its default priority: it waits Master_Down_Interval like any
		// backup. vrrp's StartAsMaster would wait less, so it stays off.
		StartAsMaster:   false,
		PreemptDelay:    in.PreemptDelay,
		NoAccept:        !in.Accept,
		VIPs:            vips(in, warn),
		UnicastSrc:      in.SourceAddr,
		Peers:           peers(in),
		PeerHopLimits:   peerHopLimits(in),
		AcceptAnySource: len(in.Peers) > 0 && !in.CheckUnicastSource,
		Group:           multicastGroup(in),
		Checksum:        checksum(in),
		SyncGroup:       in.SyncGroup,
		IgnoreLinkDown:  in.DontTrackPrimary,

		LowerPriorityNoAdvert: in.LowerPrioNoAdvert,
		HigherPriorityAdvert:  in.HigherPrioSendAdvert,
		// notify_master_rx_lower_pri, and the FIFOs' MASTER_RX_LOWER_PRI
		// lines (buildPlan adds those).
		LowerPriorityEvents: in.Notify.MasterRxLowerPri != nil,
	}
	c.AuthType, c.AuthPass = authentication(in)
	if in.HMAC != nil {
		// kaconf refused what keepalived would run unsigned; what is left
		// is exactly what the library signs and verifies.
		h := in.HMAC.Config(in.AdvertInterval)
		c.HMAC = &h
	}
	if c.NoPreempt && c.PreemptDelay > 0 {
		// keepalived accepts both and nopreempt wins.
		warn("preempt_delay", "has no effect with nopreempt, ignored")
		c.PreemptDelay = 0
	}
	if c.AcceptAnySource {
		// keepalived's meaning of the keyword is kept, and so is its
		// exposure: say so where the configuration is loaded.
		warn("unicast_peer", "adverts are accepted from any source, not only the unicast peers, as keepalived does "+
			"without check_unicast_src: set vrrp_check_unicast_src (global_defs) or check_unicast_src")
	}
	return c
}

// vips maps virtual_ipaddress and virtual_ipaddress_excluded, with their
// options.
func vips(in *kaconf.Instance, warn func(keyword, format string, args ...any)) []vrrp.VIP {
	out := make([]vrrp.VIP, 0, len(in.VIPs))
	for _, v := range in.VIPs {
		out = append(out, vrrp.VIP{Prefix: v.Prefix, Interface: v.Interface, Label: v.Label, Excluded: v.Excluded,
			Options: addressOptions(v)})
	}
	return out
}

// addressOptions maps an address's options (kaconf checked their values).
func addressOptions(v kaconf.VIP) vrrp.AddressOptions {
	o := vrrp.AddressOptions{
		Broadcast: v.Broadcast, Peer: v.Peer,
		PreferredLifetime: v.PreferredLifetime, PreferredLifetimeSet: v.PreferredLifetimeSet,
		NoPrefixRoute: v.NoPrefixRoute, HomeAddress: v.Home, ManageTempAddr: v.MngTmpAddr, AutoJoin: v.AutoJoin,
		NoRestore: v.NoTrack,
	}
	switch v.Scope {
	case "site":
		o.Scope = 200
	case "link":
		o.Scope = 253
	case "host":
		o.Scope = 254
	case "nowhere":
		o.Scope = 255
	default:
		if n, err := strconv.Atoi(v.Scope); err == nil {
			o.Scope = uint8(n)
		}
	}
	return o
}

// vmacSpec maps use_vmac: the VMAC takes every address without a dev and,
// unless vmac_xmit_base, the adverts (the router runs on the VMAC).
func vmacSpec(in *kaconf.Instance, c *vrrp.Config) *vmac.Spec {
	if in.VMAC == nil {
		return nil
	}
	s := &vmac.Spec{Base: in.Interface, VRID: int(in.VRID), IPv6: in.IPv6, Name: in.VMAC.Name, MAC: in.VMAC.MAC}
	for i := range c.VIPs {
		v := &c.VIPs[i]
		if v.Interface != "" {
			continue
		}
		v.Interface = s.Name
		if v.Prefix.Addr().Is6() && !in.IPv6 {
			// An excluded IPv6 address on an IPv4 VMAC: keepalived leaves
			// IPv6 on for it.
			s.KeepIPv6 = true
		}
	}
	if !in.VMAC.XmitBase {
		c.Interface = s.Name
	}
	return s
}

// fixedFaults: unicast_fault_no_peer keeps a unicast instance without
// peers in FAULT.
func fixedFaults(in *kaconf.Instance) []vrrp.TrackStatus {
	if in.UnicastFaultNoPeer && len(in.Peers) == 0 {
		return []vrrp.TrackStatus{{Name: "unicast_fault_no_peer", Fault: true, Reason: "no unicast peers"}}
	}
	return nil
}

// extraInterfaceRefresh maps garp_extra_if: periodic announcements, which
// keep a switch's entry for a VMAC whose adverts leave by the base
// (vmac_xmit_base) or for addresses on other interfaces. vrrpd refreshes
// every address of the instance, on garp_master_refresh's schedule when
// that is set.
func extraInterfaceRefresh(in *kaconf.Instance, s *vip.Schedule) {
	x := in.GARPExtraIf
	if x.Interval == 0 || s.Refresh != 0 {
		return
	}
	if x.All || in.VMAC != nil {
		s.Refresh = x.Interval
		if s.RefreshRepeat == 0 {
			s.RefreshRepeat = 1
		}
	}
}

// peers maps unicast_peer.
func peers(in *kaconf.Instance) []netip.Addr {
	if len(in.Peers) == 0 {
		return nil
	}
	out := make([]netip.Addr, 0, len(in.Peers))
	for _, p := range in.Peers {
		out = append(out, p.Addr)
	}
	return out
}

// peerHopLimits maps unicast_peer's min_ttl and max_ttl.
func peerHopLimits(in *kaconf.Instance) []vrrp.PeerHopLimit {
	var out []vrrp.PeerHopLimit
	for _, p := range in.Peers {
		if p.MinTTL != 0 || p.MaxTTL != 255 {
			out = append(out, vrrp.PeerHopLimit{Peer: p.Addr, Min: int(p.MinTTL), Max: int(p.MaxTTL)})
		}
	}
	return out
}

// multicastGroup maps vrrp_mcast_group4/6; the RFC's group is left zero so
// that routers configured either way share one socket.
func multicastGroup(in *kaconf.Instance) netip.Addr {
	g := in.MulticastGroup
	if g == advert.GroupIPv4 || g == advert.GroupIPv6 {
		return netip.Addr{}
	}
	return g
}

// authentication maps the authentication block (VRRPv2 only: kaconf
// already warned that VRRPv3 ignores it). It is the one place where
// vrrpd reveals a password: into the router's configuration, which puts
// it on the wire.
func authentication(in *kaconf.Instance) (advert.AuthType, auth.Password) {
	if in.Version != 2 {
		return advert.AuthNone, auth.Password{}
	}
	t := advert.AuthNone
	switch in.Auth.Type {
	case kaconf.AuthPass:
		t = advert.AuthPass
	case kaconf.AuthAH:
		t = advert.AuthAH
	default:
		return advert.AuthNone, auth.Password{}
	}
	// kaconf cut it to 8 bytes and refused an empty one; a password it
	// let through that the wire cannot carry (a NUL byte) is left zero,
	// which vrrp.Config.Validate refuses, naming the field.
	p, _, err := auth.KeepalivedPassword(in.Auth.Password.Reveal())
	if err != nil {
		return t, auth.Password{}
	}
	return t, p
}

// checksum maps v3_checksum_as_v2.
func checksum(in *kaconf.Instance) advert.ChecksumMode {
	if in.V3ChecksumAsV2 && in.Version == 3 && !in.IPv6 {
		return advert.ChecksumNoPseudoHeader
	}
	return advert.ChecksumStandard
}

// schedule maps an instance's garp_* settings (kaconf resolved them over
// the global vrrp_garp_* ones, lower_prio included) and the global
// vrrp_garp_interval / vrrp_gna_interval onto vip.Schedule.
func schedule(g kaconf.GARP, global kaconf.Global) vip.Schedule {
	return vip.Schedule{
		Repeat:          g.Repeat,
		Delay:           g.Delay,
		Refresh:         g.Refresh,
		RefreshRepeat:   g.RefreshRepeat,
		LowerPrioRepeat: g.LowerPrioRepeat,
		LowerPrioDelay:  g.LowerPrioDelay,
		ARPInterval:     global.ARPInterval,
		NAInterval:      global.NAInterval,
	}
}

// trackRefs lists what an instance tracks — its own track_* entries, then
// its sync group's, which apply to every member.
func trackRefs(in *kaconf.Instance, g *kaconf.SyncGroup) []trackRef {
	var out []trackRef
	add := func(kind trackKind, ts []kaconf.Track) {
		for _, t := range ts {
			out = append(out, trackRef{key: trackKey{kind, t.Name}, weight: health.Weight{Weight: t.Weight, Reverse: t.Reverse}})
		}
	}
	add(trackInterface, in.TrackInterfaces)
	add(trackScript, in.TrackScripts)
	add(trackProcess, in.TrackProcesses)
	add(trackFile, in.TrackFiles)
	if g != nil {
		add(trackInterface, g.TrackInterfaces)
		add(trackScript, g.TrackScripts)
		add(trackProcess, g.TrackProcesses)
		add(trackFile, g.TrackFiles)
	}
	return out
}
