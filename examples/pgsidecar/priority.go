package main

import "time"

// A standby's score, added to half the primary's priority: the most
// caught-up standby has the highest priority, so it wins the Skew_Time
// race when the primary's sidecar falls silent (RFC 5798 §6.1: a higher
// priority means a shorter Master_Down_Interval).
const (
	scoreBase     = 30 // any standby in recovery
	scoreSync     = 20 // named in synchronous_standby_names: it may hold commits nobody else has
	scoreStreamed = 20 // its WAL receiver streamed within streamedWithin
	scorePaused   = 40 // replay paused: promoting it would first replay the backlog
	maxLagPenalty = 30 // for replay lag, one point per --replay-lag-step bytes
)

// streamedWithin is how long a standby counts as streaming after its WAL
// receiver stopped: all standbys lose their stream at once when the
// primary dies, and the ranking must not depend on which sidecar noticed
// first.
const streamedWithin = 10 * time.Second

// standbyPriority is the VRRP priority a standby advertises in elect
// mode: below the primary's, ranked by replication state.
func standbyPriority(primary int, o *observation, streamedAt time.Time, lagStep int64) int {
	score := scoreBase
	if o.SyncStandby {
		score += scoreSync
	}
	if !streamedAt.IsZero() && o.Time.Sub(streamedAt) <= streamedWithin {
		score += scoreStreamed
	}
	score -= int(min(o.replayLag()/lagStep, maxLagPenalty))
	if o.ReplayPaused {
		score -= scorePaused
	}
	return min(max(primary/2+score, 1), primary-1)
}

// readPriority is the priority of the read VIP's router, and whether the
// router should be in Fault: a standby that streams carries it, ranked by
// replay lag; a primary only as a last resort; anything else not at all.
func readPriority(o *observation, lagStep int64) (prio int, fault bool, why string) {
	switch {
	case o.Role == rolePrimary:
		return 10, false, "primary: carries the read VIP only while no standby can"
	case o.Role != roleStandby:
		return 0, true, "Postgres unreachable: " + o.Err
	case o.WALReceiver != "streaming":
		return 0, true, "standby not streaming"
	case o.ReplayPaused:
		return 0, true, "standby replay paused"
	}
	return 150 - int(min(o.replayLag()/lagStep, 100)), false, "standby streaming"
}
