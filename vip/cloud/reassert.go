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
	defer b.bg.Done()
	defer func() {
		b.mu.Lock()
		if r.cur == o {
			r.cur = nil
		}
		b.mu.Unlock()
		o.cancel(nil)
		close(o.done)
	}()
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
