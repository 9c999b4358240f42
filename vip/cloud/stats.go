package cloud

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are a Backend's counters since it was made.
type Stats struct {
	// Calls from vrrp, and how many of each returned an error.
	Acquires, AcquireErrors   uint64
	Releases, ReleaseErrors   uint64
	Announces, AnnounceErrors uint64
	// Cancelled counts calls that ended early because a newer call for
	// the router, or the caller's context, cancelled them (included in
	// the errors above).
	Cancelled uint64

	// ProviderCalls counts calls to the Provider (claims, checks,
	// unclaims), ProviderErrors those that failed (timeouts included,
	// cancellations not), Retries the waits before another attempt.
	ProviderCalls, ProviderErrors, Retries uint64
	// InFlight is the number of provider calls running now.
	InFlight int64
	// Reasserts counts periodic checks; Reclaims the checks (periodic or
	// by Announce) that found the addresses pointed elsewhere.
	Reasserts, Reclaims uint64

	// LastAcquire and MaxAcquire are how long successful Acquires took,
	// from the call to the provider showing the claim.
	LastAcquire, MaxAcquire time.Duration
	// LastError is the last provider error, and when it happened.
	LastError   string
	LastErrorAt time.Time

	// Holding lists the routers whose addresses the Backend holds (and
	// re-asserts), sorted.
	Holding []string
}

type counters struct {
	acquires, acquireErrors   atomic.Uint64
	releases, releaseErrors   atomic.Uint64
	announces, announceErrors atomic.Uint64
	cancelled                 atomic.Uint64
	calls, callErrors         atomic.Uint64
	retries                   atomic.Uint64
	inFlight                  atomic.Int64
	reasserts, reclaims       atomic.Uint64

	mu                      sync.Mutex
	lastAcquire, maxAcquire time.Duration
	lastError               string
	lastErrorAt             time.Time
}

func (c *counters) acquired(took time.Duration) {
	c.mu.Lock()
	c.lastAcquire = took
	c.maxAcquire = max(c.maxAcquire, took)
	c.mu.Unlock()
}

func (c *counters) callFailed(err error) {
	c.callErrors.Add(1)
	c.mu.Lock()
	c.lastError, c.lastErrorAt = err.Error(), time.Now()
	c.mu.Unlock()
}

// Stats returns the counters.
func (b *Backend) Stats() Stats {
	c := &b.st
	s := Stats{
		Acquires: c.acquires.Load(), AcquireErrors: c.acquireErrors.Load(),
		Releases: c.releases.Load(), ReleaseErrors: c.releaseErrors.Load(),
		Announces: c.announces.Load(), AnnounceErrors: c.announceErrors.Load(),
		Cancelled:     c.cancelled.Load(),
		ProviderCalls: c.calls.Load(), ProviderErrors: c.callErrors.Load(), Retries: c.retries.Load(),
		InFlight:  c.inFlight.Load(),
		Reasserts: c.reasserts.Load(), Reclaims: c.reclaims.Load(),
	}
	c.mu.Lock()
	s.LastAcquire, s.MaxAcquire = c.lastAcquire, c.maxAcquire
	s.LastError, s.LastErrorAt = c.lastError, c.lastErrorAt
	c.mu.Unlock()
	b.mu.Lock()
	for name, r := range b.routers {
		if r.holds {
			s.Holding = append(s.Holding, name)
		}
	}
	b.mu.Unlock()
	slices.Sort(s.Holding)
	return s
}
