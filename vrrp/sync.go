package vrrp

import "time"

// syncGroup is keepalived's vrrp_sync_group: routers of one Node that
// change state together. A member in Fault puts the others in Fault; a
// master that steps down for a higher priority takes the other masters
// with it (they send priority 0 so that the peer group takes over
// quickly); and members become master only together, when every one of
// them wants to (keepalived prefers Backup to thrashing).
type syncGroup struct {
	name    string
	members []*coreRouter
}

type groupEventKind uint8

const (
	groupWantMaster groupEventKind = iota + 1
	groupSteppedDown
)

// groupEvent is a member's state change that the other members follow
// (core.settle runs them).
type groupEvent struct {
	r      *coreRouter
	kind   groupEventKind
	reason Reason
}

// runGroupEvent carries out what a member's change implies for the others.
// Changes it makes itself carry ReasonSync and imply nothing further.
func (c *core) runGroupEvent(ev groupEvent, now time.Time) {
	g := ev.r.group
	if g == nil || ev.r.removed {
		return
	}
	switch ev.kind {
	case groupWantMaster:
		if !groupWantsMaster(g) {
			return
		}
		for _, m := range g.members {
			reason := ReasonSync
			if m == ev.r {
				reason = ev.reason
			}
			c.apply(m, m.m.Promote(now, reason, m.acts[:0]), now)
		}
	case groupSteppedDown:
		for _, m := range g.members {
			if m != ev.r && m.m.State() == Master {
				c.apply(m, m.m.Demote(now, ReasonSync, m.acts[:0]), now)
			}
		}
	}
}

// groupWantsMaster: every member is master already or a backup whose down
// timer ran out.
func groupWantsMaster(g *syncGroup) bool {
	for _, m := range g.members {
		switch m.m.State() {
		case Master:
		case Backup:
			if !m.m.WantsMaster() {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// syncFaults puts every member of g in Fault while any member has a fault
// of its own.
func (c *core) syncFaults(g *syncGroup, now time.Time) {
	var culprit *coreRouter
	for _, m := range g.members {
		if m.faults.own() {
			culprit = m
			break
		}
	}
	for _, m := range g.members {
		on := culprit != nil && m != culprit
		detail := ""
		if on {
			detail = "sync group " + g.name + ": " + culprit.cfg.Name + " in fault"
		}
		if m.faults.set(faultSync, on, detail) {
			c.applyFault(m, now)
		}
	}
}
