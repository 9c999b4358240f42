package vrrp

import (
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// prepare builds what the router's send and receive paths reuse, so that
// steady-state adverts allocate nothing.
func (r *Router) prepare(now time.Time) error {
	c := &r.cfg
	addrs := c.advertAddrs()
	r.advAddrs = slices.Clone(addrs)
	slices.SortFunc(r.advAddrs, netip.Addr.Compare)
	r.rxAdv.Addrs = make([]netip.Addr, 0, len(addrs))
	r.txAdv = advert.Advert{Version: c.Version, Type: advert.TypeAdvertisement, VRID: c.VRID,
		Interval: c.Interval, Addrs: addrs}
	if c.Version == 2 {
		r.txAdv.AuthType = c.AuthType
	}
	if c.AuthType != advert.AuthNone {
		pass, err := auth.NewPassword(c.AuthPass)
		if err != nil {
			return &ConfigError{Router: c.Name, Field: "AuthPass", Err: err}
		}
		if c.AuthType == advert.AuthPass {
			r.pass = pass
			r.txAdv.AuthData = pass
		} else {
			// The sequence numbers of a restarted router must count on
			// from above what it sent before: start at the Unix time.
			r.ah = auth.NewAH(pass, len(c.Peers) > 0, uint32(now.Unix()))
		}
	}
	addrLen := 4
	if c.IPv6 {
		addrLen = 16
	}
	r.txBuf = make([]byte, 0, advert.HeaderLen+len(addrs)*addrLen+advert.AuthDataLen)
	r.peers = slices.Clone(c.Peers)
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
	vips := slices.Clone(c.VIPs)
	// RFC 5798 §6.1: the address owner always accepts packets to its
	// addresses, whatever Accept_Mode says.
	r.set = AddressSet{Router: c.Name, VRID: c.VRID, Interface: c.Interface, IPv6: c.IPv6,
		VIPs: vips, NoAccept: c.NoAccept && c.Priority != OwnerPriority}
	return nil
}

// send is the send path: one advert with priority prio, encoded with the
// router's checksum mode, to the group or to each unicast peer (one AH
// sequence number for all of them, as keepalived does). It never calls
// into the state machine: a missing source address is noticed here and
// handled on the next timer round. It reports whether the advert went
// out (to at least one destination).
func (n *Node) send(r *Router, prio uint8, now time.Time) bool {
	t := r.t
	if t == nil || t.tr == nil {
		return false
	}
	src := r.m.Addr()
	if !src.IsValid() {
		r.stats.sendErrors.Add(1)
		r.recheckAt = now
		return false
	}
	r.txAdv.Priority = prio
	var seq uint32
	if r.ah != nil {
		var err error
		if seq, err = r.ah.NextSeq(); err != nil {
			r.stats.sendErrors.Add(1)
			n.log.Error("("+r.cfg.Name+") cannot send advert", zap.Error(err))
			return false
		}
	}
	failed := 0
	for _, dst := range r.dsts {
		b, err := r.txAdv.Append(r.txBuf[:0], src, dst, r.cfg.Checksum)
		if err != nil {
			// Config validation should make this impossible.
			r.stats.sendErrors.Add(1)
			n.log.Error("("+r.cfg.Name+") cannot encode advert", zap.Error(err))
			return false
		}
		r.txBuf = b[:0]
		r.txPkt = advert.Packet{Src: src, Dst: dst, HopLimit: 255, Msg: b, Seq: seq}
		if r.ah != nil {
			r.txPkt.Sealer = r.ah
		}
		if err := t.tr.Send(&r.txPkt); err != nil {
			failed++
			r.stats.sendErrors.Add(1)
			if ok, suppressed := r.logLimit.allow(now, time.Second); ok {
				n.log.Warn("("+r.cfg.Name+") Cant send advert to "+dst.String(), zap.Error(err),
					zap.Int("suppressed", suppressed))
			}
		}
	}
	if failed == len(r.dsts) {
		return false
	}
	r.stats.sent.Add(1)
	if prio == 0 {
		r.stats.prio0Sent.Add(1)
	}
	return true
}
