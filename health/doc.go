// Package health runs the checks that decide whether a node deserves to be
// VRRP master, and turns their results into what a vrrp.Router consumes: a
// vrrp.TrackStatus per tracked object (a priority delta, or Fault).
//
// It implements keepalived's tracking (keepalived.conf(5): vrrp_script /
// track_script, vrrp_track_process / track_process, track_interface,
// track_file) with keepalived's rules for interval, timeout, rise, fall,
// weight, reverse and init_fail:
//
//   - A Check runs once and says up or down, with a reason: Exec (a program,
//     keepalived's vrrp_script), Process (keepalived's vrrp_track_process,
//     from /proc), TCP, HTTP, Interface (link up and running, from netlink
//     events: track_interface), File (an integer in a file: track_file) and
//     Func (any Go function).
//   - A Tracker runs one check every Interval with a Timeout, counts Rise
//     successes and Fall failures the way keepalived counts a script's
//     results, and reports every change of its State.
//   - A Weight turns a State into a vrrp.TrackStatus: a positive weight adds
//     while up, a negative one subtracts while down, Reverse flips the
//     direction, and weight 0 means down = Fault. Tracker.Run applies the
//     tracker's own Weight; Tracker.RunState reports the bare State so that
//     one check can feed several routers with different weights, as one
//     keepalived vrrp_script feeds every instance that tracks it.
//
// The arithmetic (State.observe via a Tracker, Weight.Status) is pure; the
// Tracker's runner owns the goroutines and reads time only through the
// injected vrrp.Clock. A slow or hung check never delays anything else and
// never runs twice at once; a panicking check is down, not a crash.
package health
