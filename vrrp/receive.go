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

// receive is the receive path for a packet that arrived on t at now:
// the timers that ran out before it arrived go first, so that events are
// taken in the order they happened; then demultiplex by VRID,
// authenticate, decode, apply the checks of RFC 5798 §7.1 / RFC 3768 §7.1
// (and keepalived's), and hand the advert to the router's state machine.
// p and what it points to are not kept.
func (c *core) receive(now time.Time, t *port, p *advert.Packet) {
	c.runTimers(now)
	c.handlePacket(now, t, p)
	c.settle(now)
}

func (c *core) handlePacket(now time.Time, t *port, p *advert.Packet) {
	if !t.open {
		return // read before the close took effect
	}
	if len(p.Msg) < 2 {
		c.unknownVRID(t, 0, p.Src, now)
		return
	}
	r := t.routers[p.Msg[1]]
	if r == nil || r.removed {
		c.unknownVRID(t, p.Msg[1], p.Src, now)
		return
	}
	if st := r.m.State(); st != Backup && st != Master {
		// keepalived ignores adverts in Fault and while initialising.
		r.h.stats.drops[DropNotRunning].Add(1)
		return
	}
	// RFC 5798 §7.1: MUST verify that the IP TTL / hop limit is 255. In
	// unicast mode the source must be a peer instead, within its TTL
	// bounds if it has any (keepalived sends IPv6 unicast with hop limit
	// 64, and a peer may be routers away).
	if len(r.peers) == 0 {
		if p.HopLimit != 255 {
			c.drop(r, DropTTL, p, now, func() string { return "invalid ttl. " + strconv.Itoa(int(p.HopLimit)) + " and expect 255" })
			return
		}
	} else if i := slices.Index(r.peers, p.Src); i < 0 {
		if !r.cfg.AcceptAnySource {
			c.drop(r, DropNotPeer, p, now, func() string { return "unicast source address " + p.Src.String() + " not a unicast peer" })
			return
		}
	} else if p.HopLimit < r.peerTTL[i][0] || p.HopLimit > r.peerTTL[i][1] {
		c.drop(r, DropTTL, p, now, func() string {
			return "invalid ttl. " + strconv.Itoa(int(p.HopLimit)) + " from " + p.Src.String() + " and expect " +
				strconv.Itoa(int(r.peerTTL[i][0])) + "-" + strconv.Itoa(int(r.peerTTL[i][1]))
		})
		return
	}
	// RFC 2402 / keepalived: AH is checked before anything in the message
	// can be trusted.
	if r.ah != nil {
		if p.AH == nil {
			c.drop(r, DropAuthType, p, now, func() string { return "received a packet without IPsec AH, expecting AH" })
			return
		}
		// A sequence number not above the last accepted from this
		// sender is never accepted, however long after: a restarted peer
		// numbers above what it hears before it sends (see auth.AH).
		if err := r.ah.Verify(p.IPHeader, p.AH, p.Msg); err != nil {
			reason := DropAuth
			if errors.Is(err, auth.ErrReplay) {
				reason = DropReplay
			}
			c.drop(r, reason, p, now, func() string { return "IPSEC-AH: " + err.Error() })
			return
		}
	} else if p.AH != nil {
		c.drop(r, DropAuthType, p, now, func() string { return "received an IPsec AH packet, expecting none" })
		return
	}
	// auth_hmac likewise, in its rollout mode; the replay state it keeps
	// moves only for an HMAC that verified.
	if r.hmacOn && !c.verifyHMAC(r, p, now) {
		return
	}
	// RFC 5798 §7.1: MUST verify that the VRID is configured and the
	// local router is not the address owner (priority 255): an owner
	// takes no advert, however forged. (After AH, whose verified sequence
	// numbers it still learns: its own must count on from above them.) An
	// owner that resigned is a backup until it is master again: it
	// follows the master it handed over to.
	if r.m.Priority() == OwnerPriority && r.m.State() == Master {
		c.drop(r, DropOwner, p, now, func() string {
			if len(p.Msg) > 2 && p.Msg[2] == OwnerPriority {
				// keepalived's words for a second owner; the RFC's owner
				// rule, not the tie-break, decides here: forged owner
				// adverts must not take the addresses.
				return "CONFIGURATION ERROR: local instance and " + p.Src.String() +
					" are both configured as address owner, please resolve; discarding its adverts (RFC 5798 §7.1)"
			}
			return "address owner: discarding an advert (RFC 5798 §7.1)"
		})
		return
	}
	a := &r.rxAdv
	var err error
	if r.hmacOn {
		// The trailer, verified above, is covered by the IPv6 checksum.
		_, _, err = a.DecodePayload(p.Msg, p.Src, p.Dst, r.rxMode)
	} else {
		_, err = a.Decode(p.Msg, p.Src, p.Dst, r.rxMode)
	}
	if err != nil {
		c.drop(r, dropReasonFor(err, decodeDropReasons, DropMalformed), p, now, err.Error)
		return
	}
	if int(a.Version) != r.cfg.Version {
		if a.Version == 2 || a.Version == 3 {
			c.otherVersion(r, p.Src, int(a.Version), now)
		}
		c.drop(r, DropVersion, p, now, func() string {
			return "invalid version. " + strconv.Itoa(int(a.Version)) + " and expect " + strconv.Itoa(r.cfg.Version)
		})
		return
	}
	if a.Version == 2 {
		if a.AuthType != r.cfg.AuthType {
			c.drop(r, DropAuthType, p, now, func() string {
				return "received a " + strconv.Itoa(int(a.AuthType)) + " auth, expecting " + strconv.Itoa(int(r.cfg.AuthType)) + "!"
			})
			return
		}
		if r.cfg.AuthType == advert.AuthPass && r.pass.Verify(a.AuthData) != nil {
			c.drop(r, DropAuth, p, now, func() string { return "received an invalid passwd!" })
			return
		}
		// RFC 3768 §7.1: MUST verify that the Adver Interval is the one
		// configured; else two masters could run one VRID.
		if a.Interval != r.cfg.Interval {
			c.drop(r, DropInterval, p, now, func() string {
				return "advertisement interval mismatch mine=" + strconv.Itoa(int(r.cfg.Interval/time.Second)) +
					" sec rcved=" + strconv.Itoa(int(a.Interval/time.Second)) + " sec"
			})
			return
		}
	}
	// RFC 5798 §7.1: MAY verify the address list; on mismatch log it, and
	// drop the packet unless it comes from the owner.
	if !r.sameAddrs(a.Addrs) {
		r.h.stats.addrMismatch.Add(1)
		if a.Priority != OwnerPriority {
			c.drop(r, DropAddressList, p, now, func() string {
				return "received an address list that differs from ours (" + strconv.Itoa(len(a.Addrs)) +
					" addresses, expected " + strconv.Itoa(len(r.txAdv.Addrs)) + ")"
			})
			return
		}
		c.dropLog(r, DropAddressList, p, now, func() string { return "address owner's address list differs from ours; accepting it" })
	}
	// Only the master a backup follows may say it is leaving (or repeat
	// that it left): a forged priority 0 from anyone else would make the
	// best backup take over after Skew_Time (hardening beyond RFC 5798,
	// which takes it from any source). A backup that follows no master yet
	// takes over after Master_Down_Interval instead.
	if a.Priority == 0 && r.m.State() == Backup {
		switch p.Src {
		case r.m.Master():
			r.left = p.Src
		case r.left:
		default:
			c.drop(r, DropNotMaster, p, now, func() string {
				return "priority 0 advert from " + p.Src.String() + ", not the master (" + masterName(r.m.Master()) + ")"
			})
			return
		}
	}
	r.h.stats.received.Add(1)
	if a.Priority == 0 {
		r.h.stats.prio0Received.Add(1)
	}
	r.heard = now
	c.apply(r, r.m.Receive(now, p.Src, a, r.acts[:0]), now)
}

