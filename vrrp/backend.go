package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Backend puts a router's virtual addresses on the host and takes them off.
// The vip package implements it (Linux addresses with gratuitous ARP and
// unsolicited neighbor advertisements, commands, Go funcs). Calls for one
// router come from one goroutine, in order, never concurrently, and never
// from the protocol loop: a slow backend delays the addresses, not the
// adverts.
//
// When a router stops being master while its Acquire or Announce runs, the
// call's context is cancelled with the cause ErrSuperseded (see
// context.Cause), so that a slow backend (a cloud API, a promotion) can
// give up at once; the Release comes next. At shutdown the context of
// Node.Run ends instead.
type Backend interface {
	// Acquire adds the addresses (idempotently) and starts announcing them
	// on the backend's schedule.
	Acquire(ctx context.Context, set AddressSet) error
	// Release stops announcing and removes the addresses (idempotently).
	// A router also calls it when it starts as a backup, before any
	// Acquire, to clear addresses a crashed predecessor left on the host.
	Release(ctx context.Context, set AddressSet) error
	// Announce re-announces the addresses now (a master that heard a lower
	// priority corrects the LAN's ARP and neighbor caches).
	Announce(ctx context.Context, set AddressSet) error
}

// ErrSuperseded is the cause (context.Cause) with which the context of a
// Backend's Acquire or Announce is cancelled when the router stops being
// master before the call returns.
var ErrSuperseded = errors.New("vrrp: superseded: the router is no longer master")

// AddressSet is one router's addresses and what a backend needs to know
// about the router that owns them.
type AddressSet struct {
	Router    string // the router's name (keepalived's instance name)
	VRID      int
	Interface string // the router's interface
	IPv6      bool   // the router's address family
	Priority  int    // effective priority when the call was made
	// Reason says why the call is made: for Acquire the reason the router
	// became master (ReasonMasterDown, ReasonPreempt, ReasonOwner, ...);
	// for Release why it stopped being master (ReasonHigherPriority,
	// ReasonFault, ReasonShutdown, ReasonResign, ...) or ReasonStartup
	// for the release of what a crashed predecessor may have left; for
	// Announce ReasonLowerPriority (a lower-priority master was heard).
	Reason Reason
	// VIPs are all the router's addresses, Excluded ones included, which
	// may be of the other family. Shared: a backend must not modify it.
	VIPs []VIP
	// NoAccept is RFC 5798 Accept_Mode false (keepalived's no_accept): a
	// backend that can should make the host drop packets addressed to the
	// VIPs while it holds them. Always false for the address owner
	// (priority 255), which accepts them (RFC 5798 §6.1).
	NoAccept bool
}

// VIP is one virtual address and where it goes.
type VIP struct {
	// Prefix is the address and its prefix length; a bare address is /32
	// or /128.
	Prefix netip.Prefix
	// Interface overrides the router's interface for this address
	// (keepalived's "dev"). Empty means the router's interface.
	Interface string
	// Label is the IPv4 address label (keepalived's "label"), optional.
	Label string
	// Excluded addresses are acquired and released with the others but not
	// listed in adverts (keepalived's virtual_ipaddress_excluded).
	Excluded bool
	// Options are how a Backend adds the address, beyond its prefix and
	// label. The zero value is the Backend's default.
	Options AddressOptions
}

// AddressOptions are keepalived's options of a virtual_ipaddress entry,
// with the meaning "ip address add" gives them. The vip package's Linux
// backend carries them out; other backends may ignore them.
type AddressOptions struct {
	// Broadcast is the IPv4 broadcast address (brd). Zero: none.
	Broadcast netip.Addr
	// Scope is the address scope, rtnetlink's numbering (scope): 0
	// global (the default), 200 site, 253 link, 254 host, 255 nowhere.
	// The kernel derives IPv6 scopes itself.
	Scope uint8
	// Peer makes a point-to-point address with this remote end (peer),
	// of the VIP's family. Zero: none.
	Peer netip.Prefix
	// PreferredLifetime, when PreferredLifetimeSet, is the address's
	// preferred lifetime (preferred_lft): 0 deprecates it at once, so that
	// the host never picks it as a source address; LifetimeForever
	// never; a positive duration (whole seconds) deprecates it after
	// that long. Unset: the Backend's default.
	PreferredLifetime    time.Duration
	PreferredLifetimeSet bool
	// NoPrefixRoute adds no route for the address's prefix
	// (noprefixroute).
	NoPrefixRoute bool
	// HomeAddress marks an IPv6 Mobile IPv6 home address (home).
	HomeAddress bool
	// ManageTempAddr makes the kernel derive temporary addresses from an
	// IPv6 prefix (mngtmpaddr).
	ManageTempAddr bool
	// AutoJoin joins a multicast address's group (autojoin).
	AutoJoin bool
	// NoRestore: the Backend does not put the address back when someone
	// else deletes it while it is held (keepalived's no_track); it
	// returns at the next acquisition.
	NoRestore bool
}

// LifetimeForever is an AddressOptions.PreferredLifetime that never ends.
const LifetimeForever time.Duration = -1
