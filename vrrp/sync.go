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
	members []*Router
}

type groupEventKind uint8

const (
	groupWantMaster groupEventKind = iota + 1
	groupSteppedDown
)

type groupEvent struct {
	r      *Router
	kind   groupEventKind
	reason Reason
}

// runGroupWork carries out what state changes of sync group members
// imply for the other members. Changes it makes itself carry ReasonSync
// and imply nothing further.
func (n *Node) runGroupWork(now time.Time) {
	if n.inGroup {
		return
	}
	n.inGroup = true
	defer func() { n.inGroup = false }()
	for len(n.groupWork) > 0 {
		ev := n.groupWork[0]
		n.groupWork = n.groupWork[1:]
		g := ev.r.group
		if g == nil || ev.r.removed {
			continue
		}
		switch ev.kind {
		case groupWantMaster:
			if !groupWantsMaster(g) {
				continue
			}
			for _, m := range g.members {
				reason := ReasonSync
				if m == ev.r {
					reason = ev.reason
				}
				n.apply(m, m.m.Promote(now, reason, m.acts[:0]), now)
			}
		case groupSteppedDown:
			for _, m := range g.members {
				if m != ev.r && m.m.State() == Master {
					n.apply(m, m.m.Demote(now, ReasonSync, m.acts[:0]), now)
				}
			}
		}
	}
	n.groupWork = n.groupWork[:0]
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
func (n *Node) syncFaults(g *syncGroup, now time.Time) {
	var culprit *Router
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
			n.applyFault(m, now)
		}
	}
}
