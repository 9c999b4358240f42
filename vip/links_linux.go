package vip

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jsimonetti/rtnetlink/v2"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// linkCache is the backend's view of the host's interfaces: one dump at
// start, then the kernel's link notifications (RTM_NEWLINK, RTM_DELLINK),
// so that resolving an interface costs no netlink round trip and a
// renamed or re-created interface, or a new MAC address, is known at once.
// It has a lock of its own: the announcer reads it at every packet while
// an Acquire may hold the backend's lock through slow netlink calls.
type linkCache struct {
	mu      sync.RWMutex
	byName  map[string]linkInfo
	byIndex map[int]linkInfo
	// queries counts the RTM_GETLINK requests made for names the cache
	// did not know.
	queries atomic.Uint64
}

func newLinkCache() *linkCache {
	return &linkCache{byName: make(map[string]linkInfo), byIndex: make(map[int]linkInfo)}
}

func (c *linkCache) name(name string) (linkInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	li, ok := c.byName[name]
	return li, ok
}

func (c *linkCache) index(index int) (linkInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	li, ok := c.byIndex[index]
	return li, ok
}

// update records li and returns what the cache knew of its index before.
func (c *linkCache) update(li linkInfo) (prev linkInfo, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, known = c.byIndex[li.index]
	if known && prev.name != li.name && c.byName[prev.name].index == li.index {
		delete(c.byName, prev.name) // renamed
	}
	c.byIndex[li.index] = li
	c.byName[li.name] = li
	return prev, known
}

func (c *linkCache) remove(index int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if li, ok := c.byIndex[index]; ok {
		delete(c.byIndex, index)
		if c.byName[li.name].index == index {
			delete(c.byName, li.name)
		}
	}
}

func (c *linkCache) reset(all []linkInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byName)
	clear(c.byIndex)
	for _, li := range all {
		c.byName[li.name] = li
		c.byIndex[li.index] = li
	}
}

// linkInfoOf is what the backend keeps of a link message.
func linkInfoOf(lm *rtnetlink.LinkMessage) (linkInfo, bool) {
	if lm.Attributes == nil || lm.Attributes.Name == "" {
		return linkInfo{}, false
	}
	return linkInfo{
		index: int(lm.Index),
		name:  lm.Attributes.Name,
		mac:   append([]byte(nil), lm.Attributes.Address...),
		flags: lm.Flags,
	}, true
}

// up reports whether frames can leave by the link.
func (li linkInfo) up() bool {
	return li.flags&unix.IFF_UP != 0 && li.flags&unix.IFF_RUNNING != 0
}

// dumpLinks lists every interface of the backend's network namespace.
func dumpLinks(c *rtnetlink.Conn) ([]linkInfo, error) {
	msgs, err := c.Link.List()
	if err != nil {
		return nil, err
	}
	out := make([]linkInfo, 0, len(msgs))
	for i := range msgs {
		if li, ok := linkInfoOf(&msgs[i]); ok {
			out = append(out, li)
		}
	}
	return out, nil
}

// link resolves an interface by name: from the cache, or, for a name the
// cache does not know (created a moment ago, its notification not read
// yet), from the kernel.
func (l *Linux) link(name string) (linkInfo, error) {
	live := l.linksLive.Load()
	if live {
		if li, ok := l.links.name(name); ok {
			return li, nil
		}
	}
	l.links.queries.Add(1)
	li, err := linkByName(l.nl, name)
	if err != nil {
		return linkInfo{}, err
	}
	if live {
		l.links.update(li)
	}
	return li, nil
}

// linkAt is the interface at index, as the cache knows it now; without
// link notifications, the one named name.
func (l *Linux) linkAt(index int, name string) (linkInfo, error) {
	if l.linksLive.Load() {
		if li, ok := l.links.index(index); ok {
			return li, nil
		}
	}
	li, err := l.link(name)
	if err == nil && li.index != index {
		return linkInfo{}, fmt.Errorf("interface %s is now index %d, not %d", name, li.index, index)
	}
	return li, err
}

