package kaconf

import (
	"fmt"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"strconv"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// Format writes c back as a keepalived.conf with every default made
// explicit where keepalived has a keyword for it: what the daemon will
// actually run, in keepalived's own syntax (compare keepalived -d). It is
// for logs and dumps: every password shows as "redacted (N bytes)", and
// an auth_hmac key written in the configuration itself as a comment
// naming its id and length (keys read from files as their file:
// reference). FormatWithSecrets writes the passwords.
func (c *Config) Format() string { return c.format(false) }

// FormatWithSecrets is Format with the passwords written out: Parse reads
// it back into a Config equal to c (Equal), comments and definitions
// aside — except for auth_hmac keys written in the configuration itself,
// which stay comments (auth.Key never gives its bytes back), so that such
// a result does not load. It is for writing a configuration file, never
// for a log.
func (c *Config) FormatWithSecrets() string { return c.format(true) }

func (c *Config) format(secrets bool) string {
	w := &writer{secrets: secrets}
	c.formatGlobal(w)
	for _, s := range c.Scripts {
		w.line(0, "")
		w.line(0, "vrrp_script %s {", quoteWord(s.Name))
		w.line(1, "script %s", quoteEscaped(s.Command.String()))
		w.line(1, "interval %s", seconds(s.Interval))
		w.line(1, "timeout %s", seconds(s.Timeout))
		w.line(1, "weight %d%s", s.Weight, reverse(s.Reverse))
		w.line(1, "rise %d", s.Rise)
		w.line(1, "fall %d", s.Fall)
		if s.Command.User != "" {
			w.line(1, "user %s%s", quoteWord(s.Command.User), optWord(s.Command.Group))
		}
		if s.InitFail {
			w.line(1, "init_fail")
		}
		w.line(0, "}")
	}
	for _, t := range c.Processes {
		w.line(0, "")
		w.line(0, "vrrp_track_process %s {", quoteWord(t.Name))
		proc := []string{quoteWord(t.Process)}
		for _, a := range t.Params {
			proc = append(proc, quoteWord(a))
		}
		w.line(1, "process %s", strings.Join(proc, " "))
		switch {
		case t.ParamMatch == MatchExact && len(t.Params) == 0:
			w.line(1, "param_match")
		case t.ParamMatch == MatchPartial || t.ParamMatch == MatchInitial:
			w.line(1, "param_match %s", t.ParamMatch)
		}
		w.line(1, "weight %d%s", t.Weight, reverse(t.Reverse))
		if t.QuorumMax == 0 {
			w.line(1, "quorum_max 0")
		} else {
			w.line(1, "quorum %d", t.Quorum)
			if t.QuorumMax != NoQuorumMax {
				w.line(1, "quorum_max %d", t.QuorumMax)
			}
		}
		if t.ForkDelay != 0 {
			w.line(1, "fork_delay %s", seconds(t.ForkDelay))
		}
		if t.TerminateDelay != 0 {
			w.line(1, "terminate_delay %s", seconds(t.TerminateDelay))
		}
		if t.FullCommand {
			w.line(1, "full_command")
		}
		w.line(0, "}")
	}
	for _, f := range c.Files {
		w.line(0, "")
		w.line(0, "track_file %s {", quoteWord(f.Name))
		w.line(1, "file %s", quoteWord(f.Path))
		w.line(1, "weight %d%s", f.Weight, reverse(f.Reverse))
		if f.Init {
			over := ""
			if f.InitOverwrite {
				over = " overwrite"
			}
			w.line(1, "init_file %d%s", f.InitValue, over)
		}
		w.line(0, "}")
	}
	for _, in := range c.Instances {
		c.formatInstance(w, in)
	}
	for _, g := range c.SyncGroups {
		w.line(0, "")
		w.line(0, "vrrp_sync_group %s {", quoteWord(g.Name))
		w.line(1, "group {")
		for _, m := range g.Members {
			w.line(2, "%s", quoteWord(m))
		}
		w.line(1, "}")
		formatTracks(w, g.TrackInterfaces, g.TrackScripts, g.TrackProcesses, g.TrackFiles)
		formatNotify(w, g.Notify)
		if g.TrackingWeight {
			w.line(1, "sync_group_tracking_weight")
		}
		w.line(0, "}")
	}
	return w.b.String()
}

func (c *Config) formatGlobal(w *writer) {
	g := &c.Global
	w.line(0, "global_defs {")
	if g.RouterID != "" {
		w.line(1, "router_id %s", quoteWord(g.RouterID))
	}
	w.line(1, "vrrp_version %d", g.Version)
	w.line(1, "vrrp_mcast_group4 %s", g.MulticastGroup4)
	w.line(1, "vrrp_mcast_group6 %s", g.MulticastGroup6)
	if g.GARP.RefreshRepeat == 0 {
		// Only vrrp_min_garp sets it to 0; the keyword does not take 0.
		w.line(1, "vrrp_min_garp")
	}
	w.line(1, "vrrp_garp_master_delay %s", seconds(g.GARP.Delay))
	w.line(1, "vrrp_garp_master_repeat %d", g.GARP.Repeat)
	w.line(1, "vrrp_garp_master_refresh %s", seconds(g.GARP.Refresh))
	if g.GARP.RefreshRepeat != 0 {
		w.line(1, "vrrp_garp_master_refresh_repeat %d", g.GARP.RefreshRepeat)
	}
	w.line(1, "vrrp_garp_lower_prio_delay %s", seconds(g.GARP.LowerPrioDelay))
	w.line(1, "vrrp_garp_lower_prio_repeat %d", g.GARP.LowerPrioRepeat)
	if g.ARPInterval != 0 {
		w.line(1, "vrrp_garp_interval %s", seconds(g.ARPInterval))
	}
	if g.NAInterval != 0 {
		w.line(1, "vrrp_gna_interval %s", seconds(g.NAInterval))
	}
	if g.CheckUnicastSource {
		w.line(1, "vrrp_check_unicast_src")
	}
	if g.StartupDelay != 0 {
		w.line(1, "vrrp_startup_delay %s", seconds(g.StartupDelay))
	}
	if g.DelayAfterBoot != 0 {
		w.line(1, "vrrp_delay_after_boot %s", seconds(g.DelayAfterBoot))
	}
	if g.ScriptUser != "" {
		w.line(1, "script_user %s%s", quoteWord(g.ScriptUser), optWord(g.ScriptGroup))
	}
	if g.ScriptSecurity {
		w.line(1, "enable_script_security")
	}
	if g.HigherPrioSendAdvert {
		w.line(1, "vrrp_higher_prio_send_advert")
	}
	if g.LowerPrioNoAdvert {
		w.line(1, "vrrp_lower_prio_no_advert")
	}
	if g.NotifyPriorityChanges {
		w.line(1, "vrrp_notify_priority_changes")
	}
	if g.GARPExtraIf.Interval != 0 {
		w.line(1, "vrrp_garp_extra_if %s", formatExtraIf(g.GARPExtraIf))
	}
	for _, f := range []struct {
		kw string
		f  *FIFO
	}{{"notify_fifo", g.NotifyFIFO}, {"vrrp_notify_fifo", g.VRRPNotifyFIFO}} {
		if f.f == nil {
			continue
		}
		w.line(1, "%s %s%s%s", f.kw, quoteWord(f.f.Path), optWord(f.f.User), optWord(f.f.Group))
		if f.f.Script != nil {
			w.line(1, "%s_script %s%s", f.kw, quoteEscaped(f.f.Script.String()), commandUser(f.f.Script))
		}
	}
	if g.FIFOWriteStatesOnReload {
		w.line(1, "fifo_write_vrrp_states_on_reload")
	}
	if g.VMACPrefix != "vrrp" {
		w.line(1, "vmac_prefix %s", quoteWord(g.VMACPrefix))
	}
	if g.DefaultInterface != "eth0" {
		w.line(1, "default_interface %s", quoteWord(g.DefaultInterface))
	}
	w.line(0, "}")
	c.formatStatic(w)
}

func (c *Config) formatInstance(w *writer, in *Instance) {
	w.line(0, "")
	w.line(0, "vrrp_instance %s {", quoteWord(in.Name))
	w.line(1, "state %s", in.State)
	w.line(1, "interface %s", quoteWord(in.Interface))
	w.line(1, "virtual_router_id %d", in.VRID)
	w.line(1, "version %d", in.Version)
	w.line(1, "priority %d", in.Priority)
	w.line(1, "advert_int %s", seconds(in.AdvertInterval))
	if !in.Preempt {
		w.line(1, "nopreempt")
	}
	if in.PreemptDelay != 0 {
		w.line(1, "preempt_delay %s", seconds(in.PreemptDelay))
	}
	if !in.Accept {
		w.line(1, "no_accept")
	}
	if in.DontTrackPrimary {
		w.line(1, "dont_track_primary")
	}
	if in.SourceAddr.IsValid() {
		w.line(1, "unicast_src_ip %s", in.SourceAddr)
	}
	ttlCheck := false
	if len(in.Peers) > 0 {
		w.line(1, "unicast_peer {")
		for _, p := range in.Peers {
			opts := ""
			if p.MinTTL != 0 {
				opts += " min_ttl " + strconv.Itoa(int(p.MinTTL))
			}
			if p.MaxTTL != 255 {
				opts += " max_ttl " + strconv.Itoa(int(p.MaxTTL))
			}
			ttlCheck = ttlCheck || opts != ""
			w.line(2, "%s%s", p.Addr, opts)
		}
		w.line(1, "}")
	}
	if in.CheckUnicastSource && !c.Global.CheckUnicastSource && !ttlCheck {
		w.line(1, "check_unicast_src")
	}
	if in.Auth.Type != AuthNone {
		w.line(1, "authentication {")
		w.line(2, "auth_type %s", in.Auth.Type)
		w.line(2, "auth_pass %s", w.secret(in.Auth.Password))
		w.line(1, "}")
	}
	if h := in.HMAC; h != nil {
		w.line(1, "auth_hmac {")
		for _, k := range h.Keys {
			if k.File != "" {
				w.line(2, "key %d %s", k.Key.ID(), quoteWord("file:"+k.File))
			} else {
				w.line(2, "# key %d: %d bytes in the configuration, not shown", k.Key.ID(), k.Key.Len())
			}
		}
		w.line(2, "active_key %d", h.ActiveKey)
		w.line(2, "anti_replay %s", h.AntiReplay)
		if h.AntiReplay == auth.AntiReplayTime {
			w.line(2, "time_window %d", h.Window/time.Second)
		}
		w.line(2, "mode %s", h.Mode)
		w.line(1, "}")
	}
	if in.NoVirtualIPAddress {
		w.line(1, "no_virtual_ipaddress")
	}
	// Runs of excluded and listed addresses keep their order.
	for i := 0; i < len(in.VIPs); {
		j := i
		for j < len(in.VIPs) && in.VIPs[j].Excluded == in.VIPs[i].Excluded {
			j++
		}
		kw := "virtual_ipaddress"
		if in.VIPs[i].Excluded {
			kw = "virtual_ipaddress_excluded"
		}
		w.line(1, "%s {", kw)
		for _, v := range in.VIPs[i:j] {
			w.line(2, "%s", formatVIP(v))
		}
		w.line(1, "}")
		i = j
	}
	formatTracks(w, in.TrackInterfaces, in.TrackScripts, in.TrackProcesses, in.TrackFiles)
	formatNotify(w, in.Notify)
	g := c.Global.GARP
	if in.GARP.Delay != g.Delay {
		w.line(1, "garp_master_delay %s", seconds(in.GARP.Delay))
	}
	if in.GARP.Repeat != g.Repeat {
		w.line(1, "garp_master_repeat %d", in.GARP.Repeat)
	}
	if in.GARP.Refresh != g.Refresh {
		w.line(1, "garp_master_refresh %s", seconds(in.GARP.Refresh))
	}
	if in.GARP.RefreshRepeat != g.RefreshRepeat {
		w.line(1, "garp_master_refresh_repeat %d", in.GARP.RefreshRepeat)
	}
	if in.GARP.LowerPrioDelay != g.LowerPrioDelay {
		w.line(1, "garp_lower_prio_delay %s", seconds(in.GARP.LowerPrioDelay))
	}
	if in.GARP.LowerPrioRepeat != g.LowerPrioRepeat {
		w.line(1, "garp_lower_prio_repeat %d", in.GARP.LowerPrioRepeat)
	}
	if in.V3ChecksumAsV2 {
		w.line(1, "v3_checksum_as_v2")
	}
	c.formatExtensions(w, in)
	formatCloud(w, in)
	w.line(0, "}")
}

func formatVIP(v VIP) string {
	s := v.Prefix.String()
	if v.Prefix.Bits() == v.Prefix.Addr().BitLen() {
		s = v.Prefix.Addr().String()
	}
	if v.Broadcast.IsValid() {
		s += " brd " + v.Broadcast.String()
	}
	if v.Interface != "" {
		s += " dev " + quoteWord(v.Interface)
	}
	if v.Scope != "" {
		s += " scope " + quoteWord(v.Scope)
	}
	if v.Label != "" {
		s += " label " + quoteWord(v.Label)
	}
	if v.Peer.IsValid() {
		s += " peer " + v.Peer.String()
	}
	if v.PreferredLifetimeSet {
		if v.PreferredLifetime == vrrp.LifetimeForever {
			s += " preferred_lft forever"
		} else {
			s += " preferred_lft " + strconv.Itoa(int(v.PreferredLifetime/time.Second))
		}
	}
	for _, f := range []struct {
		on   bool
		word string
	}{{v.NoPrefixRoute, "noprefixroute"}, {v.Home, "home"}, {v.MngTmpAddr, "mngtmpaddr"}, {v.AutoJoin, "autojoin"}, {v.NoTrack, "no_track"}} {
		if f.on {
			s += " " + f.word
		}
	}
	return s
}

func formatTracks(w *writer, ifs, scripts, procs, files []Track) {
	for i, ts := range [numTrackKinds][]Track{ifs, scripts, procs, files} {
		if len(ts) == 0 {
			continue
		}
		w.line(1, "%s {", trackKinds[i].keyword)
		for _, t := range ts {
			w.line(2, "%s weight %d%s", quoteWord(t.Name), t.Weight, reverse(t.Reverse))
		}
		w.line(1, "}")
	}
}

func formatNotify(w *writer, n Notify) {
	for _, s := range []struct {
		kw string
		c  *Command
	}{{"notify_master", n.Master}, {"notify_backup", n.Backup}, {"notify_fault", n.Fault}, {"notify_stop", n.Stop},
		{"notify", n.Any}, {"notify_master_rx_lower_pri", n.MasterRxLowerPri}, {"notify_deleted", n.DeletedScript}} {
		if s.c == nil {
			continue
		}
		w.line(1, "%s %s%s", s.kw, quoteEscaped(s.c.String()), commandUser(s.c))
	}
	if n.Deleted && n.DeletedScript == nil {
		w.line(1, "notify_deleted")
	}
}

// commandUser is " USER [GROUP]" of a notify command, or "".
func commandUser(c *Command) string {
	user := ""
	if c.User != "" {
		user = " " + quoteEscaped(c.User)
		if c.Group != "" {
			user += " " + quoteEscaped(c.Group)
		}
	}
	return user
}

func reverse(r bool) string {
	if r {
		return " reverse"
	}
	return ""
}

func optWord(s string) string {
	if s == "" {
		return ""
	}
	return " " + quoteWord(s)
}

// quoteWord writes a word so that keepalived's first split (at blanks,
// "..." grouping, no escapes) reads it back: in double quotes when it holds
// anything a line's preprocessing would act on.
func quoteWord(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"'\#!{}$@~;`, c) >= 0 {
			return `"` + s + `"`
		}
	}
	return s
}

