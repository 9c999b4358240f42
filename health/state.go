package health

import (
	"fmt"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// State is what a tracker knows about its object, before a weight is
// applied.
type State struct {
	Name string
	// Known is false until the first result: keepalived's INIT state of a
	// vrrp_script that has not yet exited once (without init_fail). An
	// unknown object neither adds nor subtracts, and holds a weight-0
	// tracker's router out of service.
	Known bool
	// Up is the object's own state: the check passed Rise times in a row
	// (and has not failed Fall times in a row since). For a valued object
	// (File) Up means the value is 0, keepalived's OK status of an
	// unweighted track_file.
	Up bool
	// Valued and Value: the object is a number (File), taken as it is.
	Valued bool
	Value  int64
	// Reason says why the object is in this state, for logs.
	Reason string
}

// Weight is how one tracked object moves one router's priority: keepalived's
// "weight N [reverse]" on track_script, track_process, track_interface and
// track_file.
type Weight struct {
	// Weight is the priority change. Positive: added while the object is
	// up. Negative: subtracted (its absolute value) while the object is
	// down. 0: the router is in Fault while the object is down.
	// keepalived accepts -253..253 for scripts and interfaces, -254..254
	// for processes and files.
	Weight int
	// Reverse flips the direction (keepalived's "reverse"): a positive
	// weight is subtracted while up, a negative one added while down, and
	// weight 0 means Fault while the object is UP.
	Reverse bool
}

// keepalived's track_file limits (keepalived.conf(5), "Track files"): a
// weighted value below -253 puts the router in Fault, and the contribution
// never exceeds 253.
const (
	fileFault = -254
	fileMax   = 253
)

// Status is the pure function from an object's state and a weight to what
// the object contributes to a router. The rules, each from keepalived.conf(5)
// and keepalived's vrrp_track.c / track_file.c:
//
//   - unknown (no result yet): no delta; with weight 0 the router stays out
//     of service (keepalived keeps such an instance in INIT until the
//     script has run once), reported as Fault.
//   - up/down objects: "A positive weight means that <rise> successes will
//     add <weight> to the priority ... a negative weight will be subtracted
//     from the initial priority in case of <fall> failures"; "The default
//     weight equals 0, which means that any VRRP instance monitoring the
//     script will transition to the fault state after <fall> consecutive
//     failures"; "'weight 0 reverse' will cause the vrrp instance to be down
//     when the script is up, and vice versa"; reverse multiplies the
//     adjustment by -1 (weight_multiplier in vrrp_track.c).
//   - valued objects (track_file): "If the weight configured against the
//     track_file is 0, a non-zero value in the file will be treated as a
//     failure status, and a zero value will be treated as an OK status,
//     otherwise the value will be multiplied by the weight"; reverse
//     multiplies by -1 as well (and with weight 0 makes zero the failure);
//     "if the result is less than -253 anything monitoring the script will
//     transition to the fault state"; the result is capped at 253.
func (w Weight) Status(s State) vrrp.TrackStatus {
	ts := vrrp.TrackStatus{Name: s.Name, Up: s.Up, Reason: s.Reason}
	mult := 1
	if w.Reverse {
		mult = -1
	}
	switch {
	case !s.Known:
		ts.Up = false
		ts.Fault = w.Weight == 0
		if ts.Reason == "" {
			ts.Reason = "no result yet"
		}
	case s.Valued:
		if w.Weight == 0 {
			// Fault when the value is non-zero, or with reverse when it
			// is zero.
			ts.Fault = (s.Value != 0) == !w.Reverse
		} else {
			v := mulClamp(s.Value, int64(w.Weight)*int64(mult))
			if v <= fileFault {
				ts.Fault = true
			} else {
				ts.Delta = int(min(v, fileMax))
			}
		}
		ts.Up = !ts.Fault
	case w.Weight == 0:
		ts.Fault = s.Up == w.Reverse
	case s.Up && w.Weight > 0, !s.Up && w.Weight < 0:
		ts.Delta = w.Weight * mult
	}
	return ts
}

// mulClamp multiplies without overflowing: the result only matters within
// keepalived's -254..253, so anything far beyond is clamped.
func mulClamp(a, b int64) int64 {
	const lim = 1 << 31
	a = max(-lim, min(a, lim))
	b = max(-lim, min(b, lim))
	return a * b
}

// score is keepalived's counter of a script's results (vrrp_script_child_thread
// in vrrp_scheduler.c): n runs from 0 to rise+fall-1 and the script is up
// while n >= rise. A success below rise-1 counts up by one; a success at
// rise-1 or above jumps to the top (so fall failures in a row are needed to
// go down); a failure above rise counts down by one; a failure at rise or
// below drops to 0 (so rise successes in a row are needed to come up).
// Without init_fail a script starts unknown at rise-1, so its first result
// decides at once in either direction ("one success is enough"); with
// init_fail it starts known and down at 0 and needs rise successes.
type score struct {
	rise, fall int
	n          int
	known      bool
}

func newScore(rise, fall int, initFail bool) score {
	if initFail {
		return score{rise: rise, fall: fall, n: 0, known: true}
	}
	return score{rise: rise, fall: fall, n: rise - 1}
}

func (s *score) up() bool { return s.known && s.n >= s.rise }

// observe counts one result and says whether the up/down state changed
// (the first result always does: it makes the state known).
func (s *score) observe(ok bool) (changed bool) {
	wasKnown, wasUp := s.known, s.up()
	switch {
	case ok && s.n < s.rise-1:
		s.n++
	case ok:
		s.n = s.rise + s.fall - 1
	case s.n > s.rise:
		s.n--
	default:
		s.n = 0
	}
	s.known = true
	return !wasKnown || wasUp != s.up()
}

func (s score) String() string {
	return fmt.Sprintf("%d/%d (rise %d, fall %d)", s.n, s.rise+s.fall-1, s.rise, s.fall)
}
