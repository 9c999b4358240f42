//go:build linux

package vip

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/packet"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// LinuxConfig configures the Linux backend. A nil *LinuxConfig means all
// defaults.
type LinuxConfig struct {
	// Logger receives address changes (Debug), restored addresses (Info)
	// and failures that no call returns (Warn). Nil: no logging.
	Logger *zap.Logger

	// Clock times the announcements. Nil: vrrp.SystemClock.
	Clock vrrp.Clock

	// Schedule is the announcement schedule of routers acquired through
	// the backend itself (WithSchedule gives others their own). Nil:
	// DefaultSchedule(), keepalived's defaults.
	Schedule *Schedule

	// IPv6Source keeps IPv6 VIPs from being the host's source address.
	// Default IPv6SourceAvoid (every IPv6 VIP deprecated); keepalived's
	// behaviour is IPv6SourceKeepalived.
	IPv6Source IPv6Source

	// RouterFlag sets the neighbor advertisements' Router flag. Default
	// RouterFlagAuto: from the interface's IPv6 forwarding, as keepalived.
	RouterFlag RouterFlag

	// NoRestore turns off putting back a held address that someone else
	// deletes. Default false: deleted VIPs are restored and announced.
	NoRestore bool

	// NoAcceptTable names the nftables table (family inet) through which
	// the backend enforces AddressSet.NoAccept. Default "vrrpkit-PID-N",
	// one per backend. The backend owns it: a table of this name is
	// deleted when the backend opens (what a crashed run left) and when it
	// closes. A name that another running backend uses in the network
	// namespace makes NewLinux fail.
	NoAcceptTable string

	// NoAcceptFailOpen is the choice when the NoAccept drop rules cannot
	// be installed. Default false: Acquire adds none of the set's
	// addresses and returns ErrNoAcceptUnenforceable, so that the router
	// goes to FAULT and a backup takes over. True: the addresses are added
	// anyway and accept traffic, as keepalived's do; the failure is
	// logged at Warn.
	NoAcceptFailOpen bool
}

// tableSeq numbers the default NoAccept tables of one process.
var tableSeq atomic.Uint64

// Linux is the backend that puts VIPs on Linux interfaces: addresses added
// and removed through rtnetlink, announced with gratuitous ARP and
// unsolicited neighbor advertisements through one AF_PACKET socket,
// restored when someone else deletes them while they are held.
//
// It enforces AddressSet.NoAccept (RFC 5798 Accept_Mode false) as
// keepalived does, with firewall rules: while a set with NoAccept is held,
// an nftables table drops packets addressed to its VIPs, neighbor
// discovery excepted (see noAccept). The rules go in before the addresses
// and come out after them.
//
// It follows interfaces by index and by the kernel's link notifications:
// interfaces are resolved from a cache the notifications keep current (no
// netlink round trip per call), announcements go out with the interface's
// MAC address of the moment, an interface that comes up or changes its
// MAC address has its VIPs announced again, and when the interface a held
// VIP is configured on is deleted and created again (a new index), or
// renamed away and another takes its name, the VIP is put on the new one
// and announced there.
//
// It works in the network namespace of the thread that called NewLinux:
// its netlink and packet sockets are opened there, and every later lookup
// goes through them. One Linux serves any number of routers; calls for
// different routers may run concurrently.
type Linux struct {
	log        *zap.Logger
	clock      vrrp.Clock
	sched      Schedule
	ipv6Source IPv6Source
	routerFlag RouterFlag

	nl    *rtnetlink.Conn // requests
	addrQ *requester      // address requests
	watch *netlink.Conn   // address notifications; nil with NoRestore
	// addrs is the host's addresses, kept by watch's notifications; nil
	// with NoRestore.
	addrs *hostAddrs
	// removals counts the RTM_DELADDR requests made.
	removals atomic.Uint64
	// links is the host's interfaces, kept by linkWatch's notifications
	// while linksLive.
	links     *linkCache
	linkWatch *netlink.Conn
	linksLive atomic.Bool
	linkDone  chan struct{}
	nc        *netlink.Conn // netconf queries; nil unless RouterFlagAuto
	pkt       *packet.Conn  // unbound AF_PACKET socket for announcements
	raw       syscall.RawConn
	ann       *announcer
	frame     []byte // used only on the announcer's goroutine

	watchDone chan struct{}

	// na enforces NoAccept; nil, with naErr saying why, when nftables
	// cannot be opened. naWatch tells of deletions in its table.
	na         *noAccept
	naErr      error
	naFailOpen bool
	naWatch    *nftWatch
	naDone     chan struct{}

	mu     sync.Mutex
	sets   map[setKey]*heldSet
	byAddr map[addrKey]*heldSet
	closed bool
}

