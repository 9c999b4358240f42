package cloud

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// claim sends the claim and waits until the provider shows it, retrying
// until ctx ends. It returns how many claims it sent.
func (b *Backend) claim(ctx context.Context, set vrrp.AddressSet) (int, error) {
	var (
		claims int
		sent   bool // accepted, not yet shown
		unseen int  // checks since that did not show it
		last   error
		delay  = b.o.RetryMin
	)
	for {
		if !sent {
			claims++
			err := b.call(ctx, set, "claim", func(ctx context.Context) error { return b.p.Claim(ctx, set) })
			if ctx.Err() != nil {
				return claims, ended(ctx, last)
			}
			switch {
			case err == nil:
				sent, unseen = true, 0
			case IsPermanent(err):
				return claims, err
			default:
				last = err
			}
		}
		if sent {
			var held bool
			err := b.call(ctx, set, "check", func(ctx context.Context) (err error) {
				held, err = b.p.Held(ctx, set)
				return err
			})
			if ctx.Err() != nil {
				return claims, ended(ctx, last)
			}
			switch {
			case err == nil && held:
				return claims, nil
			case IsPermanent(err):
				return claims, err
			case err != nil:
				last = err
			default:
				last = errNotVisible
				if unseen++; unseen >= resendAfter {
					sent = false
				}
			}
		}
		if !b.pause(ctx, set, &delay, last) {
			return claims, ended(ctx, last)
		}
	}
}

// check confirms that the provider points the addresses here, and claims
// them back if not.
func (b *Backend) check(ctx context.Context, set vrrp.AddressSet) error {
	var held bool
	err := b.call(ctx, set, "check", func(ctx context.Context) (err error) {
		held, err = b.p.Held(ctx, set)
		return err
	})
	if err == nil && held {
		return nil
	}
	if err == nil {
		b.st.reclaims.Add(1)
		b.log.Warn("the provider points the addresses elsewhere; claiming them back", zap.String("router", set.Router))
	}
	_, err = b.claim(ctx, set)
	return err
}

// retry calls f until it succeeds, fails permanently or ctx ends.
func (b *Backend) retry(ctx context.Context, set vrrp.AddressSet, what string, f func(context.Context) error) error {
	delay := b.o.RetryMin
	var last error
	for {
		err := b.call(ctx, set, what, f)
		if ctx.Err() != nil {
			return ended(ctx, last)
		}
		if err == nil || IsPermanent(err) {
			return err
		}
		last = err
		if !b.pause(ctx, set, &delay, err) {
			return ended(ctx, err)
		}
	}
}

// pause waits before a retry: *delay at most, half of it at least, then
// doubles *delay up to RetryMax. It returns false when ctx ends first.
func (b *Backend) pause(ctx context.Context, set vrrp.AddressSet, delay *time.Duration, last error) bool {
	if ctx.Err() != nil {
		return false
	}
	wait := *delay/2 + rand.N(*delay/2+1)
	*delay = min(2**delay, b.o.RetryMax)
	b.st.retries.Add(1)
	if errors.Is(last, errNotVisible) || errors.Is(last, ErrInProgress) {
		b.log.Debug("waiting for the provider to show the claim", zap.String("router", set.Router), zap.Duration("wait", wait))
	} else {
		b.log.Warn("retrying", zap.String("router", set.Router), zap.Duration("wait", wait), zap.Error(last))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// call makes one provider call, bounded by CallTimeout, and counts it.
func (b *Backend) call(ctx context.Context, set vrrp.AddressSet, what string, f func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeoutCause(ctx, b.o.CallTimeout, errCallTimeout)
	defer cancel()
	b.st.calls.Add(1)
	b.st.inFlight.Add(1)
	start := time.Now()
	err := f(cctx)
	took := time.Since(start)
	b.st.inFlight.Add(-1)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(cctx), errCallTimeout) {
		err = fmt.Errorf("%s: no answer within %v: %w", what, b.o.CallTimeout, err)
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrInProgress) {
		b.st.callFailed(err)
	}
	b.log.Debug("provider call", zap.String("router", set.Router), zap.String("call", what),
		zap.Duration("took", took), zap.Error(err))
	return err
}

// ended is the error of a retry loop whose context ended, last being the
// last attempt's error (or nil).
func ended(ctx context.Context, last error) error {
	cause := context.Cause(ctx)
	var err error
	switch {
	case errors.Is(cause, errAcquireDeadline):
		err = ErrAcquireTimeout
	case errors.Is(cause, errReleaseDeadline):
		err = errors.New("release timeout")
	default:
		err = cause
	}
	if last == nil || errors.Is(last, cause) {
		return err
	}
	return fmt.Errorf("%w; last error: %w", err, last)
}
