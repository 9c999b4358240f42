package vrrp

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

const (
	// DefaultPriority is a backup's priority when none is configured
	// (keepalived's default; RFC 5798 §5.2.4).
	DefaultPriority = 100
	// OwnerPriority is the address owner's priority: it becomes master at
	// once and always preempts (RFC 5798 §5.2.4).
	OwnerPriority = 255
	// DefaultInterval is the default Advertisement_Interval (RFC 5798 §5.2.7).
	DefaultInterval = time.Second
	// MaxPreemptDelay is keepalived's upper bound for preempt_delay.
	MaxPreemptDelay = 1000 * time.Second

	maxIntervalV3 = 4095 * 10 * time.Millisecond
	maxIntervalV2 = 255 * time.Second
)

// Config is one virtual router. The zero value of each optional field is
// its default; Validate says what is wrong, naming the field.
type Config struct {
	// Name identifies the router in logs and events: keepalived's
	// vrrp_instance name, e.g. "VI_1". Default: "<Interface>/<VRID>", with
	// "/v6" appended for IPv6.
	Name string

	// VRID is the virtual router identifier, 1..255 (RFC 5798 §5.2.3;
	// keepalived's virtual_router_id). Required. Unique per interface and
	// address family within a Node.
	VRID int

	// Interface is the network interface the router runs on (keepalived's
	// interface). Required.
	Interface string

	// IPv6 selects the address family: IPv6 adverts go from the
	// interface's link-local address to ff02::12 (RFC 5798 §5.1.2).
	// Default: IPv4. VIPs, UnicastSrc and Peers must be of this family,
	// except Excluded VIPs, which may be of either (keepalived's
	// dual-stack virtual_ipaddress_excluded).
	IPv6 bool

	// Version is the VRRP version: 3 (RFC 5798 / RFC 9568, default) or 2
	// (RFC 3768, IPv4 only). keepalived's version / vrrp_version.
	Version int

	// Priority is the base priority, 1..255; 255 means this host owns the
	// addresses and becomes master at once (RFC 5798 §5.2.4; keepalived's
	// priority). Default: 100. Tracked objects move the effective
	// priority within 1..254; an owner stays at 255.
	Priority int

	// Interval is the Advertisement_Interval (RFC 5798 §5.2.7;
	// keepalived's advert_int). Default: 1 s. VRRPv2: whole seconds,
	// 1 s..255 s. VRRPv3: multiples of 10 ms, 10 ms..40.95 s.
	Interval time.Duration

	// NoPreempt turns preemption off (RFC 5798 Preempt_Mode false;
	// keepalived's nopreempt): a backup with a higher priority does not
	// take over from a running master. Default: preempt. Not allowed for
	// an owner (priority 255), which always preempts.
	NoPreempt bool

	// PreemptDelay delays preemption (keepalived's preempt_delay, 0..1000
	// s): after startup, or after first hearing a lower-priority master, a
	// backup keeps accepting that master's adverts for this long before it
	// preempts. Default: 0 (preempt at once). Not allowed with NoPreempt.
	PreemptDelay time.Duration

	// StartAsMaster makes a router that is not the owner take over sooner
	// at startup when no master is heard: it still starts as Backup, but
	// its first wait is one Interval plus the minimum Skew_Time instead of
	// Master_Down_Interval (what keepalived's source does for "state
	// MASTER" in vrrp_init_state; keepalived 2.2.7 was measured in the lab
	// to wait the full Master_Down_Interval, so the keepalived.conf daemon
	// leaves it off). Default: false.
	StartAsMaster bool

	// NoAccept turns Accept_Mode off (RFC 5798 §6.1; keepalived's
	// no_accept): a non-owner master should not accept packets addressed
	// to the VIPs. Default: accept (keepalived's default outside strict
	// mode). Passed to the Backend in AddressSet.NoAccept, except for the
	// owner (priority 255), which always accepts.
	NoAccept bool

	// VIPs are the virtual addresses (keepalived's virtual_ipaddress and
	// virtual_ipaddress_excluded). Adverts list the ones not Excluded, at
	// most 255. Excluded addresses may be of the other family; the Backend
	// gets them in the router's AddressSet. Add copies the slice.
	//
	// None at all is allowed, for addresses that the Backend moves by
	// other means (a cloud API): adverts then list no address (count 0,
	// as keepalived sends them with no_virtual_ipaddress, although RFC
	// 5798 §5.2.5 asks for at least one), a received advert must list none
	// either, and the Backend is called as usual, with an empty VIPs.
	VIPs []VIP

	// UnicastSrc is the source address of our adverts (keepalived's
	// unicast_src_ip, or mcast_src_ip without Peers). Default: the
	// Transport's LocalAddr (the interface's primary IPv4 address or IPv6
	// link-local address).
	UnicastSrc netip.Addr

	// Peers, when not empty, makes adverts go by unicast to each of them
	// instead of to the multicast group (keepalived's unicast_peer).
	// Default: multicast. In unicast mode an advert is taken only from one
	// of Peers (see AcceptAnySource), and its TTL / hop limit is checked
	// only where PeerHopLimits says: a peer may be routers away, and
	// keepalived sends IPv6 unicast adverts with hop limit 64. Add copies
	// the slice.
	Peers []netip.Addr

	// AcceptAnySource takes unicast adverts from any source, not only from
	// Peers: keepalived's behaviour without vrrp_check_unicast_src.
	// WARNING: anyone who can route IP protocol 112 to this host can then
	// move its addresses with one forged advert, from off-link too, since
	// unicast adverts carry no TTL check. Requires Peers. Default: off.
	AcceptAnySource bool

	// PeerHopLimits bounds the TTL / hop limit of unicast adverts from
	// some of Peers (keepalived's min_ttl and max_ttl in unicast_peer): an
	// advert outside its peer's bounds is dropped (DropTTL). A peer on the
	// same link sends 255 (keepalived 64 over IPv6). Default: no bounds.
	// Add copies the slice.
	PeerHopLimits []PeerHopLimit

	// Group overrides the multicast group (keepalived's vrrp_mcast_group4 /
	// vrrp_mcast_group6). Default: 224.0.0.18 or ff02::12 (RFC 5798 §5.1).
	Group netip.Addr

	// AuthType is VRRPv2 authentication (RFC 2338 §5.3.6, keepalived's
	// auth_type): advert.AuthNone (default), advert.AuthPass, or
	// advert.AuthAH (IPsec AH with HMAC-MD5-96, keepalived's format).
	// VRRPv2 over IPv4 only.
	AuthType advert.AuthType

	// AuthPass is the password for AuthPass or AuthAH (keepalived's
	// auth_pass): auth.NewPassword takes 1..8 bytes, auth.KeepalivedPassword
	// truncates longer ones as keepalived does. It never prints (logs,
	// %v of a Config, errors show "redacted").
	AuthPass auth.Password

	// HMAC signs and verifies adverts with keepalived 2.4's auth_hmac
	// (draft-cassen-vrrp-auth-hmac): a trailer after the message with an
	// HMAC-SHA256-128, a key id and a time-based sequence against replay.
	// VRRPv2 and v3, IPv4 and IPv6, multicast and unicast. Its Interval is
	// ignored: the router's is used for the default freshness window. Not
	// with AuthType. Default: none (adverts unsigned, and a signed one is
	// dropped for its length). Keys never print; Router.SetHMAC changes it
	// on a running router. Add copies it.
	HMAC *auth.HMACConfig

	// Checksum is how our adverts' checksum is computed:
	// advert.ChecksumStandard (default; RFC 5798 §5.2.8, with the
	// pseudo-header for v3) or advert.ChecksumNoPseudoHeader (keepalived's
	// v3_checksum_as_v2, VRRPv3 over IPv4 only). Received adverts are
	// checked the same way unless AcceptEitherChecksum.
	Checksum advert.ChecksumMode

	// AcceptEitherChecksum accepts received VRRPv3 IPv4 adverts whose
	// checksum is computed either way. Default: only Checksum's way.
	AcceptEitherChecksum bool

	// LowerPriorityNoAdvert: as master, do not answer a lower-priority
	// advert with an advert of our own (keepalived's lower_prio_no_advert).
	// Default: answer at once, so that a stray master backs off. The
	// addresses are re-announced either way.
	LowerPriorityNoAdvert bool

	// IgnoreLinkDown keeps the router out of Fault when its interface goes
	// down (keepalived's dont_track_primary, for cross-connected links):
	// it stays in its state, and a master's adverts fail to send until the
	// link returns. Default: the interface going down is a Fault (RFC 5798
	// leaves interface tracking to the implementation).
	IgnoreLinkDown bool

	// AcquireTimeout bounds how long a master may be unable to acquire its
	// addresses: a Backend's Acquire that fails is retried (100 ms,
	// doubling up to 2 s) and, once it has failed for this long, the router
	// goes to Fault — a priority-0 advert hands over to a backup — for as
	// long again before it takes part again. Default: 10 s.
	AcquireTimeout time.Duration

	// Backend adds, removes and announces the VIPs. Default: none (the
	// router only runs the protocol; events tell the program).
	Backend Backend

	// SyncGroup names the router's sync group within its Node
	// (keepalived's vrrp_sync_group): the members change state together —
	// if one goes to Fault or Backup the others follow, and they become
	// master together. Default: none.
	SyncGroup string

	// Tracks are the tracked objects' statuses when the router is added
	// (keepalived's track_script, track_interface, ... as known at
	// startup): the Node sets them before it starts the router, so that a
	// router whose object is already down starts at the lowered priority,
	// or in Fault (keepalived's init_fail), instead of starting and
	// changing a moment later. Router.Track changes them afterwards. Names
	// must be unique. Default: none. Add copies the slice.
	Tracks []TrackStatus

	// Behaviour beyond the RFCs that keepalived offers. Validated by
	// validateExtensions.

	// HigherPriorityAdvert: a master that hears a higher priority sends
	// one advert of its own (at its own, lower, priority) before it steps
	// down (keepalived's higher_prio_send_advert). The new master takes it
	// for a lower-priority advert and re-announces its addresses: after
	// two masters ran at once (a healed partition), the last gratuitous
	// ARPs the LAN heard may have been ours. Default: step down without a
	// word (RFC 5798 §6.4.3).
	HigherPriorityAdvert bool

	// LowerPriorityEvents makes a master that hears a lower priority
	// tell the program with an EventLowerPriority, each time (keepalived's
	// notify_master_rx_lower_pri). Default: off, as such adverts can come
	// every interval while two masters run, and would crowd the other
	// events out of a slow consumer's queue.
	LowerPriorityEvents bool

	// DiscardEvents says the program never reads Events: the router keeps
	// no event buffer (NodeConfig.EventBuffer events, about 2 KB at the
	// default) and Events returns a closed channel. For programs that run
	// many routers and watch them through State, Stats and their backends.
	DiscardEvents bool
}

