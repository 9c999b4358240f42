package vrrp

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// handlePacket is the receive path: demultiplex by VRID, authenticate,
// decode, apply the checks of RFC 5798 §7.1 / RFC 3768 §7.1 (and
// keepalived's), then hand the advert to the router's state machine.
func (n *Node) handlePacket(t *transport, p *advert.Packet, now time.Time) {
	if len(p.Msg) < 2 {
		n.unknown(t, p, 0, now)
		return
	}
	r := t.routers[p.Msg[1]]
	if r == nil || r.removed {
		n.unknown(t, p, p.Msg[1], now)
		return
	}
	if st := r.m.State(); st != Backup && st != Master {
		// keepalived ignores adverts in Fault and while initialising.
		r.stats.drops[DropNotRunning].Add(1)
		return
	}
	// RFC 5798 §7.1: MUST verify that the IP TTL / hop limit is 255. In
	// unicast mode keepalived does not (it sends IPv6 unicast with hop
	// limit 64).
	if len(r.peers) == 0 && p.HopLimit != 255 {
		n.drop(r, DropTTL, p, now, func() string { return "invalid ttl. " + strconv.Itoa(int(p.HopLimit)) + " and expect 255" })
		return
	}
	// RFC 2402 / keepalived: AH is checked before anything in the message
	// can be trusted.
	if r.ah != nil {
		if p.AH == nil {
			n.drop(r, DropAuthType, p, now, func() string { return "received a packet without IPsec AH, expecting AH" })
			return
		}
		if err := r.ah.Verify(p.IPHeader, p.AH, p.Msg); err != nil {
			reason := DropAuth
			if errors.Is(err, auth.ErrReplay) {
				reason = DropReplay
				n.replayed(r, p.Src, now)
			}
			n.drop(r, reason, p, now, func() string { return "IPSEC-AH: " + err.Error() })
			return
		}
		if p.Src == r.replaySrc {
			r.replaySrc = netip.Addr{}
		}
	} else if p.AH != nil {
		n.drop(r, DropAuthType, p, now, func() string { return "received an IPsec AH packet, expecting none" })
		return
	}
	a := &r.rxAdv
	if _, err := a.Decode(p.Msg, p.Src, p.Dst, r.rxMode); err != nil {
		n.drop(r, decodeDropReason(err), p, now, err.Error)
		return
	}
	if a.Version != r.cfg.Version {
		n.drop(r, DropVersion, p, now, func() string {
			return "invalid version. " + strconv.Itoa(int(a.Version)) + " and expect " + strconv.Itoa(int(r.cfg.Version))
		})
		return
	}
	if a.Version == 2 {
		if a.AuthType != r.cfg.AuthType {
			n.drop(r, DropAuthType, p, now, func() string {
				return "received a " + strconv.Itoa(int(a.AuthType)) + " auth, expecting " + strconv.Itoa(int(r.cfg.AuthType)) + "!"
			})
			return
		}
		if r.cfg.AuthType == advert.AuthPass && r.pass.Verify(a.AuthData) != nil {
			n.drop(r, DropAuth, p, now, func() string { return "received an invalid passwd!" })
			return
		}
		// RFC 3768 §7.1: MUST verify that the Adver Interval is the one
		// configured; else two masters could run one VRID.
		if a.Interval != r.cfg.Interval {
			n.drop(r, DropInterval, p, now, func() string {
				return "advertisement interval mismatch mine=" + strconv.Itoa(int(r.cfg.Interval/time.Second)) +
					" sec rcved=" + strconv.Itoa(int(a.Interval/time.Second)) + " sec"
			})
			return
		}
	}
	// keepalived's vrrp_check_unicast_src.
	if r.cfg.CheckUnicastSource && !slices.Contains(r.peers, p.Src) {
		n.drop(r, DropNotPeer, p, now, func() string { return "unicast source address " + p.Src.String() + " not a unicast peer" })
		return
	}
	// RFC 5798 §7.1: MAY verify the address list; on mismatch log it, and
	// drop the packet unless it comes from the owner.
	if !r.sameAddrs(a.Addrs) {
		r.stats.addrMismatch.Add(1)
		if a.Priority != OwnerPriority {
			n.drop(r, DropAddressList, p, now, func() string {
				return "received an address list that differs from ours (" + strconv.Itoa(len(a.Addrs)) +
					" addresses, expected " + strconv.Itoa(len(r.txAdv.Addrs)) + ")"
			})
			return
		}
		n.dropLog(r, DropAddressList, p, now, func() string { return "address owner's address list differs from ours; accepting it" })
	}
	r.stats.received.Add(1)
	if a.Priority == 0 {
		r.stats.prio0Received.Add(1)
	}
	n.apply(r, r.m.Receive(now, p.Src, a, r.acts[:0]), now)
}

