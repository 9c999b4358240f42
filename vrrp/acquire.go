package vrrp

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// A master whose backend cannot acquire its addresses is a master in name
// only: the traffic to the VIPs goes nowhere, and no backup takes over
// while it advertises. The core retries a failed Acquire with backoff and,
// past Config.AcquireTimeout, puts the router in Fault — a priority-0
// advert hands the addresses to a backup — for as long again before it
// takes part again.

// The waits between retries of a failed Acquire.
const (
	acquireRetryMin = 100 * time.Millisecond
	acquireRetryMax = 2 * time.Second
)

// acquired is the backend's answer to an Acquire of r: err nil, or why it
// failed.
func (c *core) acquired(now time.Time, r *coreRouter, err error) {
	if r.removed {
		return
	}
	if err == nil {
		r.acquireFailing, r.acquireRetry, r.retryAt = time.Time{}, 0, time.Time{}
		c.reschedule(r)
		return
	}
	if r.m.State() != Master {
		return // no longer wanted
	}
	if r.acquireFailing.IsZero() {
		r.acquireFailing = now
	}
	if now.Sub(r.acquireFailing) >= r.cfg.AcquireTimeout {
		c.logf(r, zapcore.ErrorLevel, "("+r.cfg.Name+") cannot acquire the addresses; handing over",
			zap.Duration("failing_for", now.Sub(r.acquireFailing)), zap.Error(err))
		r.acquireFailing, r.acquireRetry, r.retryAt = time.Time{}, 0, time.Time{}
		r.faultUntil = now.Add(r.cfg.AcquireTimeout)
		c.setFault(r, faultBackend, true, "cannot acquire the addresses: "+err.Error(), now)
		c.reschedule(r)
		c.settle(now)
		return
	}
	r.acquireRetry = min(max(2*r.acquireRetry, acquireRetryMin), acquireRetryMax)
	r.retryAt = now.Add(r.acquireRetry)
	c.reschedule(r)
}

// retryAcquire asks the backend again, if r is still master.
func (c *core) retryAcquire(r *coreRouter) {
	if r.m.State() == Master {
		c.backendOp(r, ActAcquire)
	}
}