// PeerHopLimit is the range of TTL / hop limit accepted from one unicast
// peer.
type PeerHopLimit struct {
	Peer     netip.Addr
	Min, Max int // 0..255; Max 0 means 255
}

// ConfigError says which field of which router's Config is wrong.
type ConfigError struct {
	Router string // Config.Name (or its default)
	Field  string // e.g. "Interval", "VIPs[2]"
	Err    error
}

func (e *ConfigError) Error() string {
	return "vrrp: config " + e.Router + ": " + e.Field + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// withDefaults returns c with every unset optional field at its default.
func (c Config) withDefaults() Config {
	if c.Version == 0 {
		c.Version = 3
	}
	if c.Priority == 0 {
		c.Priority = DefaultPriority
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.AcquireTimeout == 0 {
		c.AcquireTimeout = 10 * time.Second
	}
	if c.Name == "" {
		c.Name = c.Interface + "/" + strconv.Itoa(int(c.VRID))
		if c.IPv6 {
			c.Name += "/v6"
		}
	}
	return c
}

// Validate reports the first problem in c (with defaults applied) as a
// *ConfigError, or nil.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Router: c.Name, Field: field, Err: fmt.Errorf(format, args...)}
	}
	family := func(a netip.Addr) bool {
		if c.IPv6 {
			return a.Is6() && !a.Is4In6()
		}
		return a.Is4()
	}
	fam := "IPv4"
	if c.IPv6 {
		fam = "IPv6"
	}
	if c.VRID < 1 || c.VRID > 255 {
		return bad("VRID", "must be 1..255, got %d", c.VRID)
	}
	if c.Priority < 0 || c.Priority > OwnerPriority {
		return bad("Priority", "must be 1..255 (0: the default, %d), got %d", DefaultPriority, c.Priority)
	}
	if c.Interface == "" {
		return bad("Interface", "required")
	}
	switch c.Version {
	case 2:
		if c.IPv6 {
			return bad("Version", "VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6")
		}
		if c.Interval%time.Second != 0 || c.Interval < time.Second || c.Interval > maxIntervalV2 {
			return bad("Interval", "VRRPv2 needs whole seconds, 1s..255s (RFC 3768 §5.3.7), got %v", c.Interval)
		}
	case 3:
		if c.Interval%(10*time.Millisecond) != 0 || c.Interval < 10*time.Millisecond || c.Interval > maxIntervalV3 {
			return bad("Interval", "VRRPv3 needs multiples of 10ms, 10ms..40.95s (RFC 5798 §5.2.7), got %v", c.Interval)
		}
	default:
		return bad("Version", "must be 2 or 3, got %d", c.Version)
	}
	if c.AcquireTimeout < 0 {
		return bad("AcquireTimeout", "must not be negative, got %v", c.AcquireTimeout)
	}
	if c.NoPreempt && c.Priority == OwnerPriority {
		return bad("NoPreempt", "an address owner (priority 255) always preempts")
	}
	if c.PreemptDelay < 0 || c.PreemptDelay > MaxPreemptDelay {
		return bad("PreemptDelay", "must be 0..1000s, got %v", c.PreemptDelay)
	}
	if c.PreemptDelay > 0 && c.NoPreempt {
		return bad("PreemptDelay", "has no effect with NoPreempt")
	}
	listed := 0
	seen := make(map[netip.Addr]bool, len(c.VIPs))
	for i, v := range c.VIPs {
		field := "VIPs[" + strconv.Itoa(i) + "]"
		if !v.Prefix.IsValid() {
			return bad(field, "invalid prefix")
		}
		if a := v.Prefix.Addr(); !family(a) && (!v.Excluded || a.Is4In6()) {
			return bad(field, "%v is not %s", v.Prefix, fam)
		}
		if seen[v.Prefix.Addr()] {
			return bad(field, "%v listed twice", v.Prefix.Addr())
		}
		seen[v.Prefix.Addr()] = true
		if !v.Excluded {
			listed++
		}
	}
	if listed > 255 {
		return bad("VIPs", "an advert lists at most 255 addresses, %d are not Excluded", listed)
	}
	if c.UnicastSrc.IsValid() && !family(c.UnicastSrc) {
		return bad("UnicastSrc", "%v is not %s", c.UnicastSrc, fam)
	}
	peers := make(map[netip.Addr]bool, len(c.Peers))
	for i, p := range c.Peers {
		field := "Peers[" + strconv.Itoa(i) + "]"
		if !p.IsValid() || !family(p) {
			return bad(field, "%v is not an %s address", p, fam)
		}
		if p.IsMulticast() {
			return bad(field, "%v is multicast", p)
		}
		if peers[p] {
			return bad(field, "%v listed twice", p)
		}
		peers[p] = true
	}
	if c.AcceptAnySource && len(c.Peers) == 0 {
		return bad("AcceptAnySource", "requires Peers")
	}
	for i, h := range c.PeerHopLimits {
		field := "PeerHopLimits[" + strconv.Itoa(i) + "]"
		max := h.Max
		if max == 0 {
			max = 255
		}
		switch {
		case !peers[h.Peer]:
			return bad(field, "%v is not one of Peers", h.Peer)
		case h.Min < 0 || h.Min > 255 || max < 1 || max > 255 || h.Min > max:
			return bad(field, "bounds %d..%d are not within 0..255", h.Min, h.Max)
		}
	}
	if c.Group.IsValid() && (!family(c.Group) || !c.Group.IsMulticast()) {
		return bad("Group", "%v is not an %s multicast address", c.Group, fam)
	}
	switch c.AuthType {
	case advert.AuthNone:
		if !c.AuthPass.IsZero() {
			return bad("AuthPass", "set without AuthType")
		}
	case advert.AuthPass, advert.AuthAH:
		if c.Version != 2 {
			return bad("AuthType", "VRRPv3 has no authentication (RFC 5798 §9); use version 2")
		}
		if c.AuthPass.IsZero() {
			return bad("AuthPass", "no password for auth type %v", c.AuthType)
		}
	default:
		return bad("AuthType", "unknown type %d", c.AuthType)
	}
	if err := c.validateHMAC(bad); err != nil {
		return err
	}
	tracked := make(map[string]bool, len(c.Tracks))
	for i, t := range c.Tracks {
		field := "Tracks[" + strconv.Itoa(i) + "]"
		if t.Name == "" {
			return bad(field, "no name")
		}
		if tracked[t.Name] {
			return bad(field, "%q listed twice", t.Name)
		}
		tracked[t.Name] = true
	}
	switch c.Checksum {
	case advert.ChecksumStandard:
	case advert.ChecksumNoPseudoHeader:
		if c.IPv6 {
			return bad("Checksum", "IPv6 always uses the pseudo-header (RFC 5798 §5.2.8)")
		}
	default:
		return bad("Checksum", "must be ChecksumStandard or ChecksumNoPseudoHeader")
	}
	return c.validateExtensions(bad)
}

// advertAddrs returns the addresses listed in adverts.
func (c *Config) advertAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(c.VIPs))
	for _, v := range c.VIPs {
		if !v.Excluded {
			out = append(out, v.Prefix.Addr())
		}
	}
	return out
}

func (c *Config) machineConfig() MachineConfig {
	return MachineConfig{
		Version:               uint8(c.Version),
		Priority:              uint8(c.Priority),
		Interval:              c.Interval,
		NoPreempt:             c.NoPreempt,
		PreemptDelay:          c.PreemptDelay,
		StartAsMaster:         c.StartAsMaster,
		LowerPriorityNoAdvert: c.LowerPriorityNoAdvert,
		HigherPriorityAdvert:  c.HigherPriorityAdvert,
		HoldMaster:            c.SyncGroup != "",
	}
}
