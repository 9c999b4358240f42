package kaconf

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/vrrpkit/vrrpkit/vip"
)

// Config is a keepalived.conf with keepalived 2.2.7's defaults applied:
// every field holds the value keepalived would run with, so a consumer
// never has to know a default.
type Config struct {
	Global Global
	// Instances are the vrrp_instance blocks, in file order.
	Instances []*Instance
	// SyncGroups are the vrrp_sync_group blocks, in file order.
	SyncGroups []*SyncGroup
	// Scripts are the vrrp_script blocks, in file order.
	Scripts []*Script
	// Processes are the vrrp_track_process blocks, in file order.
	Processes []*TrackProcess
	// Files are the track_file (or deprecated vrrp_track_file) blocks, in
	// file order.
	Files []*TrackFile
	// Warnings are what keepalived would warn about, or what vrrpd
	// ignores, in file order. A daemon logs them.
	Warnings []Diagnostic

	// StaticAddresses, StaticRoutes and StaticRules are static_ipaddress,
	// static_routes and static_rules: added at startup and kept (put back
	// when deleted) until the daemon stops, whatever the instances do.
	// A static address's Interface is never empty (global
	// default_interface, eth0 by default).
	StaticAddresses []VIP
	StaticRoutes    []vip.Route
	StaticRules     []vip.Rule
}