// sameAddrs compares a received address list with ours as sets.
func (r *Router) sameAddrs(got []netip.Addr) bool {
	want := r.advAddrs // sorted
	if len(got) != len(want) {
		return false
	}
	if len(got) <= 8 {
		for _, a := range got {
			if _, ok := slices.BinarySearchFunc(want, a, netip.Addr.Compare); !ok {
				return false
			}
		}
		return true
	}
	r.rxSorted = append(r.rxSorted[:0], got...)
	slices.SortFunc(r.rxSorted, netip.Addr.Compare)
	return slices.Equal(r.rxSorted, want)
}

func decodeDropReason(err error) DropReason {
	switch {
	case errors.Is(err, advert.ErrVersion):
		return DropVersion
	case errors.Is(err, advert.ErrType):
		return DropType
	case errors.Is(err, advert.ErrChecksum):
		return DropChecksum
	case errors.Is(err, advert.ErrTruncated), errors.Is(err, advert.ErrAddrCount):
		return DropLength
	case errors.Is(err, advert.ErrAuthType):
		return DropAuthType
	}
	return DropMalformed
}

// drop counts a packet the router does not take and logs it at Debug,
// rate-limited. A drop that reveals a misconfiguration (auth, interval,
// version, address list) is logged once at Warn. why says why in words;
// it is called only when the line is logged, so that a flood of dropped
// packets costs no allocation.
func (n *Node) drop(r *Router, reason DropReason, p *advert.Packet, now time.Time, why func() string) {
	r.stats.drops[reason].Add(1)
	n.dropLog(r, reason, p, now, why)
}

func (n *Node) dropLog(r *Router, reason DropReason, p *advert.Packet, now time.Time, why func() string) {
	switch reason {
	case DropVersion, DropAuthType, DropAuth, DropInterval, DropAddressList, DropNotPeer:
		if !r.warned[reason] {
			r.warned[reason] = true
			n.log.Warn("("+r.cfg.Name+") "+why(), zap.Stringer("from", p.Src), zap.Stringer("drop", reason))
			return
		}
	}
	if !n.log.Core().Enabled(zapcore.DebugLevel) {
		return
	}
	if ok, suppressed := r.logLimit.allow(now, time.Second); ok {
		n.log.Debug("("+r.cfg.Name+") "+why(), zap.Stringer("from", p.Src), zap.Stringer("drop", reason),
			zap.Int("suppressed", suppressed))
	}
}

func (n *Node) unknown(t *transport, p *advert.Packet, vrid uint8, now time.Time) {
	if !n.log.Core().Enabled(zapcore.DebugLevel) {
		return
	}
	if ok, suppressed := t.unknownLog.allow(now, time.Second); ok {
		n.log.Debug("Unknown VRID("+strconv.Itoa(int(vrid))+") received on interface("+t.ep.Interface+"). ignoring...",
			zap.Stringer("from", p.Src), zap.Int("suppressed", suppressed))
	}
}

// replayed handles an AH packet rejected as a replay. A peer that restarted
// with a lower counter (keepalived starts from 0) looks the same, so a
// sender whose packets verify but replay for longer than
// Master_Down_Interval is forgotten and its counter accepted afresh.
func (n *Node) replayed(r *Router, src netip.Addr, now time.Time) {
	if src != r.replaySrc {
		r.replaySrc, r.replaySince = src, now
		return
	}
	if now.Sub(r.replaySince) <= MasterDownInterval(r.cfg.Version, r.m.Priority(), r.cfg.Interval) {
		return
	}
	r.ah.Forget(src)
	r.replaySrc = netip.Addr{}
	n.log.Warn("(" + r.cfg.Name + ") IPSEC-AH: " + src.String() +
		" keeps sending old sequence numbers; assuming it restarted and accepting its counter again")
}
