package vrrp

import (
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// EffectivePriority is base plus the sum of deltas, clamped to 1..254; an
// owner (base 255) stays at 255 (keepalived's rules for tracked weights).
func EffectivePriority(base, deltaSum int) int {
	if base == OwnerPriority {
		return OwnerPriority
	}
	return min(max(base+deltaSum, 1), OwnerPriority-1)
}

// track records a tracked object's status (or forgets it) and recomputes
// priority and fault.
func (c *core) track(r *coreRouter, s TrackStatus, remove bool, now time.Time) {
	if r.removed {
		return
	}
	old, had := r.tracks[s.Name]
	if remove {
		if !had {
			return
		}
		delete(r.tracks, s.Name)
		r.trackOrder = slices.DeleteFunc(r.trackOrder, func(x string) bool { return x == s.Name })
		c.recompute(r, now, "tracked "+s.Name+" removed")
		c.settle(now)
		return
	}
	if had && old == s {
		return
	}
	r.tracks[s.Name] = s
	if !had {
		r.trackOrder = append(r.trackOrder, s.Name)
	}
	cause := "tracked " + s.Name + " " + upDown(s.Up)
	if s.Reason != "" {
		cause += " (" + s.Reason + ")"
	}
	if !had || old.Up != s.Up || old.Fault != s.Fault {
		// Worth an Info line when it moves the router; the tracker logs
		// its own changes.
		level := zapcore.DebugLevel
		if s.Delta != 0 || s.Fault || (had && (old.Delta != 0 || old.Fault)) {
			level = zapcore.InfoLevel
		}
		c.logf(r, level, "("+r.cfg.Name+") "+cause)
	}
	c.recompute(r, now, cause)
	c.settle(now)
}

// setBase changes the base priority.
func (c *core) setBase(r *coreRouter, p int, now time.Time) {
	if r.removed || p == r.base {
		return
	}
	r.base = p
	c.recompute(r, now, "base priority set to "+strconv.Itoa(p))
	c.settle(now)
}

func (c *core) recompute(r *coreRouter, now time.Time, cause string) {
	sum := 0
	fault, detail := false, ""
	for _, name := range r.trackOrder {
		s := r.tracks[name]
		sum += s.Delta
		if s.Fault && !fault {
			fault = true
			detail = "tracked " + name + " failed"
			if s.Reason != "" {
				detail += ": " + s.Reason
			}
		}
	}
	c.setFault(r, faultTrack, fault, detail, now)
	eff := EffectivePriority(r.base, sum)
	old := int(r.m.Priority())
	if eff == old {
		return
	}
	c.logf(r, zapcore.InfoLevel, "("+r.cfg.Name+") Changing effective priority from "+strconv.Itoa(old)+" to "+strconv.Itoa(eff),
		zap.String("cause", cause))
	c.apply(r, r.m.SetPriority(now, uint8(eff), r.acts[:0]), now)
	c.publish(r)
	c.event(r, Event{Kind: EventPriority, Time: now, Router: r.cfg.Name,
		Priority: eff, OldPriority: old, Detail: cause})
}

// resign hands r's addresses (with its sync group's) to the best backup.
func (c *core) resign(r *coreRouter, now time.Time) {
	if r.removed {
		return
	}
	if r.group == nil {
		c.apply(r, r.m.Resign(now, r.acts[:0]), now)
	} else {
		for _, m := range r.group.members {
			if m == r || m.m.State() == Master {
				c.apply(m, m.m.Resign(now, m.acts[:0]), now)
			}
		}
	}
	c.settle(now)
}