var _ vrrp.Backend = (*Linux)(nil)

// setKey names one router's address set.
type setKey struct {
	router string
	vrid   int
	ipv6   bool
}

func keyOf(set vrrp.AddressSet) setKey {
	return setKey{router: set.Router, vrid: set.VRID, ipv6: set.IPv6}
}

// addrKey finds the held set of an address the kernel reports deleted.
type addrKey struct {
	ifindex int
	addr    netip.Addr
}

// heldAddr is one address the backend added and keeps.
type heldAddr struct {
	prefix  netip.Prefix
	label   string
	ifname  string
	ifindex int
	opts    vrrp.AddressOptions
}

func (h heldAddr) same(o heldAddr) bool {
	return h.prefix == o.prefix && h.ifname == o.ifname
}

// heldSet is an acquired router's addresses and its announcements.
type heldSet struct {
	key      setKey
	owner    *owner
	addrs    []heldAddr
	filtered []netip.Addr // in the NoAccept drop rules
}

// NewLinux opens the backend's sockets in the calling thread's network
// namespace: two rtnetlink connections (requests, and address
// notifications unless cfg.NoRestore), a netlink connection for netconf
// queries (RouterFlagAuto only) and an AF_PACKET socket bound to no
// interface, which sends announcements on any interface and receives
// nothing; and an nftables connection for NoAccept, through which it
// deletes a NoAcceptTable left by an earlier run. It needs CAP_NET_ADMIN
// and CAP_NET_RAW.
func NewLinux(cfg LinuxConfig) (*Linux, error) {
	l := &Linux{
		log:        cfg.Logger,
		clock:      cfg.Clock,
		sched:      DefaultSchedule(),
		ipv6Source: cfg.IPv6Source,
		routerFlag: cfg.RouterFlag,
		frame:      make([]byte, 0, naLen),
		sets:       make(map[setKey]*heldSet),
		byAddr:     make(map[addrKey]*heldSet),
		links:      newLinkCache(),
	}
	if l.log == nil {
		l.log = zap.NewNop()
	}
	if l.clock == nil {
		l.clock = vrrp.SystemClock{}
	}
	if cfg.Schedule != nil {
		if err := cfg.Schedule.Validate(); err != nil {
			return nil, err
		}
		l.sched = *cfg.Schedule
	}
	if l.ipv6Source > IPv6SourceAllow {
		return nil, fmt.Errorf("vip: linux: invalid IPv6Source %v", l.ipv6Source)
	}
	if l.routerFlag > RouterFlagClear {
		return nil, fmt.Errorf("vip: linux: invalid RouterFlag %v", l.routerFlag)
	}

	var err error
	fail := func(op string, e error) (*Linux, error) {
		l.closeSockets()
		return nil, fmt.Errorf("vip: linux: %s: %w", op, e)
	}
	if l.nl, err = rtnetlink.Dial(nil); err != nil {
		return fail("open rtnetlink", err)
	}
	if l.addrQ, err = newRequester(); err != nil {
		return fail("open rtnetlink for address requests", err)
	}
	if err := l.openLinkWatch(); err != nil {
		l.log.Debug("interfaces are looked up at each call", zap.Error(err))
	}
	if !cfg.NoRestore {
		groups := uint32(unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR)
		if l.watch, err = dialNotifications(groups); err != nil {
			return fail("open rtnetlink address notifications", err)
		}
		rc, err := l.watch.SyscallConn()
		if err != nil {
			return fail("rtnetlink address notifications", err)
		}
		// Subscribed first, dumped second: a change between the two is
		// in the dump or in a notification the loop applies after it.
		l.addrs = newHostAddrs(rc)
		if msgs, err := l.nl.Address.List(); err != nil {
			l.log.Debug("addresses not held are removed without asking the host's", zap.Error(err))
		} else {
			l.addrs.reset(msgs)
		}
	}
	if l.routerFlag == RouterFlagAuto {
		if l.nc, err = netlink.Dial(unix.NETLINK_ROUTE, nil); err != nil {
			return fail("open netlink for netconf", err)
		}
	}
	// Protocol 0 and interface 0: the socket is hooked to no traffic, so
	// it never queues received frames; sendto names the interface.
	if l.pkt, err = packet.Listen(&net.Interface{}, packet.Raw, 0, nil); err != nil {
		return fail("open packet socket", err)
	}
	if l.raw, err = l.pkt.SyscallConn(); err != nil {
		return fail("packet socket", err)
	}

	table := cfg.NoAcceptTable
	if table == "" {
		table = fmt.Sprintf("%s%d-%d", tablePrefix, os.Getpid(), tableSeq.Add(1))
	}
	l.naFailOpen = cfg.NoAcceptFailOpen
	if l.na, err = newNoAccept(table); errors.Is(err, errTableInUse) {
		return fail("no_accept", err)
	} else if err != nil {
		l.naErr = err
		l.log.Debug("no_accept cannot be enforced", zap.Error(err))
	} else if l.naWatch, err = watchTable(table); err != nil {
		l.log.Debug("no_accept: a deleted table is rebuilt at the next acquisition only", zap.Error(err))
	}

	l.ann = newAnnouncer(l.clock, l.log, l.sendAnnouncement)
	if l.watch != nil {
		l.watchDone = make(chan struct{})
		go l.watchLoop()
	}
	if l.naWatch != nil {
		l.naDone = make(chan struct{})
		go l.noAcceptLoop()
	}
	if l.linksLive.Load() {
		l.linkDone = make(chan struct{})
		go l.linkLoop()
	}
	return l, nil
}

