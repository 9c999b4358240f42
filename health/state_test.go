package health

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// TestScoreRiseFall checks the counting of results against keepalived's
// rules. keepalived.conf(5), "VRRP script(s)": "rise: required number of
// successes for OK transition", "fall: required number of successes [sic:
// failures] for KO transition", "init_fail: assume script initially is in
// failed state". The exact counter is vrrp_script_child_thread in
// vrrp_scheduler.c, and the starting points vrrp_init_script: rise-1 "one
// success is enough" without init_fail, 0 "assume failed by config" with it.
func TestScoreRiseFall(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		initFail   bool
		results    string // + success, - failure
		want       string // state after each result: U up, D down
	}{
		// Defaults: rise 1, fall 1: every result decides.
		{"defaults", 1, 1, false, "+-+--++", "UDUDDUU"},
		// Without init_fail the first result decides at once, whatever
		// rise and fall say (result starts at rise-1).
		{"first success is enough", 3, 2, false, "+", "U"},
		{"first failure is enough", 3, 2, false, "-", "D"},
		// Once up, fall failures in a row are needed to go down...
		{"fall 2", 3, 2, false, "+--", "UUD"},
		{"fall 3", 1, 3, false, "+---", "UUUD"},
		// ...and a success in between starts the count again.
		{"fall interrupted", 1, 3, false, "+--+---", "UUUUUUD"},
		// Once down, rise successes in a row are needed to come up...
		{"rise 3", 3, 1, false, "-+++", "DDDU"},
		// ...and a failure in between starts the count again.
		{"rise interrupted", 3, 1, false, "-++-+++", "DDDDDDU"},
		// init_fail: down from the start, rise successes to come up.
		{"init_fail rise 1", 1, 1, true, "+", "U"},
		{"init_fail rise 2", 2, 1, true, "+-++", "DDDU"},
		{"init_fail stays down on failure", 2, 2, true, "--+", "DDD"},
		// After coming up the counter is at the top, so fall failures
		// are needed again, however many successes there were.
		{"rise then fall", 2, 2, false, "-++-+--", "DDUUUUD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScore(tt.rise, tt.fall, tt.initFail)
			if s.known != tt.initFail || s.up() {
				t.Fatalf("initial: known %v up %v, want known %v, down", s.known, s.up(), tt.initFail)
			}
			var got strings.Builder
			for _, r := range tt.results {
				s.observe(r == '+')
				if s.up() {
					got.WriteByte('U')
				} else {
					got.WriteByte('D')
				}
			}
			if got.String() != tt.want {
				t.Errorf("results %s: got %s, want %s (score %v)", tt.results, got.String(), tt.want, s)
			}
		})
	}
}

