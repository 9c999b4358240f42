package cloud

import (
	"context"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// reassert checks every Reassert (less up to a quarter, so that routers
// started together spread their checks) that the provider still points
// the addresses here, and claims them back if not, until cancelled.
func (b *Backend) reassert(ctx context.Context, r *routerState, o *op, set vrrp.AddressSet) {
	defer b.endBackground(r, o)
	t := time.NewTimer(b.o.Reassert)
	defer t.Stop()
	for {
		t.Reset(b.o.Reassert - rand.N(b.o.Reassert/4+1))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.st.reasserts.Add(1)
		cctx, cancel := context.WithTimeoutCause(ctx, b.o.AcquireTimeout, errAcquireDeadline)
		err := b.check(cctx, set)
		cancel()
		if err != nil && ctx.Err() == nil {
			b.log.Error("re-assertion failed; trying again later", zap.String("router", set.Router),
				zap.Duration("in", b.o.Reassert), zap.Error(err))
		}
	}
}

// preflight checks once, after a router's first call (usually the
// Release of a router starting as a backup), that the provider answers:
// it learns the instance's identity, fetches credentials, opens a
// connection — the work a takeover would otherwise wait for — and says
// at startup, not at the first failover, when a permission or an ID is
// wrong. A newer call cancels it.
func (b *Backend) preflight(ctx context.Context, r *routerState, o *op, set vrrp.AddressSet) {
	defer b.endBackground(r, o)
	var held bool
	err := b.call(ctx, set, "preflight", func(ctx context.Context) (err error) {
		held, err = b.p.Held(ctx, set)
		return err
	})
	switch {
	case ctx.Err() != nil:
	case err != nil:
		b.log.Error("preflight: the provider cannot be used; a takeover would fail", zap.String("router", set.Router), zap.Error(err))
	default:
		b.log.Debug("preflight: the provider answers", zap.String("router", set.Router), zap.Bool("held here", held))
	}
}

func (b *Backend) endBackground(r *routerState, o *op) {
	defer b.bg.Done()
	b.mu.Lock()
	if r.cur == o {
		r.cur = nil
	}
	b.mu.Unlock()
	o.cancel(nil)
	close(o.done)
}