func (l *Linux) closeSockets() error {
	var errs []error
	if l.nl != nil {
		errs = append(errs, l.nl.Close())
	}
	if l.addrQ != nil {
		errs = append(errs, l.addrQ.Close())
	}
	if l.watch != nil {
		errs = append(errs, l.watch.Close())
	}
	if l.linkWatch != nil {
		errs = append(errs, l.linkWatch.Close())
	}
	if l.nc != nil {
		errs = append(errs, l.nc.Close())
	}
	if l.pkt != nil {
		errs = append(errs, l.pkt.Close())
	}
	return errors.Join(errs...)
}

// noAcceptLoop repairs the NoAccept table whenever someone else deletes
// part of it.
func (l *Linux) noAcceptLoop() {
	defer close(l.naDone)
	for l.naWatch.next() {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return
		}
		rebuilt, err := l.na.repair()
		l.mu.Unlock()
		switch {
		case err != nil:
			l.log.Error("no_accept: the drop rules were deleted and cannot be put back", zap.Error(err))
		case rebuilt:
			l.log.Warn("no_accept: the drop rules were deleted by someone else; rebuilt")
		}
	}
}

// Name is "linux", for Multi's errors.
func (l *Linux) Name() string { return "linux" }

// Acquire adds set's addresses (an address already there is updated in
// place, not an error), then starts announcing them on the backend's
// schedule. IPv6 addresses skip duplicate address detection
// (IFA_F_NODAD), as keepalived's. Addresses the router held before and no
// longer lists are removed. An address that cannot be added (missing
// interface, bad prefix, the kernel's refusal) is reported in the error as
// an *AddressError naming the address and the interface (FailedAddresses
// lists them); the others are still added, held and announced. Acquire
// may be called again for a set it holds, to retry: it adds what is
// missing and announces only that, the schedule of the rest going on.
// With NoAccept and no way to install the drop rules it adds nothing and
// returns ErrNoAcceptUnenforceable (see LinuxConfig.NoAcceptFailOpen).
func (l *Linux) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	return l.acquire(ctx, set, l.sched)
}

