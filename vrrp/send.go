package vrrp

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// send is the send path: one advert with priority prio, encoded with the
// router's checksum mode and source, to the group or to each unicast peer
// (one AH sequence number, or one auth_hmac trailer, for all of them, as
// keepalived does). The
// driver puts it on the wire before anything else of this input. A
// missing source address is a Fault of its own (refreshSource), so none
// goes out without one.
func (c *core) send(r *coreRouter, prio uint8, now time.Time) {
	p := r.port
	if p == nil || !p.open {
		return
	}
	src := r.m.Addr()
	if !src.IsValid() {
		r.h.stats.sendErrors.Add(1)
		return
	}
	r.txAdv.Priority = prio
	var seq uint32
	if r.ah != nil {
		var err error
		if seq, err = r.ah.NextSeq(); err != nil {
			// A master that cannot advertise must not stay master: the
			// backups take over, and two masters would hold the
			// addresses.
			r.h.stats.sendErrors.Add(1)
			c.logf(r, zapcore.ErrorLevel, "("+r.cfg.Name+") cannot send advert", zap.Error(err))
			c.faultQ = append(c.faultQ, laterFault{r: r, kind: faultAuth, detail: "cannot sign adverts: " + err.Error()})
			return
		}
	}
	zero := -1
	if prio == 0 {
		// Logged in its place among the rest, if the advert goes out.
		zero = len(c.out.later)
		c.later(laterWork{kind: laterSentZero, r: r.h, msg: "(" + r.cfg.Name + ") sent 0 priority"})
	}
	first := len(c.out.sends)
	for _, dst := range r.dsts {
		off := len(c.out.arena)
		b, err := r.txAdv.Append(c.out.arena, src, dst, r.cfg.Checksum)
		if err != nil {
			// Config validation makes this impossible.
			c.out.sends = c.out.sends[:first]
			c.out.arena = c.out.arena[:off]
			r.h.stats.sendErrors.Add(1)
			c.logf(r, zapcore.ErrorLevel, "("+r.cfg.Name+") cannot encode advert", zap.Error(err))
			return
		}
		if r.signs() {
			if len(c.out.sends) == first {
				err = r.seal(b[off:], src, now)
			}
			if err == nil {
				b, err = r.appendSigned(b, off, src, dst)
			}
			if err != nil {
				// Config validation makes this impossible too.
				c.out.sends = c.out.sends[:first]
				c.out.arena = c.out.arena[:off]
				r.h.stats.sendErrors.Add(1)
				c.logf(r, zapcore.ErrorLevel, "("+r.cfg.Name+") cannot sign advert", zap.Error(err))
				return
			}
		}
		c.out.arena = b
		c.out.sends = append(c.out.sends, sendRequest{r: r, port: p, off: off, n: len(b) - off,
			src: src, dst: dst, seq: seq, prio: prio, zero: zero, pos: len(c.out.later)})
	}
	c.out.sends[len(c.out.sends)-1].last = true
}
