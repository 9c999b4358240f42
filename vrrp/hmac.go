package vrrp

import (
	"net/netip"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// The core's side of auth_hmac (Config.HMAC): the trailer is sealed once
// per advert and copied to every unicast peer, and a received advert is
// verified before anything acts on it.

// newHMAC builds r's auth_hmac state from its Config, if it has one.
func (r *coreRouter) newHMAC() error {
	if r.cfg.HMAC == nil {
		return nil
	}
	h, err := auth.NewHMAC(r.cfg.hmacConfig(*r.cfg.HMAC))
	if err != nil {
		return err
	}
	r.hmac, r.hmacOn = h, true
	return nil
}

// signs reports whether r's adverts carry a trailer.
func (r *coreRouter) signs() bool { return r.hmacOn && r.hmac.Signs() }

// seal signs the advert msg (just encoded, from src) into r.trailer: once
// per advert, whatever the number of destinations.
func (r *coreRouter) seal(msg []byte, src netip.Addr, now time.Time) error {
	_, _, err := r.hmac.Seal(r.trailer[:0], msg, src, now)
	return err
}

// appendSigned appends the trailer to the message at b[off:] and writes
// the checksum again where it covers the trailer (IPv6).
func (r *coreRouter) appendSigned(b []byte, off int, src, dst netip.Addr) ([]byte, error) {
	b = append(b, r.trailer[:]...)
	if !r.cfg.IPv6 {
		return b, nil
	}
	return b, advert.WriteChecksum(b[off:], src, dst, r.cfg.Checksum)
}

// verifyHMAC decides a received payload under r's auth_hmac and rollout
// mode, and counts and logs a drop. It reports whether the advert may go
// on; the replay state moves only for a trailer whose HMAC verified.
func (c *core) verifyHMAC(r *coreRouter, p *advert.Packet, now time.Time) bool {
	msg, trailer, err := advert.SplitTrailer(p.Msg, r.cfg.IPv6)
	if err != nil {
		c.drop(r, DropLength, p, now, err.Error)
		return false
	}
	tr, err := r.hmac.Receive(msg, trailer, p.Src, now)
	if err == nil {
		return true
	}
	reason := dropReasonFor(err, hmacDropReasons, DropHMAC)
	c.drop(r, reason, p, now, func() string {
		switch reason {
		case DropHMACMissing:
			return "auth_hmac: received an advert without a trailer, mode " + r.hmac.Config().Rollout.String()
		case DropHMACKeyID:
			return "auth_hmac: received an advert signed with key " + strconv.Itoa(int(tr.KeyID)) + ", which is not configured"
		case DropHMACStale:
			when := tr.Seq.Skew(now).String() + " old"
			if d := tr.Seq.Skew(now); d < 0 {
				when = (-d).String() + " in the future"
			}
			return "auth_hmac: received an advert stamped " + when + ", outside the freshness window of " +
				r.hmac.Window().String() + " (clocks not synchronized, or a capture)"
		case DropHMACReplay:
			return "auth_hmac: received a replayed advert (sequence " + tr.Seq.String() + ")"
		case DropHMACMalformed:
			return "auth_hmac: received a malformed trailer"
		}
		return "auth_hmac: HMAC of key " + strconv.Itoa(int(tr.KeyID)) + " does not match: wrong key or modified packet"
	})
	return false
}

// hmacDropReasons names the drop of each auth_hmac verification error;
// any other is DropHMAC.
var hmacDropReasons = []errReason{
	{auth.ErrTrailerMissing, DropHMACMissing},
	{auth.ErrUnknownKeyID, DropHMACKeyID},
	{auth.ErrTrailerStale, DropHMACStale},
	{auth.ErrTrailerReplay, DropHMACReplay},
	{auth.ErrTrailerMalformed, DropHMACMalformed},
}

// setHMAC applies a new auth_hmac configuration (validated; nil: off) to
// a running router without a transition: the sequence and replay state
// carry over, also across off and on again.
func (c *core) setHMAC(r *coreRouter, h *auth.HMACConfig) {
	switch {
	case h == nil:
		r.hmacOn = false
		c.logf(r, zapcore.InfoLevel, "("+r.cfg.Name+") auth_hmac off")
		return
	case r.hmac == nil:
		hm, err := auth.NewHMAC(r.cfg.hmacConfig(*h))
		if err != nil {
			c.logf(r, zapcore.ErrorLevel, "("+r.cfg.Name+") auth_hmac not changed", zap.Error(err))
			return
		}
		r.hmac = hm
	default:
		if err := r.hmac.Reconfigure(r.cfg.hmacConfig(*h)); err != nil {
			c.logf(r, zapcore.ErrorLevel, "("+r.cfg.Name+") auth_hmac not changed", zap.Error(err))
			return
		}
	}
	r.hmacOn = true
	// Ids and lengths only: HMACConfig's String shows no key.
	c.logf(r, zapcore.InfoLevel, "("+r.cfg.Name+") "+r.hmac.Config().String())
}
