package vip

import (
	"errors"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// watchLoop reads the kernel's address notifications, keeps l.addrs (the
// host's addresses) by them, and puts back a held address that someone
// else deleted. It is event-driven: nothing is polled; the kernel tells us
// (RTM_NEWADDR and RTM_DELADDR on RTNLGRP_IPV4_IFADDR /
// RTNLGRP_IPV6_IFADDR). It reads the socket itself, non-blocking, so that
// it applies what it read before it lets go of l.addrs's lock (see
// hostAddrs).
func (l *Linux) watchLoop() {
	defer close(l.watchDone)
	defer l.addrs.end()
	buf := make([]byte, hostAddrsBuffer)
	for {
		var r drainResult
		err := l.addrs.raw.Read(func(fd uintptr) bool {
			r = l.addrs.drain(int(fd), buf)
			return r.read
		})
		if err == nil {
			err = r.err
		}
		for _, p := range r.deleted {
			l.restore(p.ifindex, p.addr, p.bits)
		}
		if err != nil {
			if !l.isClosed() {
				l.log.Error("reading address notifications failed; deleted addresses are no longer restored", zap.Error(err))
			}
			return
		}
		if r.lost || l.addrs.stale() {
			// The kernel dropped notifications: we cannot know what
			// was deleted, so check every held address.
			l.log.Warn("address notifications overflowed; checking every held address")
			l.resync()
		}
	}
}

func (l *Linux) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// restore puts back a held address reported deleted, and announces it.
// The add is exclusive: if the address is there (a stale notification of
// our own Release followed by a new Acquire), nothing happens.
func (l *Linux) restore(ifindex int, addr netip.Addr, bits int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	hs := l.byAddr[addrKey{ifindex: ifindex, addr: addr}]
	if hs == nil {
		return
	}
	for _, ha := range hs.addrs {
		if ha.ifindex == ifindex && ha.prefix.Addr() == addr && l.request(ha).bits() == bits {
			if ha.opts.NoRestore {
				l.log.Info("held address deleted by someone else; not put back (no_track)",
					zap.String("router", hs.key.router), zap.Stringer("address", ha.prefix),
					zap.String("interface", ha.ifname))
				return
			}
			l.restoreLocked(hs, ha)
			return
		}
	}
}

func (l *Linux) restoreLocked(hs *heldSet, ha heldAddr) {
	err := addAddress(l.addrQ, l.request(ha), false)
	if errors.Is(err, unix.EEXIST) {
		return
	}
	if errors.Is(err, unix.ENODEV) {
		// The interface went away with the address; the address goes on
		// the interface of its name when one appears (relinkLocked).
		l.log.Debug("held address gone with its interface", zap.String("router", hs.key.router),
			zap.Stringer("address", ha.prefix), zap.String("interface", ha.ifname))
		return
	}
	if err != nil {
		l.log.Warn("held address deleted by someone else; putting it back failed",
			zap.String("router", hs.key.router), zap.Stringer("address", ha.prefix),
			zap.String("interface", ha.ifname), zap.Error(err))
		return
	}
	l.log.Info("held address deleted by someone else; put back",
		zap.String("router", hs.key.router), zap.Stringer("address", ha.prefix),
		zap.String("interface", ha.ifname))
	ts, err := l.targetsLocked([]heldAddr{ha})
	if err != nil {
		l.log.Warn("announcing a restored address failed", zap.Error(err))
	}
	l.ann.some(hs.owner, ts)
}

// localAddr is an address message's own address: IFA_LOCAL (a
// point-to-point address's IFA_ADDRESS is the peer's), else IFA_ADDRESS.
func localAddr(am *rtnetlink.AddressMessage) (netip.Addr, bool) {
	if am.Attributes == nil {
		return netip.Addr{}, false
	}
	ip := am.Attributes.Local
	if ip == nil {
		ip = am.Attributes.Address
	}
	addr, ok := netip.AddrFromSlice(ip)
	if ok && am.Family == unix.AF_INET {
		addr = addr.Unmap()
	}
	return addr, ok
}

// resync checks every held address after lost notifications: one dump of
// the host's addresses, and the held ones missing from it put back. (An
// exclusive add of each would be a netlink request per held address, with
// the lock held, just when a burst of changes overflowed the socket.) One
// deleted after the dump is reported by a notification, which restores it.
func (l *Linux) resync() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	msgs, err := l.nl.Address.List()
	if err != nil {
		l.log.Warn("listing addresses failed; putting every held address back", zap.Error(err))
	} else {
		l.addrs.reset(msgs)
	}
	for _, hs := range l.sets {
		for _, ha := range hs.addrs {
			if ha.opts.NoRestore || (err == nil && l.addrs.has(l.presentOf(ha))) {
				continue
			}
			l.restoreLocked(hs, ha)
		}
	}
}
