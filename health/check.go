package health

import (
	"context"
	"fmt"
)

// Check is one health check. Check runs it once and returns its result; it
// must return soon after ctx is done (the Tracker cancels ctx when the
// check's timeout expires and when the tracker stops). A Tracker never calls
// Check concurrently with itself, but one Check value shared by several
// Trackers is called concurrently, so checks keep no per-call state.
type Check interface {
	Check(ctx context.Context) Result
}

// Watcher is a Check whose object reports its own changes (netlink events
// for Interface, inotify for File), so a Tracker runs it again as soon as
// something changes instead of polling it.
type Watcher interface {
	Check
	// Changed returns a channel that is closed at the next change after
	// the call. Closing (rather than sending) wakes every tracker that
	// watches the same object.
	Changed() <-chan struct{}
}

// Result is the outcome of one run of a check.
type Result struct {
	// Up says the check passed.
	Up bool
	// Reason says why, for logs: "exit status 1", "connection refused",
	// "2 processes running, quorum 1-1".
	Reason string
	// Output is what the check printed (Exec), bounded, for the log.
	Output string
	// Valued marks a check that measures a number rather than passing or
	// failing (File: keepalived's track_file). The tracker then takes
	// Value as it is, multiplied by the weight, without rise and fall.
	Valued bool
	Value  int64
}

// Func is a check written in Go: nil means up, an error means down with the
// error as the reason. A panic is down, not a crash. Func must honour ctx.
type Func func(ctx context.Context) error

// Check runs f.
func (f Func) Check(ctx context.Context) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Reason: fmt.Sprintf("panic: %v", p)}
		}
	}()
	if err := f(ctx); err != nil {
		return Result{Reason: err.Error()}
	}
	return Result{Up: true, Reason: "ok"}
}

// kind names a check in log messages, in keepalived's words.
func kind(c Check) string {
	switch c.(type) {
	case *Process:
		return "Track_Process"
	case *Interface:
		return "Track_Interface"
	case *File:
		return "Track_File"
	default:
		return "VRRP_Script"
	}
}