// Instance returns the vrrp_instance called name, or nil.
func (c *Config) Instance(name string) *Instance {
	for _, in := range c.Instances {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// Script returns the vrrp_script called name, or nil.
func (c *Config) Script(name string) *Script {
	for _, s := range c.Scripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Process returns the vrrp_track_process called name, or nil.
func (c *Config) Process(name string) *TrackProcess {
	for _, p := range c.Processes {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// File returns the track_file called name, or nil.
func (c *Config) File(name string) *TrackFile {
	for _, f := range c.Files {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// SyncGroup returns the vrrp_sync_group called name, or nil.
func (c *Config) SyncGroup(name string) *SyncGroup {
	for _, g := range c.SyncGroups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// Global is global_defs. Settings keepalived applies per instance
// (multicast groups, gratuitous ARP schedule, vrrp_version,
// vrrp_check_unicast_src) are also resolved into each Instance; they are
// kept here for display.
type Global struct {
	// RouterID names this node in logs (router_id). Default: empty,
	// which keepalived replaces by the host name at run time.
	RouterID string
	// Version is the VRRP version of instances that do not set theirs
	// (vrrp_version). Default 2.
	Version int
	// MulticastGroup4 and MulticastGroup6 are where adverts go without
	// unicast peers (vrrp_mcast_group4, vrrp_mcast_group6). Defaults
	// 224.0.0.18 and ff02::12 (RFC 5798 §5.1.1.2, §5.1.2.2).
	MulticastGroup4 netip.Addr
	MulticastGroup6 netip.Addr
	// GARP is the default announcement schedule of every instance
	// (vrrp_garp_master_delay, vrrp_garp_master_repeat,
	// vrrp_garp_master_refresh, vrrp_garp_master_refresh_repeat,
	// vrrp_garp_lower_prio_delay, vrrp_garp_lower_prio_repeat,
	// vrrp_min_garp).
	GARP GARP
	// ARPInterval is the minimum gap between two gratuitous ARPs sent on
	// one interface (vrrp_garp_interval, seconds with µs resolution,
	// 0.000001 .. 4294.967295). Default 0: none. Maps to
	// vip.Schedule.ARPInterval.
	ARPInterval time.Duration
	// NAInterval is the same for unsolicited neighbour advertisements
	// (vrrp_gna_interval). Default 0. Maps to vip.Schedule.NAInterval.
	NAInterval time.Duration
	// CheckUnicastSource drops unicast adverts whose source is not a
	// configured peer, in every instance (vrrp_check_unicast_src).
	// Default false.
	CheckUnicastSource bool
	// StartupDelay delays the start of every instance
	// (vrrp_startup_delay, seconds with µs resolution, 0.001 ..
	// 4294.967295). Default 0.
	StartupDelay time.Duration
	// DelayAfterBoot delays the start of every instance until the system
	// has been up that long (vrrp_delay_after_boot, keepalived 2.4, same
	// range); the longer of the two delays applies. Default 0.
	DelayAfterBoot time.Duration
	// V3ChecksumAsV2 is the default of the instances' V3ChecksumAsV2
	// (v3_checksum_as_v2 [BOOL]). Default false.
	V3ChecksumAsV2 bool
	// ScriptUser and ScriptGroup run scripts that name no user of their own
	// (script_user USER [GROUP]). Default empty: keepalived runs them as
	// keepalived_script if that user exists, else as root.
	ScriptUser  string
	ScriptGroup string
	// ScriptSecurity refuses to run, as root, scripts that a non-root user
	// could modify (enable_script_security). Default false.
	ScriptSecurity bool

	// HigherPrioSendAdvert, LowerPrioNoAdvert and NotifyPriorityChanges
	// are the instances' defaults (vrrp_higher_prio_send_advert,
	// vrrp_lower_prio_no_advert, vrrp_notify_priority_changes).
	HigherPrioSendAdvert  bool
	LowerPrioNoAdvert     bool
	NotifyPriorityChanges bool
	// GARPExtraIf is the instances' default garp_extra_if
	// (vrrp_garp_extra_if).
	GARPExtraIf GARPExtraIf
	// NotifyFIFO and VRRPNotifyFIFO are where notify events are written
	// as lines (notify_fifo, vrrp_notify_fifo), or nil. Each may name a
	// script run with the FIFO's path as its last argument
	// (notify_fifo_script, vrrp_notify_fifo_script).
	NotifyFIFO     *FIFO
	VRRPNotifyFIFO *FIFO
	// FIFOWriteStatesOnReload writes every instance's and group's state to
	// the FIFOs after a reload (fifo_write_vrrp_states_on_reload).
	FIFOWriteStatesOnReload bool
	// VMACPrefix starts the default names of VMAC interfaces (vmac_prefix).
	// Default "vrrp".
	VMACPrefix string
	// DefaultInterface is where static addresses without dev go
	// (default_interface). Default "eth0".
	DefaultInterface string

	// RTPriority runs the daemon SCHED_RR at that priority, 1..99
	// (vrrp_rt_priority). Default 0: normal scheduling.
	RTPriority int
	// RLimitRTTime bounds the CPU time real-time threads may use between
	// blocking system calls (vrrp_rlimit_rttime, microseconds, at least
	// 2). Default 0: keepalived's 10 ms. Only with RTPriority.
	RLimitRTTime time.Duration
	// ProcessPriority is the daemon's nice value, -20..19
	// (vrrp_priority). Default 0.
	ProcessPriority int
	// NoSwap locks the daemon's memory (vrrp_no_swap). Default false.
	NoSwap bool
}

// FIFO is a notify FIFO: `notify_fifo PATH [USER [GROUP]]` and its
// script.
type FIFO struct {
	Path  string
	Pos   Pos
	User  string // owner of a FIFO vrrpd creates; empty: root
	Group string
	// Script reads the FIFO: run at startup with Path as its last
	// argument, and stopped (SIGTERM) at exit.
	Script *Command
}

// Equal reports whether both are nil or the same but for Pos.
func (f *FIFO) Equal(o *FIFO) bool {
	if f == nil || o == nil {
		return f == o
	}
	return f.Path == o.Path && f.User == o.User && f.Group == o.Group && f.Script.Equal(o.Script)
}

// GARP is keepalived's gratuitous ARP / unsolicited NA schedule; the field
// names are vip.Schedule's, which it maps onto 1:1.
type GARP struct {
	// Repeat is the number of announcements per address sent on becoming
	// master (garp_master_repeat). Default 5.
	Repeat int
	// Delay is when a second burst of Repeat follows; 0 means none
	// (garp_master_delay, whole seconds). Default 5 s.
	Delay time.Duration
	// Refresh is the period of refresh bursts while master; 0 is off
	// (garp_master_refresh, whole seconds). Default 0.
	Refresh time.Duration
	// RefreshRepeat is the size of each refresh burst
	// (garp_master_refresh_repeat). Default 1.
	RefreshRepeat int
	// LowerPrioRepeat is the burst a master sends after hearing a lower
	// priority (garp_lower_prio_repeat). Default: the global Repeat.
	LowerPrioRepeat int
	// LowerPrioDelay is when a second such burst follows
	// (garp_lower_prio_delay, whole seconds). Default: the global Delay.
	LowerPrioDelay time.Duration
}

// DefaultGARP is keepalived 2.2.7's schedule when nothing is configured.
func DefaultGARP() GARP {
	return GARP{
		Repeat:          5,
		Delay:           5 * time.Second,
		RefreshRepeat:   1,
		LowerPrioRepeat: 5,
		LowerPrioDelay:  5 * time.Second,
	}
}

// State is an instance's initial state (state MASTER|BACKUP).
type State uint8

const (
	// Backup: start as backup and wait Master_Down_Interval (the default).
	Backup State = iota
	// Master: keepalived's "state MASTER". With priority 255 the instance
	// becomes master at once; otherwise it only changes the default
	// priority to 255: keepalived 2.2.7 starts the instance as a backup
	// all the same, and starts the members of a sync group as backups
	// unless all of them are address owners.
	Master
)

// String returns keepalived's spelling: BACKUP, MASTER.
func (s State) String() string {
	switch s {
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// AuthType is VRRPv2 authentication (RFC 2338 §5.3.6; removed by RFC 3768,
// kept by keepalived).
type AuthType uint8

const (
	// AuthNone: no authentication (the default).
	AuthNone AuthType = iota
	// AuthPass: a clear-text password of up to 8 bytes in the advert.
	AuthPass
	// AuthAH: IPsec AH with HMAC-MD5-96, keepalived's wire format.
	AuthAH
)

// String returns keepalived's spelling: PASS, AH, or none.
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return "AuthType(" + strconv.Itoa(int(a)) + ")"
}

// Auth is an instance's authentication block.
type Auth struct {
	// Type is auth_type. Default AuthNone.
	Type AuthType
	// Password is auth_pass (the PASS password, or the AH key) as
	// keepalived uses it: cut to its first 8 bytes (with a warning). Zero
	// with AuthNone. It never prints.
	Password Secret
}

// Equal reports whether both authenticate the same way with the same
// password.
func (a Auth) Equal(o Auth) bool { return a.Type == o.Type && a.Password.Equal(o.Password) }

// Instance is one vrrp_instance: one virtual router (VRID, address family,
// interface). Every field holds the value keepalived 2.2.7 would run with.
type Instance struct {
	Name string
	Pos  Pos // where the vrrp_instance block starts
	// State is the initial state (state). Default Backup.
	State State
	// Interface is the interface adverts are sent and received on, and
	// where VIPs without a dev go (interface). Required.
	Interface string
	// VRID is the virtual router id, 1..255 (virtual_router_id). Required.
	VRID uint8
	// Priority is the base priority, 1..255 (priority). Default 100, or
	// 255 when State is Master and no priority is configured. 255 is the
	// address owner (RFC 5798 §6.1).
	Priority uint8
	// AdvertInterval is the advert interval (advert_int). Default 1 s.
	// VRRPv2 intervals are whole seconds (keepalived rounds to the
	// nearest, at least 1); VRRPv3 ones are rounded to 10 ms, 10 ms ..
	// 40.95 s (RFC 5798 §5.2.7).
	AdvertInterval time.Duration
	// Version is 2 (RFC 3768) or 3 (RFC 5798): the instance's version,
	// else global vrrp_version, except that an IPv6 instance without its
	// own version is 3.
	Version int
	// IPv6 is the address family, inferred as keepalived does from the
	// first of mcast_src_ip / unicast_src_ip, the first virtual_ipaddress
	// entry, the first unicast peer, or native_ipv6, in file order;
	// default IPv4. virtual_ipaddress_excluded entries do not count.
	IPv6 bool
	// Preempt is false with nopreempt. Default true.
	Preempt bool
	// PreemptDelay delays preemption at startup or when seeing a lower
	// priority master (preempt_delay, seconds with µs resolution,
	// 0..1000). Default 0.
	PreemptDelay time.Duration
	// Accept is the accept mode (accept / no_accept, RFC 5798 §6.1).
	// Default true (keepalived's default unless vrrp_strict).
	Accept bool
	// SourceAddr is the adverts' source address (unicast_src_ip, or its
	// synonym mcast_src_ip). Zero: the interface's primary address (IPv4)
	// or link-local address (IPv6).
	SourceAddr netip.Addr
	// Peers are the unicast peers (unicast_peer). Empty means multicast to
	// MulticastGroup.
	Peers []Peer
	// MulticastGroup is the advert destination without peers
	// (mcast_dst_ip), else the global vrrp_mcast_group4 or
	// vrrp_mcast_group6 of the instance's family.
	MulticastGroup netip.Addr
	// CheckUnicastSource drops unicast adverts whose source is not one of
	// Peers (check_unicast_src, or global vrrp_check_unicast_src, or any
	// peer with min_ttl/max_ttl). Default false.
	CheckUnicastSource bool
	// Auth is the authentication block. Ignored (with a warning) for
	// VRRPv3, as keepalived does.
	Auth Auth
	// HMAC is the auth_hmac block (keepalived 2.4), or nil. It excludes
	// Auth.
	HMAC *HMAC
	// VIPs are the virtual_ipaddress entries followed by the
	// virtual_ipaddress_excluded ones (Excluded set), in file order.
	VIPs []VIP
	// NoVirtualIPAddress allows an instance without virtual_ipaddress,
	// VRRPv3 included (no_virtual_ipaddress, keepalived 2.4; for cloud
	// floating addresses managed elsewhere).
	NoVirtualIPAddress bool
	// TrackInterfaces are the track_interface entries: Name is an
	// interface, Weight defaults to 0 (down means Fault).
	TrackInterfaces []Track
	// TrackScripts are the track_script entries: Name is a vrrp_script,
	// Weight and Reverse default to the script's.
	TrackScripts []Track
	// TrackProcesses are the track_process entries: Name is a
	// vrrp_track_process, Weight and Reverse default to its.
	TrackProcesses []Track
	// TrackFiles are the track_file entries: Name is a track_file, Weight
	// and Reverse default to its.
	TrackFiles []Track
	// Notify are the notify scripts.
	Notify Notify
	// GARP is the announcement schedule: the instance's garp_* settings
	// over the global ones.
	GARP GARP
	// DontTrackPrimary ignores Interface's link state
	// (dont_track_primary). Default false: the interface going down means
	// Fault.
	DontTrackPrimary bool
	// V3ChecksumAsV2 computes the VRRPv3 over IPv4 checksum without the
	// pseudo-header (v3_checksum_as_v2 [BOOL], keepalived 2.3 and later).
	// Default: the global v3_checksum_as_v2, false.
	V3ChecksumAsV2 bool
	// SyncGroup is the vrrp_sync_group the instance belongs to, or empty.
	SyncGroup string
	// Cloud are the vrrpd_cloud blocks (a vrrpd extension), in file order.
	Cloud []Cloud

	// Behaviour of keepalived's beyond the RFCs.

	// HigherPrioSendAdvert: a master hearing a higher priority sends one
	// advert before it steps down (higher_prio_send_advert [BOOL]).
	// Default: global vrrp_higher_prio_send_advert, false.
	HigherPrioSendAdvert bool
	// LowerPrioNoAdvert: a master hearing a lower priority does not
	// answer with an advert (lower_prio_no_advert [BOOL]). Default:
	// global vrrp_lower_prio_no_advert, false.
	LowerPrioNoAdvert bool
	// UnicastFaultNoPeer keeps a unicast instance without peers in FAULT
	// instead of sending multicast (unicast_fault_no_peer).
	UnicastFaultNoPeer bool
	// NotifyPriorityChanges writes MASTER_PRIORITY / BACKUP_PRIORITY lines
	// to the notify FIFOs when the effective priority changes
	// (notify_priority_changes [BOOL]). Default: global
	// vrrp_notify_priority_changes, false.
	NotifyPriorityChanges bool
	// VMAC is use_vmac (with vmac_xmit_base), or nil.
	VMAC *VMAC
	// GARPExtraIf is garp_extra_if [all] SECONDS (default: the global
	// vrrp_garp_extra_if): periodic announcements of the addresses on
	// other interfaces than the instance's (VMACs only without all).
	GARPExtraIf GARPExtraIf
	// Routes and Rules are virtual_routes and virtual_rules: added while
	// master, removed otherwise.
	Routes []vip.Route
	Rules  []vip.Rule
}

// VMAC is an instance's use_vmac [[name] NAME] [MAC]: its addresses (and,
// without XmitBase, its adverts) go on a macvlan with the virtual MAC.
type VMAC struct {
	// Name is the interface's name. Empty: vrrp.{VRID}.
	Name string
	// MAC overrides the RFC's 00-00-5E-00-01-{VRID} (five bytes given
	// take the VRID as the sixth, as keepalived does).
	MAC net.HardwareAddr
	// XmitBase sends and receives the adverts on the instance's own
	// interface (vmac_xmit_base).
	XmitBase bool
}

// Equal reports whether both are nil or the same.
func (v *VMAC) Equal(o *VMAC) bool {
	if v == nil || o == nil {
		return v == o
	}
	return v.Name == o.Name && v.XmitBase == o.XmitBase && bytes.Equal(v.MAC, o.MAC)
}

// GARPExtraIf is keepalived's garp_extra_if [all] SECONDS.
type GARPExtraIf struct {
	Interval time.Duration // 0: off
	All      bool          // every interface, not only VMACs
}

// Peer is a unicast peer: `ADDRESS [min_ttl N] [max_ttl N]`.
type Peer struct {
	Addr netip.Addr
	// MinTTL and MaxTTL bound the TTL / hop limit of adverts accepted from
	// this peer (min_ttl, max_ttl). Defaults 0 and 255.
	MinTTL uint8
	MaxTTL uint8
}

// VIP is one virtual_ipaddress or virtual_ipaddress_excluded entry:
// `ADDRESS[/LEN] [dev IF] [label LABEL] [brd ADDRESS] [scope SCOPE]
// [peer ADDRESS] [preferred_lft N|forever] [-nodad] [noprefixroute] [home]
// [mngtmpaddr] [autojoin] [no_track]`. The first four fields map 1:1 onto
// vrrp.VIP, the others onto vrrp.AddressOptions.
type VIP struct {
	// Prefix is the address with its prefix length (not masked); a bare
	// address is /32 or /128.
	Prefix netip.Prefix
	// Interface is dev; empty means the instance's interface.
	Interface string
	// Label is the IPv4 address label (label), optional.
	Label string
	// Excluded marks a virtual_ipaddress_excluded entry: added and removed
	// with the others, never listed in adverts. It may be of either family.
	Excluded bool
	// Broadcast is the IPv4 broadcast address (brd; "+" and "-" are
	// resolved to the prefix's broadcast and network addresses). Zero: none.
	Broadcast netip.Addr
	// Scope is the address scope (scope: global, site, link, host,
	// nowhere, or a number). Empty means global.
	Scope string
	// Peer is the remote end of a point-to-point address (peer).
	Peer netip.Prefix
	// PreferredLifetime is preferred_lft when PreferredLifetimeSet
	// (vrrp.LifetimeForever for "forever"). Unset: keepalived deprecates
	// IPv6 /128 addresses (vrpd: see vip.IPv6Source).
	PreferredLifetime    time.Duration
	PreferredLifetimeSet bool
	// NoPrefixRoute, Home, MngTmpAddr and AutoJoin are the flags of "ip
	// address add" (noprefixroute, home, mngtmpaddr, autojoin). -nodad is
	// what keepalived does with every IPv6 address anyway.
	NoPrefixRoute, Home, MngTmpAddr, AutoJoin bool
	// NoTrack: a deleted address is not put back until the next
	// transition to master (no_track).
	NoTrack bool
}

// Track is one entry of a track_interface, track_script, track_process or
// track_file block: `NAME [weight N [reverse|noreverse]]`, with the
// weight resolved from the tracked object when the entry gives none.
//
// It maps onto vrrp.TrackStatus: with Weight 0 the instance is in Fault
// while the object is down (up with Reverse); a positive Weight adds
// Weight to the priority while the object is up, a negative one adds
// Weight while it is down; Reverse swaps up and down in both rules. A
// track_file contributes its value × Weight instead (see TrackFile).
type Track struct {
	Name    string
	Weight  int
	Reverse bool
}

// Notify is an instance's or sync group's notify scripts (nil: none).
// notify_master, notify_backup, notify_fault and notify_stop run with the
// configured arguments only. Any (keepalived's plain "notify") runs on
// every transition with four more arguments, as keepalived calls it:
//
//	TYPE NAME STATE PRIORITY
//
// TYPE is INSTANCE or GROUP, NAME the instance's or group's name, STATE
// one of MASTER, BACKUP, FAULT, STOP (instances only), and PRIORITY the
// instance's effective priority (0 for a group) — see Command.NotifyArgs.
// keepalived runs the specific script first, then Any.
type Notify struct {
	Master *Command // notify_master
	Backup *Command // notify_backup
	Fault  *Command // notify_fault
	Stop   *Command // notify_stop
	Any    *Command // notify
	// MasterRxLowerPri runs when a master hears a lower priority
	// (notify_master_rx_lower_pri), with the configured arguments only.
	MasterRxLowerPri *Command
	// Deleted makes an instance deleted by a reload notify DELETED
	// instead of FAULT (notify_deleted), and DeletedScript, if given,
	// run first.
	Deleted       bool
	DeletedScript *Command
}

// SyncGroup is a vrrp_sync_group: instances that change state together.
type SyncGroup struct {
	Name string
	Pos  Pos
	// Members are the instance names (group { ... }), in order.
	Members []string
	// The group's own tracked objects apply to every member.
	TrackInterfaces []Track
	TrackScripts    []Track
	TrackProcesses  []Track
	TrackFiles      []Track
	Notify          Notify
	// TrackingWeight keeps the members' own tracking weights
	// (sync_group_tracking_weight, or the deprecated global_tracking).
	// Without it keepalived 2.2.7 drops weighted track_script and
	// track_file entries of members and zeroes their track_interface
	// weights; the members here already show the result.
	TrackingWeight bool
}

// Script is a vrrp_script: a command run periodically whose exit status
// (0 = up) is tracked.
type Script struct {
	Name string
	Pos  Pos
	// Command is script, with user USER [GROUP] in Command.User/Group.
	Command Command
	// Interval is the time between runs (interval, whole seconds).
	// Default 1 s.
	Interval time.Duration
	// Timeout is when a run counts as failed (timeout, whole seconds).
	// Default: Interval (keepalived's timeout 0).
	Timeout time.Duration
	// Weight and Reverse are the default for track_script entries
	// (weight N [reverse], -253..253). Default 0: down means Fault.
	Weight  int
	Reverse bool
	// Rise and Fall are the consecutive successes (failures) that turn the
	// script up (down). Defaults 1.
	Rise int
	Fall int
	// InitFail starts the script as failed rather than unknown (init_fail).
	InitFail bool
}

// ParamMatch says how vrrp_track_process matches a process's arguments.
type ParamMatch uint8

const (
	// MatchNone: arguments are not looked at (no parameters configured).
	MatchNone ParamMatch = iota
	// MatchExact: exactly the configured arguments (the default when any
	// are configured, or param_match without a value).
	MatchExact
	// MatchPartial: the first configured arguments match exactly, more may
	// follow (param_match partial).
	MatchPartial
	// MatchInitial: like partial, and the last configured argument may be
	// a prefix of the process's (param_match initial).
	MatchInitial
)

// String returns keepalived's spelling: none, exact, partial, initial.
func (m ParamMatch) String() string {
	switch m {
	case MatchNone:
		return "none"
	case MatchExact:
		return "exact"
	case MatchPartial:
		return "partial"
	case MatchInitial:
		return "initial"
	}
	return "ParamMatch(" + strconv.Itoa(int(m)) + ")"
}

// NoQuorumMax is TrackProcess.QuorumMax when there is no maximum.
const NoQuorumMax = -1

// TrackProcess is a vrrp_track_process: up while the number of matching
// processes is within [Quorum, QuorumMax].
type TrackProcess struct {
	Name string
	Pos  Pos
	// Process is the process name (matched against /proc/PID/comm) or,
	// with FullCommand, the command (argv[0] of /proc/PID/cmdline).
	Process string
	// Params are the arguments to match (process NAME ARGS...).
	Params     []string
	ParamMatch ParamMatch
	// Weight and Reverse are the default for track_process entries
	// (weight N [reverse], -254..254). Default 0 in keepalived 2.2.7
	// (its manual said 1).
	Weight  int
	Reverse bool
	// Quorum is the minimum number of processes (quorum). Default 1;
	// quorum_max 0 makes it 0 (up only while none runs).
	Quorum int
	// QuorumMax is the maximum (quorum_max), or NoQuorumMax (the default).
	QuorumMax int
	// ForkDelay waits after the quorum is reached before counting it up;
	// TerminateDelay waits after it is lost before counting it down
	// (fork_delay, terminate_delay, both set by delay; seconds with µs
	// resolution). Defaults 0.
	ForkDelay      time.Duration
	TerminateDelay time.Duration
	// FullCommand matches the command line rather than the process name
	// (full_command; implied by parameters or param_match).
	FullCommand bool
}

// TrackFile is a track_file: a file holding a number, read whenever it
// changes. A tracking instance adds value × weight to its priority (with
// weight 0: a non-zero value means Fault); a result below -253 means Fault.
type TrackFile struct {
	Name string
	Pos  Pos
	// Path is file.
	Path string
	// Weight and Reverse are the default for track_file entries (weight N
	// [reverse]). Default 1.
	Weight  int
	Reverse bool
	// Init writes InitValue to the file at startup if it does not exist,
	// or always with InitOverwrite (init_file [VALUE] [overwrite]).
	Init          bool
	InitValue     int
	InitOverwrite bool

	weightSet bool // weight was configured: keepalived's sync group and owner rules differ
}