// Release stops set's announcements and removes its addresses, and any
// others the router held. An address or interface that is gone already is
// not an error. An address the router does not hold is removed only if the
// host may have it: a backup's Release, made at every start, costs no
// request when the address watch knows the host lacks its addresses.
func (l *Linux) Release(ctx context.Context, set vrrp.AddressSet) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("vip: release %s: %w", set.Router, net.ErrClosed)
	}
	var remove []heldAddr
	var filtered []netip.Addr
	if hs := l.sets[keyOf(set)]; hs != nil {
		l.dropLocked(hs)
		remove = append(remove, hs.addrs...)
		filtered = hs.filtered
	}
	var errs []error
	var unheld []heldAddr
	for _, v := range set.VIPs {
		ha, err := l.resolveLocked("remove", set, v)
		if errors.Is(err, unix.ENODEV) {
			continue // no interface, no address
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !containsAddr(remove, ha) && !containsAddr(unheld, ha) {
			unheld = append(unheld, ha)
		}
	}
	remove = append(remove, l.mayHaveLocked(unheld)...)
	for _, ha := range remove {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("vip: remove %s from %s: %w", ha.prefix, ha.ifname, err))
			continue
		}
		if err := l.removeLocked(ha); err != nil {
			errs = append(errs, err)
		}
	}
	// The drop rules come out after the addresses.
	if err := l.unholdFilterLocked(set.Router, filtered); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// holdFilterLocked puts addrs under router's NoAccept drop rules.
func (l *Linux) holdFilterLocked(router string, addrs []netip.Addr) error {
	if len(addrs) == 0 {
		return nil
	}
	if l.na == nil {
		return fmt.Errorf("vip: acquire %s: %w: %w", router, ErrNoAcceptUnenforceable, l.naErr)
	}
	if err := l.na.hold(addrs); err != nil {
		return fmt.Errorf("vip: acquire %s: %w: %w", router, ErrNoAcceptUnenforceable, err)
	}
	return nil
}

// unholdFilterLocked takes router's addrs out of the drop rules.
func (l *Linux) unholdFilterLocked(router string, addrs []netip.Addr) error {
	if len(addrs) == 0 || l.na == nil {
		return nil
	}
	if err := l.na.unhold(addrs); err != nil {
		return fmt.Errorf("vip: release %s: %w", router, err)
	}
	return nil
}

func addrsOf(has []heldAddr) []netip.Addr {
	out := make([]netip.Addr, 0, len(has))
	for _, ha := range has {
		if a := ha.prefix.Addr(); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Announce re-announces the held addresses at once, on the schedule's
// lower-priority settings (LowerPrioRepeat now, again after
// LowerPrioDelay): a master that heard a lower priority corrects the LAN.
func (l *Linux) Announce(ctx context.Context, set vrrp.AddressSet) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vip: announce %s: %w", set.Router, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("vip: announce %s: %w", set.Router, net.ErrClosed)
	}
	hs := l.sets[keyOf(set)]
	if hs == nil {
		return fmt.Errorf("vip: announce %s: its addresses are not acquired", set.Router)
	}
	// Interfaces may have changed address since Acquire.
	ts, err := l.targetsLocked(hs.addrs)
	l.ann.setTargets(hs.owner, ts)
	l.ann.lowerPrio(hs.owner)
	return err
}

// WithSchedule returns a backend that shares l's sockets, addresses and
// pacing but announces on its own schedule: keepalived's garp_* settings
// per vrrp_instance.
func (l *Linux) WithSchedule(s Schedule) (vrrp.Backend, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &scheduled{l: l, sched: s}, nil
}

type scheduled struct {
	l     *Linux
	sched Schedule
}

func (s *scheduled) Name() string { return "linux" }
func (s *scheduled) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	return s.l.acquire(ctx, set, s.sched)
}
func (s *scheduled) Release(ctx context.Context, set vrrp.AddressSet) error {
	return s.l.Release(ctx, set)
}
func (s *scheduled) Announce(ctx context.Context, set vrrp.AddressSet) error {
	return s.l.Announce(ctx, set)
}

