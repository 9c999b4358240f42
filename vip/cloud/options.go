package cloud

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Options tune the behaviour shared by every cloud backend. The zero
// value is the defaults.
type Options struct {
	// Name names the backend in vip.Multi's errors, the log and Stats.
	// Default: the Provider's Name.
	Name string

	// AcquireTimeout bounds an Acquire (and the claim of an Announce or a
	// re-assertion): past it, Acquire gives up with ErrAcquireTimeout.
	// Default 30 s.
	AcquireTimeout time.Duration
	// ReleaseTimeout bounds a Release's retries when the provider gives
	// addresses up on release. Default 30 s.
	ReleaseTimeout time.Duration
	// CallTimeout bounds each call to the Provider (one API request with
	// the SDK's own retries); a call that runs out is retried like a
	// server error. Default 10 s.
	CallTimeout time.Duration
	// RetryMin is the first wait before a retry, doubled at each retry up
	// to RetryMax, each wait drawn at random between half of it and all
	// of it. Defaults 200 ms and 5 s.
	RetryMin, RetryMax time.Duration
	// Reassert is how often a router that holds its addresses checks that
	// the provider still points them here, and claims them back if not.
	// Default 30 s; negative: never.
	Reassert time.Duration

	// Logger receives calls (Debug), retries and re-claims (Warn), and
	// failures (Error). Nil: no logging.
	Logger *zap.Logger
}

func (o Options) withDefaults(provider string) (Options, error) {
	if o.Name == "" {
		o.Name = provider
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AcquireTimeout", &o.AcquireTimeout, 30 * time.Second},
		{"ReleaseTimeout", &o.ReleaseTimeout, 30 * time.Second},
		{"CallTimeout", &o.CallTimeout, 10 * time.Second},
		{"RetryMin", &o.RetryMin, 200 * time.Millisecond},
		{"RetryMax", &o.RetryMax, 5 * time.Second},
	} {
		if *d.v < 0 {
			return o, fmt.Errorf("cloud: %s: negative %s %v", o.Name, d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.RetryMax < o.RetryMin {
		return o, fmt.Errorf("cloud: %s: RetryMax %v below RetryMin %v", o.Name, o.RetryMax, o.RetryMin)
	}
	if o.Reassert == 0 {
		o.Reassert = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o, nil
}
