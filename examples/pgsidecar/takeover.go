package main

import (
	"context"
	"errors"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// takeover is elect mode's write-VIP backend: the router calls Acquire
// when it becomes master, and the VIP is added only once the local
// Postgres can take writes — at once on a primary that is not fenced; on
// a standby after the election has settled, the fencing rule has passed
// and pg_promote has finished. Acquire runs on the router's backend
// worker, never on the protocol loop, so adverts go on while it waits.
type takeover struct {
	s *sidecar
}

var _ vrrp.Backend = (*takeover)(nil)

// settleIntervals is how long, in advertisement intervals, a standby stays
// master before it promotes: a standby that became master in a close race
// hears the winner's advert (sent at once on becoming master) and steps
// back well within one interval; the fencing rule then also refuses
// while a peer says it is master.
const settleIntervals = 1

func (t *takeover) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	s := t.s
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), vrrp.ErrSuperseded) {
				s.decide("takeover abandoned", "no longer VRRP master")
			}
			return ctx.Err()
		case <-timer.C:
		}
		if s.write.State() != vrrp.Master {
			s.decide("takeover abandoned", "no longer VRRP master")
			return nil
		}
		next, done, err := t.step(ctx, set)
		if done || err != nil {
			return err
		}
		timer.Reset(next)
	}
}

// step makes one attempt; done means Acquire has finished, otherwise
// the next attempt is due after next.
func (t *takeover) step(ctx context.Context, set vrrp.AddressSet) (next time.Duration, done bool, err error) {
	s := t.s
	qctx, cancel := context.WithTimeout(ctx, max(s.opts.check, time.Second))
	o, oerr := s.pg.observe(qctx)
	cancel()
	if oerr != nil {
		s.decide("wait", "Postgres unreachable: "+oerr.Error())
		return s.opts.check, false, nil
	}
	s.store(o)
	s.mu.Lock()
	fenced, since := s.fenced, s.masterSince
	s.mu.Unlock()
	switch o.Role {
	case rolePrimary:
		if fenced != "" {
			return 0, true, nil // the fence track takes the router out of MASTER
		}
		s.decide("take the VIP", "VRRP master and Postgres is the primary")
		return 0, true, s.vips.Acquire(ctx, set)
	case roleStandby:
	default:
		return s.opts.check, false, nil
	}

	if since.IsZero() {
		// The state event is not read yet: count from now.
		since = time.Now()
		s.mu.Lock()
		s.masterSince = since
		s.mu.Unlock()
	}
	if wait := settleIntervals*s.opts.interval - time.Since(since); wait > 0 {
		return wait, false, nil
	}
	in := s.gather(ctx, o)
	v, why := decideTakeover(in)
	switch v {
	case verdictWait:
		s.decide("wait", why)
		return s.opts.check, false, nil
	case verdictDefer:
		s.stepAside(why)
		return 0, true, nil
	}

	s.decide("promote", why)
	// A promotion once started runs to its end even if the router loses
	// its mastership meanwhile (Postgres finishes pg_promote without us):
	// only shutdown cuts it short. What follows sees the new primary.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 70*time.Second)
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(context.Cause(ctx), vrrp.ErrSuperseded) {
			cancel()
		}
	})
	err = s.act.promote(pctx)
	stop()
	cancel()
	if err != nil {
		s.decide("promote failed", err.Error())
		return s.opts.check, false, nil
	}
	if s.opts.relaxSync && !anyStandby(in.Peers) {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := s.act.setSyncStandbyNames(rctx, true); err != nil {
			s.decide("relax synchronous replication failed", err.Error())
		} else {
			s.decide("synchronous replication relaxed", "no other standby is reachable to acknowledge commits (--relax-sync)")
		}
		cancel()
	}
	s.decide("take the VIP", "promoted")
	return 0, true, s.vips.Acquire(ctx, set)
}

// stepAside holds the write router in Fault for a while, so that the
// better standby (which heard our priority-0 advert) wins the election.
func (s *sidecar) stepAside(why string) {
	s.decide("defer", why)
	s.track(s.write, fault(trackElection, "deferring: "+why))
	hold := max(10*s.opts.interval, 2*time.Second)
	time.AfterFunc(hold, func() { s.track(s.write, up(trackElection, "hold-down over")) })
}

func anyStandby(peers []peerResult) bool {
	for _, p := range peers {
		if p.Err == nil && p.Status.Role == roleStandby {
			return true
		}
	}
	return false
}

func (t *takeover) Release(ctx context.Context, set vrrp.AddressSet) error {
	return t.s.vips.Release(ctx, set)
}

func (t *takeover) Announce(ctx context.Context, set vrrp.AddressSet) error {
	return t.s.vips.Announce(ctx, set)
}