// linkLoop follows the kernel's link notifications: the cache, and the
// held addresses of an interface that was re-created (a new index under
// the name they are configured on) or that changed its MAC address or
// came up.
func (l *Linux) linkLoop() {
	defer close(l.linkDone)
	for {
		msgs, err := l.linkWatch.Receive()
		if err != nil {
			if l.isClosed() {
				return
			}
			if errors.Is(err, unix.ENOBUFS) {
				l.log.Warn("link notifications overflowed; reading every interface again")
				l.resyncLinks()
				continue
			}
			l.log.Error("reading link notifications failed; interfaces are looked up at each call from now on", zap.Error(err))
			l.links.reset(nil)
			l.linksLive.Store(false)
			return
		}
		for _, m := range msgs {
			var lm rtnetlink.LinkMessage
			if err := lm.UnmarshalBinary(m.Data); err != nil {
				continue
			}
			switch m.Header.Type {
			case unix.RTM_NEWLINK:
				if li, ok := linkInfoOf(&lm); ok {
					l.linkChanged(li)
				}
			case unix.RTM_DELLINK:
				l.links.remove(int(lm.Index))
			}
		}
	}
}

// linkChanged records li and acts on what changed for held addresses.
func (l *Linux) linkChanged(li linkInfo) {
	prev, known := l.links.update(li)
	reannounce := li.up() && (!known || !prev.up() || !bytes.Equal(prev.mac, li.mac))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.relinkLocked(li)
	if reannounce {
		l.announceLinkLocked(li)
	}
}

// resyncLinks reads every interface again after lost notifications.
func (l *Linux) resyncLinks() {
	all, err := dumpLinks(l.nl)
	if err != nil {
		l.log.Warn("reading the interfaces failed", zap.Error(err))
		return
	}
	l.links.reset(all)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	for _, li := range all {
		l.relinkLocked(li)
	}
}

// relinkLocked moves the held addresses configured on li's name that sit
// on another index (the interface of that name was deleted and created
// again, or renamed away and another one took its name) to li: the
// interface a VIP goes to is the one its configuration names.
func (l *Linux) relinkLocked(li linkInfo) {
	for _, hs := range l.sets {
		var moved []heldAddr
		for i, ha := range hs.addrs {
			if ha.ifname != li.name || ha.ifindex == li.index {
				continue
			}
			old := ha
			if err := delAddress(l.addrQ, l.request(old)); err != nil {
				l.log.Debug("removing a VIP from the interface's former index", zap.Error(err))
			}
			k := addrKey{ifindex: old.ifindex, addr: old.prefix.Addr()}
			if l.byAddr[k] == hs {
				delete(l.byAddr, k)
			}
			ha.ifindex = li.index
			hs.addrs[i] = ha
			l.byAddr[addrKey{ifindex: ha.ifindex, addr: ha.prefix.Addr()}] = hs
			if err := addAddress(l.addrQ, l.request(ha), true); err != nil {
				l.log.Warn("held address: putting it on the re-created interface failed",
					zap.String("router", hs.key.router), zap.Stringer("address", ha.prefix),
					zap.String("interface", ha.ifname), zap.Error(err))
				continue
			}
			l.log.Info("held address put on the re-created interface",
				zap.String("router", hs.key.router), zap.Stringer("address", ha.prefix),
				zap.String("interface", ha.ifname), zap.Int("ifindex", li.index))
			moved = append(moved, ha)
		}
		if len(moved) == 0 {
			continue
		}
		ts, err := l.targetsLocked(hs.addrs)
		if err != nil {
			l.log.Warn("announcing on the re-created interface", zap.Error(err))
		}
		l.ann.setTargets(hs.owner, ts)
	}
}

// announceLinkLocked announces, with each owner's Repeat, the held
// addresses on li: it came up (perhaps re-created) or has a new MAC
// address, and the LAN's caches may point elsewhere.
func (l *Linux) announceLinkLocked(li linkInfo) {
	for _, hs := range l.sets {
		var on []heldAddr
		for _, ha := range hs.addrs {
			if ha.ifindex == li.index {
				on = append(on, ha)
			}
		}
		if len(on) == 0 {
			continue
		}
		ts, err := l.targetsLocked(on)
		if err != nil {
			l.log.Debug("announcing after a link change", zap.Error(err))
		}
		l.ann.some(hs.owner, ts)
	}
}

// openLinkWatch subscribes to link notifications and fills the cache,
// in that order so that no change falls between the two.
func (l *Linux) openLinkWatch() error {
	var err error
	if l.linkWatch, err = dialNotifications(unix.RTMGRP_LINK); err != nil {
		return fmt.Errorf("open rtnetlink link notifications: %w", err)
	}
	all, err := dumpLinks(l.nl)
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	l.links.reset(all)
	l.linksLive.Store(true)
	return nil
}