// sameAddrs compares a received address list with ours as sets.
func (r *coreRouter) sameAddrs(got []netip.Addr) bool {
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

func masterName(a netip.Addr) string {
	if !a.IsValid() {
		return "none known"
	}
	return a.String()
}

// decodeDropReasons names the drop of each decoding error; any other is
// DropMalformed.
var decodeDropReasons = []errReason{
	{advert.ErrVersion, DropVersion},
	{advert.ErrType, DropType},
	{advert.ErrChecksum, DropChecksum},
	{advert.ErrTruncated, DropLength},
	{advert.ErrAddrCount, DropLength},
	{advert.ErrAuthType, DropAuthType},
}

// drop counts a packet the router does not take and logs it at Debug,
// rate-limited. A drop that reveals a misconfiguration (auth, interval,
// version, address list) is logged once at Warn. why says why in words;
// it is called only when the line is logged, so that a flood of dropped
// packets costs no allocation.
func (c *core) drop(r *coreRouter, reason DropReason, p *advert.Packet, now time.Time, why func() string) {
	r.h.stats.drops[reason].Add(1)
	c.dropLog(r, reason, p, now, why)
}

func (c *core) dropLog(r *coreRouter, reason DropReason, p *advert.Packet, now time.Time, why func() string) {
	switch reason {
	case DropVersion, DropAuthType, DropAuth, DropInterval, DropAddressList, DropNotPeer, DropOwner,
		DropHMACMissing, DropHMACKeyID, DropHMAC, DropHMACMalformed, DropHMACStale:
		if !r.warned[reason] {
			r.warned[reason] = true
			c.logf(r, zapcore.WarnLevel, "("+r.cfg.Name+") "+why(), zap.Stringer("from", p.Src), zap.Stringer("drop", reason))
			return
		}
	}
	if !c.enabled(zapcore.DebugLevel) {
		return
	}
	if ok, suppressed := r.logLimit.allow(now, time.Second); ok {
		c.logf(r, zapcore.DebugLevel, "("+r.cfg.Name+") "+why(), zap.Stringer("from", p.Src), zap.Stringer("drop", reason),
			zap.Int("suppressed", suppressed))
	}
}
