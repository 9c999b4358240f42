package kaconf

import (
	"slices"

	"github.com/vrrpkit/vrrpkit/vip"
)

// Equal reports whether two instances run identically: every field but
// Pos is the same. It does not look at the scripts, processes and files
// the instance tracks; Diff does.
func (in *Instance) Equal(o *Instance) bool {
	if in == nil || o == nil {
		return in == o
	}
	return in.Name == o.Name &&
		in.State == o.State &&
		in.Interface == o.Interface &&
		in.VRID == o.VRID &&
		in.Priority == o.Priority &&
		in.AdvertInterval == o.AdvertInterval &&
		in.Version == o.Version &&
		in.IPv6 == o.IPv6 &&
		in.Preempt == o.Preempt &&
		in.PreemptDelay == o.PreemptDelay &&
		in.Accept == o.Accept &&
		in.SourceAddr == o.SourceAddr &&
		slices.Equal(in.Peers, o.Peers) &&
		in.MulticastGroup == o.MulticastGroup &&
		in.CheckUnicastSource == o.CheckUnicastSource &&
		in.Auth.Equal(o.Auth) &&
		in.HMAC.Equal(o.HMAC) &&
		in.NoVirtualIPAddress == o.NoVirtualIPAddress &&
		slices.Equal(in.VIPs, o.VIPs) &&
		slices.Equal(in.TrackInterfaces, o.TrackInterfaces) &&
		slices.Equal(in.TrackScripts, o.TrackScripts) &&
		slices.Equal(in.TrackProcesses, o.TrackProcesses) &&
		slices.Equal(in.TrackFiles, o.TrackFiles) &&
		in.Notify.Equal(o.Notify) &&
		in.GARP == o.GARP &&
		in.DontTrackPrimary == o.DontTrackPrimary &&
		in.V3ChecksumAsV2 == o.V3ChecksumAsV2 &&
		in.SyncGroup == o.SyncGroup &&
		slices.EqualFunc(in.Cloud, o.Cloud, Cloud.Equal) &&
		in.HigherPrioSendAdvert == o.HigherPrioSendAdvert &&
		in.LowerPrioNoAdvert == o.LowerPrioNoAdvert &&
		in.UnicastFaultNoPeer == o.UnicastFaultNoPeer &&
		in.NotifyPriorityChanges == o.NotifyPriorityChanges &&
		in.VMAC.Equal(o.VMAC) &&
		in.GARPExtraIf == o.GARPExtraIf &&
		slices.EqualFunc(in.Routes, o.Routes, routeEqual) &&
		slices.Equal(in.Rules, o.Rules)
}

func routeEqual(a, b vip.Route) bool {
	return slices.Equal(a.NextHops, b.NextHops) && a.Dst == b.Dst && a.Src == b.Src && a.Gateway == b.Gateway &&
		a.Interface == b.Interface && a.OnLink == b.OnLink && a.Type == b.Type && a.Table == b.Table &&
		a.Metric == b.Metric && a.Scope == b.Scope && a.TOS == b.TOS && a.NoRestore == b.NoRestore
}

// Equal reports whether both run the same commands.
func (n Notify) Equal(o Notify) bool {
	return n.Master.Equal(o.Master) && n.Backup.Equal(o.Backup) && n.Fault.Equal(o.Fault) &&
		n.Stop.Equal(o.Stop) && n.Any.Equal(o.Any) && n.MasterRxLowerPri.Equal(o.MasterRxLowerPri) &&
		n.Deleted == o.Deleted && n.DeletedScript.Equal(o.DeletedScript)
}

// Equal reports whether both are nil or run the same command as the same
// user.
func (c *Command) Equal(o *Command) bool {
	if c == nil || o == nil {
		return c == o
	}
	return slices.Equal(c.Args, o.Args) && c.User == o.User && c.Group == o.Group
}

// Equal reports whether two scripts are the same but for Pos.
func (s *Script) Equal(o *Script) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.Name == o.Name && s.Command.Equal(&o.Command) && s.Interval == o.Interval &&
		s.Timeout == o.Timeout && s.Weight == o.Weight && s.Reverse == o.Reverse &&
		s.Rise == o.Rise && s.Fall == o.Fall && s.InitFail == o.InitFail
}

// Equal reports whether two tracked processes are the same but for Pos.
func (t *TrackProcess) Equal(o *TrackProcess) bool {
	if t == nil || o == nil {
		return t == o
	}
	return t.Name == o.Name && t.Process == o.Process && slices.Equal(t.Params, o.Params) &&
		t.ParamMatch == o.ParamMatch && t.Weight == o.Weight && t.Reverse == o.Reverse &&
		t.Quorum == o.Quorum && t.QuorumMax == o.QuorumMax && t.ForkDelay == o.ForkDelay &&
		t.TerminateDelay == o.TerminateDelay && t.FullCommand == o.FullCommand
}

// Equal reports whether two tracked files are the same but for Pos.
func (f *TrackFile) Equal(o *TrackFile) bool {
	if f == nil || o == nil {
		return f == o
	}
	return f.Name == o.Name && f.Path == o.Path && f.Weight == o.Weight && f.Reverse == o.Reverse &&
		f.Init == o.Init && f.InitValue == o.InitValue && f.InitOverwrite == o.InitOverwrite
}

