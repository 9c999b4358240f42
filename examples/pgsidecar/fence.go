package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// What a standby that won the VRRP election does next.
type verdict uint8

const (
	verdictPromote verdict = iota + 1 // pass: pg_promote, then take the VIP
	verdictWait                       // not now: stay master without the VIP and ask again
	verdictDefer                      // another standby is better: step aside so that it wins
)

func (v verdict) String() string {
	switch v {
	case verdictPromote:
		return "promote"
	case verdictWait:
		return "wait"
	case verdictDefer:
		return "defer"
	}
	return "verdict(?)"
}

// fenceInput is what the fencing rule is decided on, gathered just
// before: every peer and witness was asked at that moment.
type fenceInput struct {
	Self netip.Addr // our VRRP address: what peers that follow us report as master
	Own  observation
	// UpstreamAlive: the server our WAL receiver streams from still
	// accepts connections (a primary whose sidecar died is still a
	// primary).
	UpstreamAlive bool
	UpstreamWhat  string
	Witnesses     []witnessResult
	Peers         []peerResult
}

type witnessResult struct {
	Witness witness
	Err     error // nil: it answered
}

type peerResult struct {
	Addr   string // its --peer-status
	Status *peerStatus
	Err    error // unreachable or an unusable answer
}

// decideTakeover is the fencing rule. A standby that became VRRP master
// promotes itself only if a lone, cut-off node could not pass the same
// test: at least one witness answers (when any is configured), a majority
// of the cluster's sidecars is reachable (when there are three or more),
// no reachable peer reports a primary or follows another master, the
// primary we streamed from no longer answers, and no reachable standby
// has received more WAL than we have (with synchronous replication, that
// one may hold acknowledged commits we lack).
func decideTakeover(in fenceInput) (verdict, string) {
	if in.Own.Role != roleStandby {
		return verdictWait, "local Postgres is not a standby (" + in.Own.Role + ")"
	}
	if in.UpstreamAlive {
		return verdictWait, "the primary we stream from still answers (" + in.UpstreamWhat + ")"
	}
	if len(in.Witnesses) > 0 {
		var failed []string
		for _, w := range in.Witnesses {
			if w.Err == nil {
				failed = nil
				break
			}
			failed = append(failed, w.Witness.String()+": "+w.Err.Error())
		}
		if failed != nil {
			return verdictWait, "no witness answers (" + strings.Join(failed, "; ") + ")"
		}
	}
	cluster := 1 + len(in.Peers)
	reachable := 1
	for _, p := range in.Peers {
		if p.Err == nil {
			reachable++
		}
	}
	if cluster >= 3 && 2*reachable <= cluster {
		return verdictWait, fmt.Sprintf("no majority: %d of %d sidecars reachable", reachable, cluster)
	}
	var better *peerResult
	for i := range in.Peers {
		p := &in.Peers[i]
		if p.Err != nil {
			continue
		}
		st := p.Status
		switch {
		case st.Role == rolePrimary && !st.Fenced:
			return verdictWait, fmt.Sprintf("peer %s reports a primary (timeline %d)", p.Addr, st.Timeline)
		case st.VRRPState == "MASTER":
			return verdictWait, "peer " + p.Addr + " is VRRP master too"
		case st.VRRPState == "BACKUP" && st.Master.IsValid() && st.Master != in.Self:
			return verdictWait, fmt.Sprintf("peer %s follows another master (%v)", p.Addr, st.Master)
		case st.Role == roleStandby && st.ReceiveLSN > in.Own.ReceiveLSN:
			if better == nil || st.ReceiveLSN > better.Status.ReceiveLSN {
				better = p
			}
		}
	}
	if better != nil {
		return verdictDefer, fmt.Sprintf("peer %s has received more WAL (%v > %v)", better.Addr, better.Status.ReceiveLSN, in.Own.ReceiveLSN)
	}
	var why []string
	if len(in.Witnesses) > 0 {
		why = append(why, "a witness answers")
	}
	why = append(why, fmt.Sprintf("%d of %d sidecars reachable, none reports a primary", reachable, cluster))
	why = append(why, "the old primary does not answer ("+in.UpstreamWhat+")")
	return verdictPromote, strings.Join(why, ", ")
}

// decideStale reports whether a primary must fence itself: a reachable
// peer is a primary on a newer timeline (it was promoted after us), or on
// the same timeline while it holds the VIP and we do not.
func decideStale(own observation, weMaster bool, peers []peerResult) (bool, string) {
	for _, p := range peers {
		if p.Err != nil || p.Status.Role != rolePrimary || p.Status.Fenced {
			continue
		}
		st := p.Status
		switch {
		case st.Timeline > own.Timeline:
			return true, fmt.Sprintf("peer %s is a primary on a newer timeline (%d > %d)", p.Addr, st.Timeline, own.Timeline)
		case st.Timeline == own.Timeline && st.VRRPState == "MASTER" && !weMaster:
			return true, fmt.Sprintf("peer %s is a primary on our timeline (%d) and holds the VIP", p.Addr, st.Timeline)
		}
	}
	return false, ""
}