// TestScoreReportsChanges checks that observe reports exactly the
// transitions keepalived reports (it calls update_script_priorities only
// when the state flips, and on the first result).
func TestScoreReportsChanges(t *testing.T) {
	s := newScore(2, 2, false)
	var got []bool
	for _, ok := range []bool{true, true, false, false, true, true, true} {
		got = append(got, s.observe(ok))
	}
	// first result; up stays; one failure; second failure flips; one
	// success; second flips; stays.
	want := []bool{true, false, false, true, false, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	// init_fail: the initial state is already known, so a first failure
	// is no change.
	s = newScore(1, 1, true)
	if s.observe(false) {
		t.Error("init_fail: first failure reported as a change")
	}
	if !s.observe(true) {
		t.Error("init_fail: first success not reported as a change")
	}
}

// TestWeightStatus is the table of what one tracked object contributes to
// a router, from keepalived.conf(5):
//   - vrrp_script: "The default weight equals 0, which means that any VRRP
//     instance monitoring the script will transition to the fault state";
//     "A positive weight means that <rise> successes will add <weight> to
//     the priority ... a negative weight will be subtracted from the initial
//     priority in case of <fall> failures"; "'weight 0 reverse' will cause
//     the vrrp instance to be down when the script is up, and vice versa".
//   - track_interface: "its priority will be increased by the weight when
//     the interface is up (for positive weights), or decreased by the
//     weight's absolute value when the interface is down (for negative
//     weights), unless reverse is specified, in which case the direction of
//     adjustment of the priority is reversed."
//   - track_process: "Positive weights are added/subtracted when the process
//     is running, negative weights are subtracted/added when the not
//     running. If reverse is specified, the addition/subtraction is
//     reversed."
//   - the INIT state (no result yet) of vrrp_track.c's
//     initialise_track_script_state: no priority change; weight 0 keeps the
//     instance from starting (num_script_init).
func TestWeightStatus(t *testing.T) {
	unknown := State{Name: "chk", Reason: "no result yet"}
	up := State{Name: "chk", Known: true, Up: true, Reason: "exit status 0"}
	down := State{Name: "chk", Known: true, Reason: "exit status 1"}
	tests := []struct {
		name    string
		state   State
		weight  int
		reverse bool
		want    vrrp.TrackStatus
	}{
		{"unknown weight 0 holds the router", unknown, 0, false, vrrp.TrackStatus{Fault: true}},
		{"unknown weight 0 reverse holds the router", unknown, 0, true, vrrp.TrackStatus{Fault: true}},
		{"unknown positive adds nothing", unknown, 10, false, vrrp.TrackStatus{}},
		{"unknown negative subtracts nothing", unknown, -10, false, vrrp.TrackStatus{}},

		{"up weight 0", up, 0, false, vrrp.TrackStatus{Up: true}},
		{"down weight 0 is Fault", down, 0, false, vrrp.TrackStatus{Fault: true}},
		{"up weight 0 reverse is Fault", up, 0, true, vrrp.TrackStatus{Up: true, Fault: true}},
		{"down weight 0 reverse", down, 0, true, vrrp.TrackStatus{}},

		{"up positive adds", up, 10, false, vrrp.TrackStatus{Up: true, Delta: 10}},
		{"down positive adds nothing", down, 10, false, vrrp.TrackStatus{}},
		{"up negative subtracts nothing", up, -10, false, vrrp.TrackStatus{Up: true}},
		{"down negative subtracts", down, -10, false, vrrp.TrackStatus{Delta: -10}},

		{"up positive reverse subtracts", up, 10, true, vrrp.TrackStatus{Up: true, Delta: -10}},
		{"down positive reverse nothing", down, 10, true, vrrp.TrackStatus{}},
		{"up negative reverse nothing", up, -10, true, vrrp.TrackStatus{Up: true}},
		{"down negative reverse adds", down, -10, true, vrrp.TrackStatus{Delta: 10}},

		{"extreme weights pass through", up, 253, false, vrrp.TrackStatus{Up: true, Delta: 253}},
		{"extreme negative", down, -254, false, vrrp.TrackStatus{Delta: -254}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Weight{Weight: tt.weight, Reverse: tt.reverse}.Status(tt.state)
			want := tt.want
			want.Name, want.Reason = tt.state.Name, tt.state.Reason
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestWeightStatusFile is track_file's arithmetic, keepalived.conf(5),
// "Track files": "If the weight configured against the track_file is 0, a
// non-zero value in the file will be treated as a failure status, and a
// zero value will be treated as an OK status, otherwise the value will be
// multiplied by the weight configured in the track_file statement. ... if
// the result is less than -253 anything monitoring the script will
// transition to the fault state (the weight can be 254 to allow for a
// negative value being read from the file)." The cap at 253 and reverse's
// multiplication by -1 (weight 0 reverse: zero is the failure) are
// track_file.c's update_track_file_status and
// process_update_vrrp_track_file_status.
func TestWeightStatusFile(t *testing.T) {
	file := func(v int64) State { return State{Name: "f", Known: true, Valued: true, Value: v, Up: v == 0} }
	tests := []struct {
		name    string
		value   int64
		weight  int
		reverse bool
		delta   int
		fault   bool
	}{
		{"value times weight", 5, 10, false, 50, false},
		{"negative value", -5, 10, false, -50, false},
		{"negative weight", 5, -10, false, -50, false},
		{"reverse", 5, 10, true, -50, false},
		{"reverse negative value", -5, 10, true, 50, false},
		{"default weight 1", 7, 1, false, 7, false},
		{"zero is zero", 0, 10, false, 0, false},
		{"capped at 253", 30, 10, false, 253, false},
		{"-253 still counts", -253, 1, false, -253, false},
		{"-254 is Fault", -254, 1, false, 0, true},
		{"less than -254 is Fault", -26, 10, false, 0, true},
		{"weight 254 lets -1 fault", -1, 254, false, 0, true},
		{"weight -254 lets 1 fault", 1, -254, false, 0, true},
		{"int extremes do not overflow", math.MaxInt32, 254, false, 253, false},
		{"int extremes negative", math.MinInt32, 254, false, 0, true},
		{"beyond int", math.MaxInt64, -254, false, 0, true},
		{"weight 0, value 0 is OK", 0, 0, false, 0, false},
		{"weight 0, non-zero is Fault", 3, 0, false, 0, true},
		{"weight 0, negative is Fault", -3, 0, false, 0, true},
		{"weight 0 reverse, value 0 is Fault", 0, 0, true, 0, true},
		{"weight 0 reverse, non-zero is OK", 3, 0, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Weight{Weight: tt.weight, Reverse: tt.reverse}.Status(file(tt.value))
			if got.Delta != tt.delta || got.Fault != tt.fault || got.Up != !tt.fault {
				t.Errorf("value %d weight %d reverse %v: got delta %d fault %v up %v, want delta %d fault %v",
					tt.value, tt.weight, tt.reverse, got.Delta, got.Fault, got.Up, tt.delta, tt.fault)
			}
		})
	}
}

// keepalivedModel is keepalived's own incremental bookkeeping of a tracked
// script's effect on an instance (vrrp_track.c:
// initialise_track_script_state, process_script_update_priority,
// down_instance / try_up_instance), kept as the running total it keeps, to
// cross-check that the pure Status function describes the same totals at
// every step.
type keepalivedModel struct {
	weight, mult int
	initState    bool // SCRIPT_INIT_STATE_INIT: no result yet
	total        int  // contribution to total_priority
	fault        bool
}

func (m *keepalivedModel) update(ok bool) {
	if m.weight == 0 {
		m.fault = ok != (m.mult == 1)
		m.initState = false
		return
	}
	abs := m.weight
	if abs < 0 {
		abs = -abs
	}
	if m.initState {
		if ok && m.weight > 0 || !ok && m.weight < 0 {
			m.total += m.weight * m.mult
		}
	} else if ok {
		m.total += abs * m.mult
	} else {
		m.total -= abs * m.mult
	}
	m.initState = false
}

// TestWeightStatusMatchesKeepalivedBookkeeping drives the score and the
// keepalived model with the same results, for every weight sign, reverse,
// rise and fall, and checks that Status gives keepalived's running total
// and fault at every step.
func TestWeightStatusMatchesKeepalivedBookkeeping(t *testing.T) {
	sequences := []string{"+-+-", "--++", "++--++", "-+-+--+++", "+++---+", "-", "+"}
	for _, weight := range []int{-20, -1, 0, 1, 20} {
		for _, reverse := range []bool{false, true} {
			for _, rf := range [][2]int{{1, 1}, {2, 1}, {1, 3}, {2, 2}} {
				for _, seq := range sequences {
					name := fmt.Sprintf("w%d_r%v_rise%d_fall%d_%s", weight, reverse, rf[0], rf[1], seq)
					mult := 1
					if reverse {
						mult = -1
					}
					m := keepalivedModel{weight: weight, mult: mult, initState: true}
					s := newScore(rf[0], rf[1], false)
					w := Weight{Weight: weight, Reverse: reverse}
					for i, r := range seq {
						// keepalived only updates priorities on transitions.
						if s.observe(r == '+') {
							m.update(s.up())
						}
						got := w.Status(State{Known: s.known, Up: s.up()})
						if got.Delta != m.total || got.Fault != m.fault {
							t.Fatalf("%s step %d: Status delta %d fault %v, keepalived total %d fault %v",
								name, i, got.Delta, got.Fault, m.total, m.fault)
						}
					}
				}
			}
		}
	}
}

func TestTrackerInitial(t *testing.T) {
	tests := []struct {
		tr   Tracker
		want vrrp.TrackStatus
	}{
		{Tracker{Name: "a"}, vrrp.TrackStatus{Name: "a", Fault: true, Reason: "no result yet"}},
		{Tracker{Name: "b", Weight: 10}, vrrp.TrackStatus{Name: "b", Reason: "no result yet"}},
		{Tracker{Name: "c", InitFail: true}, vrrp.TrackStatus{Name: "c", Fault: true, Reason: "init_fail: down until it succeeds"}},
		{Tracker{Name: "d", InitFail: true, Weight: -30}, vrrp.TrackStatus{Name: "d", Delta: -30, Reason: "init_fail: down until it succeeds"}},
		{Tracker{Name: "e", InitFail: true, Weight: 30}, vrrp.TrackStatus{Name: "e", Reason: "init_fail: down until it succeeds"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.tr.Initial()); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.tr.Name, diff)
		}
	}
}

func BenchmarkWeightStatus(b *testing.B) {
	s := State{Name: "chk", Known: true, Reason: "exit status 1"}
	w := Weight{Weight: -20}
	for b.Loop() {
		_ = w.Status(s)
	}
}