// quoteEscaped writes s in double quotes for keepalived's escaping split
// (script lines), escaping what that split or a line's preprocessing would
// act on: backslashes, line ends, and '"' and '$' (as octal: the first
// split and substitution know no escapes).
func quoteEscaped(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '"', '$', 0:
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writer indents lines with four spaces per level, as keepalived's own
// samples do.
type writer struct {
	b       strings.Builder
	secrets bool // write secrets out rather than redacted
}

// secret is s as a word: itself when the writer writes secrets, else
// "redacted (N bytes)" in quotes.
func (w *writer) secret(s Secret) string {
	if w.secrets {
		return quoteWord(s.Reveal())
	}
	return `"` + s.String() + `"`
}

func (w *writer) line(level int, format string, args ...any) {
	if format == "" {
		w.b.WriteByte('\n')
		return
	}
	w.b.WriteString(strings.Repeat("    ", level))
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

func formatExtraIf(g GARPExtraIf) string {
	if g.All {
		return "all " + seconds(g.Interval)
	}
	return seconds(g.Interval)
}

// formatExtensions writes an instance's settings beyond the RFCs.
func (c *Config) formatExtensions(w *writer, in *Instance) {
	g := c.Global
	flag := func(on, def bool, kw string) {
		switch {
		case on && !def:
			w.line(1, "%s", kw)
		case !on && def:
			w.line(1, "%s false", kw)
		}
	}
	flag(in.HigherPrioSendAdvert, g.HigherPrioSendAdvert, "higher_prio_send_advert")
	flag(in.LowerPrioNoAdvert, g.LowerPrioNoAdvert, "lower_prio_no_advert")
	flag(in.NotifyPriorityChanges, g.NotifyPriorityChanges, "notify_priority_changes")
	if in.UnicastFaultNoPeer {
		w.line(1, "unicast_fault_no_peer")
	}
	group := g.MulticastGroup4
	if in.IPv6 {
		group = g.MulticastGroup6
	}
	if in.MulticastGroup != group {
		w.line(1, "mcast_dst_ip %s", in.MulticastGroup)
	}
	if in.GARPExtraIf != g.GARPExtraIf {
		w.line(1, "garp_extra_if %s", formatExtraIf(in.GARPExtraIf))
	}
	if v := in.VMAC; v != nil {
		mac := ""
		if v.MAC != nil {
			mac = " " + v.MAC.String()
		}
		w.line(1, "use_vmac name %s%s", quoteWord(v.Name), mac)
		if v.XmitBase {
			w.line(1, "vmac_xmit_base")
		}
	}
	if len(in.Routes) > 0 {
		w.line(1, "virtual_routes {")
		for _, r := range in.Routes {
			w.line(2, "%s", formatRoute(r))
		}
		w.line(1, "}")
	}
	if len(in.Rules) > 0 {
		w.line(1, "virtual_rules {")
		for _, r := range in.Rules {
			w.line(2, "%s", formatRule(r))
		}
		w.line(1, "}")
	}
}

// formatStatic writes static_ipaddress, static_routes and static_rules.
func (c *Config) formatStatic(w *writer) {
	if len(c.StaticAddresses) > 0 {
		w.line(0, "static_ipaddress {")
		for _, v := range c.StaticAddresses {
			w.line(1, "%s", formatVIP(v))
		}
		w.line(0, "}")
	}
	if len(c.StaticRoutes) > 0 {
		w.line(0, "static_routes {")
		for _, r := range c.StaticRoutes {
			w.line(1, "%s", formatRoute(r))
		}
		w.line(0, "}")
	}
	if len(c.StaticRules) > 0 {
		w.line(0, "static_rules {")
		for _, r := range c.StaticRules {
			w.line(1, "%s", formatRule(r))
		}
		w.line(0, "}")
	}
}

func formatRoute(r vip.Route) string {
	var b strings.Builder
	if r.Type != vip.RouteUnicast {
		b.WriteString(r.Type.String() + " ")
	}
	if r.Src.IsValid() {
		b.WriteString("src " + r.Src.String() + " to ")
	}
	if r.Dst.Bits() == 0 {
		b.WriteString("default")
		if r.IPv6() {
			b.WriteString(" inet6")
		}
	} else {
		b.WriteString(r.Dst.String())
	}
	if r.Gateway.IsValid() {
		b.WriteString(" via " + r.Gateway.String())
	}
	if r.Interface != "" {
		b.WriteString(" dev " + quoteWord(r.Interface))
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	for _, nh := range r.NextHops {
		b.WriteString(" nexthop")
		if nh.Gateway.IsValid() {
			b.WriteString(" via " + nh.Gateway.String())
		}
		if nh.Interface != "" {
			b.WriteString(" dev " + quoteWord(nh.Interface))
		}
		if nh.Weight > 1 {
			b.WriteString(" weight " + strconv.Itoa(nh.Weight))
		}
		if nh.OnLink {
			b.WriteString(" onlink")
		}
	}
	if r.Scope != 0 {
		b.WriteString(" scope " + strconv.Itoa(int(r.Scope)))
	}
	if r.Table != 0 {
		b.WriteString(" table " + strconv.FormatUint(uint64(r.Table), 10))
	}
	if r.Metric != 0 {
		b.WriteString(" metric " + strconv.FormatUint(uint64(r.Metric), 10))
	}
	if r.TOS != 0 {
		b.WriteString(" tos " + strconv.Itoa(int(r.TOS)))
	}
	if r.NoRestore {
		b.WriteString(" no_track")
	}
	return b.String()
}

func formatRule(r vip.Rule) string {
	var parts []string
	if r.Invert {
		parts = append(parts, "not")
	}
	if r.From.IsValid() {
		parts = append(parts, "from", r.From.String())
	}
	if r.To.IsValid() {
		parts = append(parts, "to", r.To.String())
	}
	if !r.From.IsValid() && !r.To.IsValid() && r.IPv6 {
		parts = append(parts, "inet6")
	}
	if r.Priority != 0 {
		parts = append(parts, "preference", strconv.FormatUint(uint64(r.Priority), 10))
	}
	if r.FwMark != 0 || r.FwMask != 0 {
		m := "0x" + strconv.FormatUint(uint64(r.FwMark), 16)
		if r.FwMask != 0 {
			m += "/0x" + strconv.FormatUint(uint64(r.FwMask), 16)
		}
		parts = append(parts, "fwmark", m)
	}
	if r.IIF != "" {
		parts = append(parts, "iif", quoteWord(r.IIF))
	}
	if r.OIF != "" {
		parts = append(parts, "oif", quoteWord(r.OIF))
	}
	if r.TOS != 0 {
		parts = append(parts, "tos", strconv.Itoa(int(r.TOS)))
	}
	switch r.Action {
	case vip.RuleLookup:
		parts = append(parts, "table", strconv.FormatUint(uint64(r.Table), 10))
	case vip.RuleGoto:
		parts = append(parts, "goto", strconv.FormatUint(uint64(r.Goto), 10))
	default:
		parts = append(parts, r.Action.String())
	}
	if r.NoRestore {
		parts = append(parts, "no_track")
	}
	return strings.Join(parts, " ")
}
