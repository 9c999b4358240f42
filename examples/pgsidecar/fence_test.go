package main

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var (
	self  = netip.MustParseAddr("10.0.0.2")
	other = netip.MustParseAddr("10.0.0.3")
	old   = netip.MustParseAddr("10.0.0.1")
)

func standbyPeer(addr string, master netip.Addr, receive lsn) peerResult {
	return peerResult{Addr: addr, Status: &peerStatus{Role: roleStandby, VRRPState: "BACKUP", Master: master, ReceiveLSN: receive}}
}

func down(addr string) peerResult {
	return peerResult{Addr: addr, Err: errors.New("connection refused")}
}

// A standby that won the election on the majority side of a three-node
// cluster, whose primary is gone.
func majorityInput() fenceInput {
	return fenceInput{
		Self:         self,
		Own:          observation{Role: roleStandby, ReceiveLSN: 100},
		UpstreamWhat: "no WAL receiver running",
		Peers:        []peerResult{down("10.0.0.1:8433"), standbyPeer("10.0.0.3:8433", self, 100)},
	}
}

func TestDecideTakeover(t *testing.T) {
	w := witness{Addr: netip.MustParseAddr("10.0.0.9")}
	tests := []struct {
		name   string
		change func(*fenceInput)
		want   verdict
		reason string // a part of the reason
	}{
		{"majority, primary gone", func(*fenceInput) {}, verdictPromote, "2 of 3 sidecars reachable"},
		{"not a standby", func(in *fenceInput) { in.Own.Role = rolePrimary }, verdictWait, "not a standby"},
		{"primary still answers (its sidecar died)", func(in *fenceInput) {
			in.UpstreamAlive, in.UpstreamWhat = true, "10.0.0.100:5432 accepts connections"
		}, verdictWait, "still answers"},
		{"cut off: no majority", func(in *fenceInput) {
			in.Peers = []peerResult{down("10.0.0.1:8433"), down("10.0.0.3:8433")}
		}, verdictWait, "no majority: 1 of 3"},
		{"a peer is primary", func(in *fenceInput) {
			in.Peers[0] = peerResult{Addr: "10.0.0.1:8433", Status: &peerStatus{Role: rolePrimary, VRRPState: "BACKUP", Timeline: 4}}
		}, verdictWait, "reports a primary (timeline 4)"},
		{"a fenced primary does not count", func(in *fenceInput) {
			in.Peers[0] = peerResult{Addr: "10.0.0.1:8433", Status: &peerStatus{Role: rolePrimary, VRRPState: "FAULT", Fenced: true}}
		}, verdictPromote, ""},
		{"a peer is master too", func(in *fenceInput) {
			in.Peers[1].Status.VRRPState = "MASTER"
		}, verdictWait, "VRRP master too"},
		{"a peer still follows the old master", func(in *fenceInput) {
			in.Peers[1].Status.Master = old
		}, verdictWait, "follows another master (10.0.0.1)"},
		{"a peer has more WAL", func(in *fenceInput) {
			in.Peers[1].Status.ReceiveLSN = 101
		}, verdictDefer, "received more WAL"},
		{"two nodes, witness answers", func(in *fenceInput) {
			in.Peers = []peerResult{down("10.0.0.1:8433")}
			in.Witnesses = []witnessResult{{Witness: w}}
		}, verdictPromote, "a witness answers"},
		{"two nodes, witness silent", func(in *fenceInput) {
			in.Peers = []peerResult{down("10.0.0.1:8433")}
			in.Witnesses = []witnessResult{{Witness: w, Err: errors.New("no reply")}}
		}, verdictWait, "no witness answers"},
		{"one of two witnesses answers", func(in *fenceInput) {
			in.Witnesses = []witnessResult{{Witness: w, Err: errors.New("no reply")}, {Witness: witness{Addr: other, Port: 22}}}
		}, verdictPromote, ""},
		{"witness answers but no majority", func(in *fenceInput) {
			in.Peers = []peerResult{down("10.0.0.1:8433"), down("10.0.0.3:8433")}
			in.Witnesses = []witnessResult{{Witness: w}}
		}, verdictWait, "no majority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := majorityInput()
			tt.change(&in)
			got, why := decideTakeover(in)
			if got != tt.want || !strings.Contains(why, tt.reason) {
				t.Errorf("decideTakeover = %v (%s), want %v (…%s…)", got, why, tt.want, tt.reason)
			}
		})
	}
}

func TestDecideStale(t *testing.T) {
	own := observation{Role: rolePrimary, Timeline: 2}
	primary := func(tl uint32, state string) peerResult {
		return peerResult{Addr: "10.0.0.3:8433", Status: &peerStatus{Role: rolePrimary, VRRPState: state, Timeline: tl}}
	}
	tests := []struct {
		name     string
		weMaster bool
		peers    []peerResult
		want     bool
	}{
		{"alone", true, nil, false},
		{"peers unreachable", true, []peerResult{down("a"), down("b")}, false},
		{"peers are standbys", true, []peerResult{standbyPeer("a", self, 1)}, false},
		{"newer primary", true, []peerResult{primary(3, "BACKUP")}, true},
		{"older primary: it is the stale one", true, []peerResult{primary(1, "MASTER")}, false},
		{"same timeline, it holds the VIP", false, []peerResult{primary(2, "MASTER")}, true},
		{"same timeline, we hold the VIP", true, []peerResult{primary(2, "BACKUP")}, false},
		{"newer but fenced", true, []peerResult{{Addr: "c", Status: &peerStatus{Role: rolePrimary, VRRPState: "FAULT", Timeline: 9, Fenced: true}}}, false},
	}
	for _, tt := range tests {
		if got, why := decideStale(own, tt.weMaster, tt.peers); got != tt.want {
			t.Errorf("%s: decideStale = %v (%s), want %v", tt.name, got, why, tt.want)
		}
	}
}