// Close stops every announcement and the restore watcher, removes every
// address still held, and closes the sockets. Later calls fail with
// net.ErrClosed; Close itself may be called again.
func (l *Linux) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()

	// The watchers may be waiting for l.mu: stop them with the lock free.
	if l.watch != nil {
		_ = l.watch.Close()
		<-l.watchDone
		l.watch = nil
	}
	if l.naWatch != nil {
		_ = l.naWatch.close()
		<-l.naDone
		l.naWatch = nil
	}
	if l.linkDone != nil {
		_ = l.linkWatch.Close()
		<-l.linkDone
		l.linkWatch = nil
	}
	l.ann.close()

	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, hs := range l.sets {
		for _, ha := range hs.addrs {
			if err := l.removeLocked(ha); err != nil {
				errs = append(errs, err)
			}
		}
		l.log.Debug("released on close", zap.String("router", hs.key.router))
	}
	l.sets, l.byAddr = nil, nil
	if l.na != nil {
		errs = append(errs, l.na.close())
	}
	errs = append(errs, l.closeSockets())
	return errors.Join(errs...)
}

func (l *Linux) acquire(ctx context.Context, set vrrp.AddressSet, sched Schedule) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vip: acquire %s: %w", set.Router, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("vip: acquire %s: %w", set.Router, net.ErrClosed)
	}

	var errs []error
	var wanted, added []heldAddr
	for _, v := range set.VIPs {
		ha, err := l.resolveLocked("add", set, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		wanted = append(wanted, ha)
	}
	// The drop rules go in first, so that the host never accepts a packet
	// to an address it holds. Without them no address is added (unless
	// NoAcceptFailOpen): the router faults and a backup, which can
	// enforce no_accept or runs in accept mode, takes over.
	var filtered []netip.Addr
	if set.NoAccept {
		filtered = addrsOf(wanted)
		if err := l.holdFilterLocked(set.Router, filtered); err != nil {
			if !l.naFailOpen {
				return errors.Join(append(errs, err)...)
			}
			l.log.Warn("no_accept cannot be enforced: the addresses accept traffic (NoAcceptFailOpen)",
				zap.String("router", set.Router), zap.Error(err))
			filtered = nil
		}
	}
	for _, ha := range wanted {
		if err := ctx.Err(); err != nil {
			errs = append(errs, &AddressError{Op: "add", Prefix: ha.prefix, Interface: ha.ifname, Err: err})
			continue
		}
		err := addAddress(l.addrQ, l.request(ha), true)
		if errors.Is(err, unix.ENODEV) {
			// The interface was re-created a moment ago and its
			// notification is not read yet: ask the kernel.
			if li, lerr := linkByName(l.nl, ha.ifname); lerr == nil && li.index != ha.ifindex {
				l.links.update(li)
				ha.ifindex = li.index
				err = addAddress(l.addrQ, l.request(ha), true)
			}
		}
		if err != nil {
			errs = append(errs, &AddressError{Op: "add", Prefix: ha.prefix, Interface: ha.ifname, Err: err})
			continue
		}
		l.log.Debug("address added", zap.String("router", set.Router),
			zap.Stringer("address", ha.prefix), zap.String("interface", ha.ifname))
		added = append(added, ha)
	}

	// Acquire again while held (a retry after some addresses failed, or a
	// new address list): the announcement schedule goes on, and only the
	// addresses it did not hold are announced now.
	old := l.sets[keyOf(set)]
	var fresh []heldAddr
	if old != nil {
		l.forgetLocked(old)
		for _, ha := range old.addrs {
			if !containsAddr(wanted, ha) {
				if err := l.removeLocked(ha); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if err := l.unholdFilterLocked(set.Router, old.filtered); err != nil {
			errs = append(errs, err)
		}
		for _, ha := range added {
			if !containsAddr(old.addrs, ha) {
				fresh = append(fresh, ha)
			}
		}
	}

	hs := &heldSet{key: keyOf(set), addrs: added, filtered: filtered}
	ts, err := l.targetsLocked(added)
	if err != nil {
		errs = append(errs, err)
	}
	l.sets[hs.key] = hs
	for _, ha := range added {
		l.byAddr[addrKey{ifindex: ha.ifindex, addr: ha.prefix.Addr()}] = hs
	}
	if old != nil && old.owner.sched == sched {
		hs.owner = old.owner
		l.ann.setTargets(hs.owner, ts)
		fts, _ := l.targetsLocked(fresh)
		l.ann.some(hs.owner, fts)
	} else {
		if old != nil {
			l.ann.stop(old.owner)
		}
		hs.owner = &owner{name: set.Router, sched: sched, targets: ts}
		l.ann.start(hs.owner)
	}
	return errors.Join(errs...)
}

// forgetLocked removes hs from the backend's books (the watcher no longer
// restores its addresses); its announcements and addresses stay.
func (l *Linux) forgetLocked(hs *heldSet) {
	delete(l.sets, hs.key)
	for _, ha := range hs.addrs {
		k := addrKey{ifindex: ha.ifindex, addr: ha.prefix.Addr()}
		if l.byAddr[k] == hs {
			delete(l.byAddr, k)
		}
	}
}

// dropLocked forgets hs: its announcements stop and the watcher no longer
// restores its addresses. The addresses stay where they are.
func (l *Linux) dropLocked(hs *heldSet) {
	l.ann.stop(hs.owner)
	l.forgetLocked(hs)
}

// mayHaveLocked is those of has that may be on the host: all of them
// unless l.addrs knows that some are not.
func (l *Linux) mayHaveLocked(has []heldAddr) []heldAddr {
	if l.addrs == nil || len(has) == 0 {
		return has
	}
	ps := make([]presentAddr, len(has))
	for i, ha := range has {
		ps[i] = l.presentOf(ha)
	}
	absent := l.addrs.absent(ps)
	out := has[:0]
	for i, ha := range has {
		if !absent[i] {
			out = append(out, ha)
		}
	}
	return out
}

// presentOf is ha as the host's address notifications name it.
func (l *Linux) presentOf(ha heldAddr) presentAddr {
	return presentAddr{ha.ifindex, ha.prefix.Addr(), l.request(ha).bits()}
}

func (l *Linux) removeLocked(ha heldAddr) error {
	l.removals.Add(1)
	if err := delAddress(l.addrQ, l.request(ha)); err != nil {
		return &AddressError{Op: "remove", Prefix: ha.prefix, Interface: ha.ifname, Err: err}
	}
	l.log.Debug("address removed", zap.Stringer("address", ha.prefix), zap.String("interface", ha.ifname))
	return nil
}

// resolveLocked checks one VIP and finds its interface. op is "add" or
// "remove", for the error.
func (l *Linux) resolveLocked(op string, set vrrp.AddressSet, v vrrp.VIP) (heldAddr, error) {
	ifname := v.Interface
	if ifname == "" {
		ifname = set.Interface
	}
	fail := func(err error) (heldAddr, error) {
		return heldAddr{}, &AddressError{Op: op, Prefix: v.Prefix, Interface: ifname, Err: err}
	}
	addr := v.Prefix.Addr()
	switch {
	case !v.Prefix.IsValid():
		return fail(errors.New("invalid prefix"))
	case addr.Is4In6():
		return fail(errors.New("IPv4-mapped IPv6 address: give the IPv4 address"))
	case addr.IsUnspecified() || addr.IsMulticast():
		return fail(errors.New("not a unicast address"))
	case ifname == "":
		return fail(errors.New("no interface named"))
	case addr.Is4() && len(v.Label) > unix.IFNAMSIZ-1:
		return fail(fmt.Errorf("label %q longer than %d bytes", v.Label, unix.IFNAMSIZ-1))
	}
	li, err := l.link(ifname)
	if err != nil {
		return fail(err)
	}
	ha := heldAddr{prefix: v.Prefix, ifname: ifname, ifindex: li.index, opts: v.Options}
	if addr.Is4() {
		ha.label = v.Label // IPv6 has no labels; keepalived ignores them too
	}
	return ha, nil
}

func (l *Linux) request(ha heldAddr) addrRequest {
	o := ha.opts
	r := addrRequest{prefix: ha.prefix, ifindex: ha.ifindex, label: ha.label, scope: o.Scope,
		peer: o.Peer, broadcast: o.Broadcast}
	if o.NoPrefixRoute {
		r.flags |= unix.IFA_F_NOPREFIXROUTE
	}
	if o.AutoJoin {
		r.flags |= unix.IFA_F_MCAUTOJOIN
	}
	if ha.prefix.Addr().Is6() {
		r.flags |= unix.IFA_F_NODAD
		if o.HomeAddress {
			r.flags |= unix.IFA_F_HOMEADDRESS
		}
		if o.ManageTempAddr {
			r.flags |= unix.IFA_F_MANAGETEMPADDR
		}
		r.lifetime = l.ipv6Source.deprecate(ha.prefix.Bits())
	}
	if o.PreferredLifetimeSet {
		r.lifetime = true
		switch p := o.PreferredLifetime; {
		case p == vrrp.LifetimeForever:
			r.preferredLf = infinityLifetime
		default:
			r.preferredLf = uint32(p / time.Second)
		}
	}
	return r
}

// targetsLocked is what to announce for addrs, skipping interfaces that
// take no announcements (NOARP, loopback, not Ethernet).
func (l *Linux) targetsLocked(addrs []heldAddr) ([]target, error) {
	var errs []error
	forwarding := make(map[int]bool)
	var ts []target
	for _, ha := range addrs {
		li, err := l.linkAt(ha.ifindex, ha.ifname)
		if err != nil {
			errs = append(errs, &AddressError{Op: "announce", Prefix: ha.prefix, Interface: ha.ifname, Err: err})
			continue
		}
		if !li.canAnnounce() {
			l.log.Debug("not announcing: the interface takes no ARP / neighbor discovery",
				zap.Stringer("address", ha.prefix), zap.String("interface", ha.ifname))
			continue
		}
		t := target{addr: ha.prefix.Addr(), ifname: ha.ifname, ifindex: li.index, mac: li.mac}
		if t.addr.Is6() {
			t.router = l.routerFlagFor(li.index, forwarding)
		}
		ts = append(ts, t)
	}
	return ts, errors.Join(errs...)
}

func (l *Linux) routerFlagFor(ifindex int, cache map[int]bool) bool {
	switch l.routerFlag {
	case RouterFlagSet:
		return true
	case RouterFlagClear:
		return false
	}
	if f, ok := cache[ifindex]; ok {
		return f
	}
	f, err := ipv6Forwarding(l.nc, ifindex)
	if err != nil {
		l.log.Debug("reading IPv6 forwarding failed; Router flag clear", zap.Int("ifindex", ifindex), zap.Error(err))
	}
	cache[ifindex] = f
	return f
}

// sendAnnouncement sends one gratuitous ARP or neighbor advertisement. It
// runs on the announcer's goroutine only (l.frame is its buffer).
func (l *Linux) sendAnnouncement(t target) error {
	// The interface's MAC address now, not when the schedule began.
	mac := t.mac
	if l.linksLive.Load() {
		li, ok := l.links.index(t.ifindex)
		if !ok {
			return fmt.Errorf("vip: announce %s on %s: the interface is gone", t.addr, t.ifname)
		}
		if !li.canAnnounce() {
			return nil
		}
		mac = li.mac
	}
	var proto uint16
	var dst net.HardwareAddr
	if t.addr.Is4() {
		l.frame = appendGratuitousARP(l.frame[:0], mac, t.addr)
		proto, dst = etherTypeARP, ethBroadcast
	} else {
		l.frame = appendUnsolicitedNA(l.frame[:0], mac, t.addr, t.router)
		proto, dst = etherTypeIPv6, ethAllNodes
	}
	sa := &unix.SockaddrLinklayer{
		Protocol: htons(proto),
		Ifindex:  t.ifindex,
		Halen:    6,
	}
	copy(sa.Addr[:], dst)
	var serr error
	err := l.raw.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), l.frame, 0, sa)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("vip: announce %s on %s: %w", t.addr, t.ifname, err)
	}
	return nil
}

// htons puts v in network byte order in memory, as packet(7) wants
// sll_protocol.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

func containsAddr(list []heldAddr, ha heldAddr) bool {
	for _, x := range list {
		if x.same(ha) {
			return true
		}
	}
	return false
}