// Equal reports whether two sync groups are the same but for Pos.
func (g *SyncGroup) Equal(o *SyncGroup) bool {
	if g == nil || o == nil {
		return g == o
	}
	return g.Name == o.Name && slices.Equal(g.Members, o.Members) &&
		slices.Equal(g.TrackInterfaces, o.TrackInterfaces) && slices.Equal(g.TrackScripts, o.TrackScripts) &&
		slices.Equal(g.TrackProcesses, o.TrackProcesses) && slices.Equal(g.TrackFiles, o.TrackFiles) &&
		g.Notify.Equal(o.Notify) && g.TrackingWeight == o.TrackingWeight
}

// Equal reports whether two configurations are the same but for
// positions and warnings.
func (c *Config) Equal(o *Config) bool {
	return c.Global.equal(o.Global) &&
		slices.Equal(c.StaticAddresses, o.StaticAddresses) &&
		slices.EqualFunc(c.StaticRoutes, o.StaticRoutes, routeEqual) &&
		slices.Equal(c.StaticRules, o.StaticRules) &&
		slices.EqualFunc(c.Instances, o.Instances, (*Instance).Equal) &&
		slices.EqualFunc(c.SyncGroups, o.SyncGroups, (*SyncGroup).Equal) &&
		slices.EqualFunc(c.Scripts, o.Scripts, (*Script).Equal) &&
		slices.EqualFunc(c.Processes, o.Processes, (*TrackProcess).Equal) &&
		slices.EqualFunc(c.Files, o.Files, (*TrackFile).Equal)
}

func (g Global) equal(o Global) bool {
	a, b := g, o
	a.NotifyFIFO, a.VRRPNotifyFIFO, b.NotifyFIFO, b.VRRPNotifyFIFO = nil, nil, nil, nil
	return a == b && g.NotifyFIFO.Equal(o.NotifyFIFO) && g.VRRPNotifyFIFO.Equal(o.VRRPNotifyFIFO)
}

// Diff says what a reload changes, instance by instance, so that a daemon
// keeps unchanged instances running without a transition.
type Diff struct {
	// Added are instances only in the new configuration, Removed only in
	// the old one (names, in file order).
	Added   []string
	Removed []string
	// Changed are instances in both whose own settings differ, or whose
	// tracked scripts, processes or files, or whose sync group (its
	// members, tracking, notify scripts), differ: they must be restarted.
	Changed []string
	// Unchanged are the instances a reload must leave alone.
	Unchanged []string
	// Global reports a change of global_defs settings that no instance
	// carries itself: router_id, vrrp_startup_delay, script_user,
	// enable_script_security, vrrp_garp_interval, vrrp_gna_interval.
	// (Global settings instances inherit are compared per instance.)
	Global bool
	// Static reports a change of static_ipaddress, static_routes or
	// static_rules; FIFOs one of the notify FIFOs or their scripts.
	Static bool
	FIFOs  bool
}

// Diff compares c, the running configuration, with next.
func (c *Config) Diff(next *Config) Diff {
	var d Diff
	for _, in := range c.Instances {
		if next.Instance(in.Name) == nil {
			d.Removed = append(d.Removed, in.Name)
		}
	}
	for _, in := range next.Instances {
		old := c.Instance(in.Name)
		switch {
		case old == nil:
			d.Added = append(d.Added, in.Name)
		case !old.Equal(in) || !c.sameDependencies(next, in):
			d.Changed = append(d.Changed, in.Name)
		default:
			d.Unchanged = append(d.Unchanged, in.Name)
		}
	}
	og, ng := c.Global, next.Global
	d.Global = og.RouterID != ng.RouterID || og.StartupDelay != ng.StartupDelay ||
		og.DelayAfterBoot != ng.DelayAfterBoot || og.V3ChecksumAsV2 != ng.V3ChecksumAsV2 ||
		og.ScriptUser != ng.ScriptUser || og.ScriptGroup != ng.ScriptGroup ||
		og.ScriptSecurity != ng.ScriptSecurity || og.ARPInterval != ng.ARPInterval ||
		og.NAInterval != ng.NAInterval
	d.Static = !slices.Equal(c.StaticAddresses, next.StaticAddresses) ||
		!slices.EqualFunc(c.StaticRoutes, next.StaticRoutes, routeEqual) || !slices.Equal(c.StaticRules, next.StaticRules)
	d.FIFOs = !og.NotifyFIFO.Equal(ng.NotifyFIFO) || !og.VRRPNotifyFIFO.Equal(ng.VRRPNotifyFIFO)
	return d
}

// sameDependencies compares what in (of next) tracks and its sync group
// between c and next.
func (c *Config) sameDependencies(next *Config, in *Instance) bool {
	oldG, newG := c.SyncGroup(in.SyncGroup), next.SyncGroup(in.SyncGroup)
	if !oldG.Equal(newG) {
		return false
	}
	scripts, procs, files := in.TrackScripts, in.TrackProcesses, in.TrackFiles
	if newG != nil {
		scripts = append(slices.Clone(scripts), newG.TrackScripts...)
		procs = append(slices.Clone(procs), newG.TrackProcesses...)
		files = append(slices.Clone(files), newG.TrackFiles...)
	}
	for _, t := range scripts {
		if !c.Script(t.Name).Equal(next.Script(t.Name)) {
			return false
		}
	}
	for _, t := range procs {
		if !c.Process(t.Name).Equal(next.Process(t.Name)) {
			return false
		}
	}
	for _, t := range files {
		if !c.File(t.Name).Equal(next.File(t.Name)) {
			return false
		}
	}
	return true
}
