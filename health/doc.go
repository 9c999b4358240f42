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
//     from /proc), TCP, Interface (link up and running, from netlink
//     events: track_interface), File (an integer in a file: track_file) and
//     Func (any Go function). HTTP and HTTPS (keepalived's HTTP_GET and
//     SSL_GET) are in package health/httpcheck, so that health does not
//     import net/http and crypto/tls.
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
// The arithmetic (the rise/fall counter, Weight.Status) is pure; the
// Tracker's runner owns the goroutines and reads time only through the
// injected vrrp.Clock. A slow or hung check never delays anything else and
// never runs twice at once; a panicking check is down, not a crash.
//
// # From keepalived.conf
//
// Each keepalived object becomes one Tracker, run once with RunState; each
// instance (or sync group) that tracks it applies its own Weight to the
// State and passes the result to its vrrp.Router's Track (call Track with
// the tracker's Initial status before the router starts, so that an
// unweighted script holds the router out of service until it has run, as
// keepalived holds the instance in INIT). Give every tracker of one router
// a distinct Name: the router keys statuses by it.
//
//	vrrp_script NAME {                  Tracker{Name: NAME, Check: &Exec{...}}
//	  script "PATH ARG..."              Exec{Path, Args} (split as keepalived splits; no shell)
//	  interval N                        Interval: N s (default 1 s)
//	  timeout N                         Timeout: N s (default: the interval)
//	  weight W [reverse]                Weight{W, reverse}, the default for track_script
//	  rise N / fall N                   Rise, Fall (default 1)
//	  user U [G]                        Exec.User, Exec.Group (global script_user if unset)
//	  init_fail                         InitFail
//	track_script { NAME [weight W [reverse|noreverse]] }
//	                                    Weight{W, reverse} on the script's State
//
//	vrrp_track_process NAME {           Tracker{Name: NAME, Check: &Process{...}}
//	  process P [ARG...]                Process{Name: P, Args}
//	  param_match [initial|partial]     ParamMatch (bare: ParamExact)
//	  full_command                      FullCommand
//	  quorum N / quorum_max M           Quorum, QuorumMax; "quorum_max 0" is Absent
//	  weight W [reverse]                Weight{W, reverse}; keepalived 2.2.7's default
//	                                    is 0 (its man page says 1; its dump says 0)
//	  fork_delay / terminate_delay / delay
//	                                    Rise = 1 + ceil(fork_delay / Interval),
//	                                    Fall = 1 + ceil(terminate_delay / Interval)
//	}                                   Interval: how often /proc is read (keepalived
//	                                    hears process events at once; choose e.g. 200 ms)
//
//	track_interface { IF [weight W [reverse]] }
//	                                    NewInterface(IF) on a thread in the router's
//	                                    namespace; Tracker{Name: IF, Check: it}, no
//	                                    Interval; Weight{W, reverse}, default 0
//
//	track_file NAME {                   NewFile(PATH); Tracker{Name: NAME, Check: it}
//	  file PATH                         (no Interval: inotify)
//	  weight W [reverse]                Weight{W, reverse}, default 1
//	  init_file [V] [overwrite]         InitFile(PATH, V, overwrite) before NewFile
//	}
//
// Where this package knowingly differs from keepalived 2.2.7: an unweighted
// script that has not run yet is reported as Fault (keepalived keeps the
// instance in INIT, which is equally out of service); with init_fail,
// reverse applies from the start (keepalived's initialise_track_script_state
// ignores reverse until the first result); a check that hangs despite its
// context being cancelled counts as a failure at every interval it stays
// hung (keepalived kills the script, so its next run fails the same way).
package health
