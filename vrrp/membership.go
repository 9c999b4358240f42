package vrrp

import (
	"net/netip"
	"slices"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// newCoreRouter builds the core's state of a router from its handle's
// Config (validated, with defaults), with what its send and receive paths
// reuse, so that steady-state adverts allocate nothing. now seeds the AH
// sequence numbers.
func newCoreRouter(h *Router, now time.Time) (*coreRouter, error) {
	c := &h.cfg
	r := &coreRouter{h: h, cfg: c, timerSlot: -1, base: c.Priority, tracks: make(map[string]TrackStatus)}
	r.m.Init(c.machineConfig())
	addrs := c.advertAddrs()
	r.advAddrs = slices.Clone(addrs)
	slices.SortFunc(r.advAddrs, netip.Addr.Compare)
	r.rxAdv.Addrs = make([]netip.Addr, 0, len(addrs))
	r.txAdv = advert.Advert{Version: uint8(c.Version), Type: advert.TypeAdvertisement, VRID: uint8(c.VRID),
		Interval: c.Interval, Addrs: addrs}
	if c.Version == 2 {
		r.txAdv.AuthType = c.AuthType
	}
	if c.AuthType != advert.AuthNone {
		pass := c.AuthPass
		if c.AuthType == advert.AuthPass {
			r.pass = pass
			r.txAdv.AuthData = pass
		} else {
			// The sequence numbers of a restarted router must count on
			// from above what it sent before: start at the Unix time.
			r.ah = auth.NewAH(pass, len(c.Peers) > 0, uint32(now.Unix()))
		}
	}
	if err := r.newHMAC(); err != nil {
		return nil, err
	}
	r.peers = slices.Clone(c.Peers)
	r.peerTTL = make([][2]uint8, len(r.peers))
	for i := range r.peerTTL {
		r.peerTTL[i] = [2]uint8{0, 255}
	}
	for _, h := range c.PeerHopLimits {
		hi := h.Max
		if hi == 0 {
			hi = 255
		}
		r.peerTTL[slices.Index(r.peers, h.Peer)] = [2]uint8{uint8(h.Min), uint8(hi)}
	}
	switch {
	case len(r.peers) > 0:
		r.dsts = r.peers
	case c.Group.IsValid():
		r.dsts = []netip.Addr{c.Group}
	case c.IPv6:
		r.dsts = []netip.Addr{advert.GroupIPv6}
	default:
		r.dsts = []netip.Addr{advert.GroupIPv4}
	}
	r.rxMode = c.Checksum
	if c.AcceptEitherChecksum && c.Version == 3 && !c.IPv6 {
		r.rxMode = advert.ChecksumEither
	}
	// RFC 5798 §6.1: the address owner always accepts packets to its
	// addresses, whatever Accept_Mode says.
	r.set = AddressSet{Router: c.Name, VRID: c.VRID, Interface: c.Interface, IPv6: c.IPv6,
		VIPs: slices.Clone(c.VIPs), NoAccept: c.NoAccept && c.Priority != OwnerPriority}
	return r, nil
}

// add attaches r to its transport and sync group and sets the tracked
// statuses of its Config; start starts it.
func (c *core) add(now time.Time, r *coreRouter) {
	c.routers = append(c.routers, r)
	c.timers.push(r)
	key := portKey{iface: r.cfg.Interface, ipv6: r.cfg.IPv6, group: r.cfg.Group}
	p := c.ports[key]
	if p == nil {
		p = &port{key: key, ep: Endpoint{Interface: key.iface, IPv6: key.ipv6, Group: key.group}}
		c.ports[key] = p
		c.portList = append(c.portList, p)
	}
	p.routers[r.cfg.VRID] = r
	p.count++
	r.port = p
	if r.cfg.AuthType == advert.AuthAH && !p.ep.AH {
		// The transport must carry IP protocol 51 too: open it anew.
		p.ep.AH = true
		p.stale = p.open
	}
	p.want = true
	c.list(p)
	switch {
	case p.open && !p.stale:
		c.setFault(r, faultLink, !p.up, "link down on "+p.ep.Interface, now)
		c.refreshSource(r, now)
	case !p.reopenAt.IsZero():
		c.setFault(r, faultTransport, true, "transport on "+p.ep.Interface+" not open", now)
	}
	if name := r.cfg.SyncGroup; name != "" {
		g := c.groups[name]
		if g == nil {
			g = &syncGroup{name: name}
			c.groups[name] = g
		}
		g.members = append(g.members, r)
		r.group = g
		c.syncFaults(g, now)
	}
	// Its tracked objects as they were when it was added: a router whose
	// tracker is in Fault goes straight to Fault when it starts.
	for _, s := range r.cfg.Tracks {
		c.track(r, s, false, now)
	}
	c.starting = append(c.starting, r)
	c.settle(now)
}

// remove stops r — a master sends priority 0 and releases its addresses —
// and takes it out of its transport and sync group.
func (c *core) remove(now time.Time, r *coreRouter) {
	if r.removed {
		return
	}
	c.apply(r, r.m.Shutdown(now, r.acts[:0]), now)
	r.removed = true
	c.timers.remove(r)
	c.routers = slices.DeleteFunc(c.routers, func(x *coreRouter) bool { return x == r })
	if p := r.port; p != nil {
		p.routers[r.cfg.VRID] = nil
		p.count--
		if p.count == 0 {
			p.want = false
			c.list(p)
			delete(c.ports, p.key)
			c.portList = slices.DeleteFunc(c.portList, func(x *port) bool { return x == p })
		}
	}
	if g := r.group; g != nil {
		g.members = slices.DeleteFunc(g.members, func(x *coreRouter) bool { return x == r })
		if len(g.members) == 0 {
			delete(c.groups, g.name)
		} else {
			c.syncFaults(g, now)
		}
	}
	c.settle(now)
}

// shutdown stops every router: masters send priority 0 and release their
// addresses.
func (c *core) shutdown(now time.Time) {
	for _, r := range c.routers {
		c.apply(r, r.m.Shutdown(now, r.acts[:0]), now)
	}
	c.settle(now)
}
