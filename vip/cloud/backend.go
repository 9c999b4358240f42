package cloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Provider is one cloud's way of pointing a router's addresses at this
// instance. The Backend calls it for one router at a time, never
// concurrently for one router; calls for different routers may overlap.
// Each call is one attempt (an API request, with whatever retries its
// SDK makes within the context): the Backend retries, bounds and orders
// them. An error that retrying cannot fix is wrapped with Permanent.
type Provider interface {
	// Name identifies the provider ("aws-secondary-ip").
	Name() string
	// Claim asks the provider to point the addresses at this instance,
	// idempotently; it returns once the provider has accepted the
	// request, which may take effect later (Held tells).
	Claim(ctx context.Context, set vrrp.AddressSet) error
	// Held reports whether the provider points the addresses at this
	// instance now, changing nothing.
	Held(ctx context.Context, set vrrp.AddressSet) (bool, error)
	// Unclaim gives the addresses up if the provider is configured to and
	// they are still this instance's; otherwise it returns nil at once.
	Unclaim(ctx context.Context, set vrrp.AddressSet) error
}

// Backend is a vrrp.Backend over a Provider; see the package doc for
// its contract. Its methods may be called from any goroutine.
type Backend struct {
	p   Provider
	o   Options
	log *zap.Logger

	mu      sync.Mutex
	routers map[string]*routerState
	closed  bool
	bg      sync.WaitGroup // re-assertions

	st counters
}

var _ vrrp.Backend = (*Backend)(nil)

// routerState is what the Backend knows of one router.
type routerState struct {
	cur     *op  // the call or background work running for the router, if any
	holds   bool // the last Acquire or Announce confirmed, and no Release since
	checked bool // the preflight check ran (or a call reached the provider)
}

// op is one call or re-assertion; the next one for its router cancels
// it and waits for done.
type op struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// Causes of an op's context ending, told apart in its error.
var (
	errAcquireDeadline = errors.New("acquire deadline")
	errReleaseDeadline = errors.New("release deadline")
	errCallTimeout     = errors.New("call timeout")
	errNotVisible      = errors.New("accepted, not yet visible")
)

// After this many checks that do not show an accepted claim, it is sent
// again: the provider may have lost it, or another instance claimed since.
const resendAfter = 3

// New returns a Backend over p.
func New(p Provider, o Options) (*Backend, error) {
	o, err := o.withDefaults(p.Name())
	if err != nil {
		return nil, err
	}
	return &Backend{p: p, o: o, log: o.Logger.With(zap.String("backend", o.Name)), routers: map[string]*routerState{}}, nil
}

// Name is Options.Name, for vip.Multi's errors.
func (b *Backend) Name() string { return b.o.Name }

// Acquire points the set's addresses at this instance and waits until
// the provider shows it (see the package doc for its errors).
func (b *Backend) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	start := time.Now()
	b.st.acquires.Add(1)
	set = own(set)
	ctx, r, o, err := b.begin(ctx, set.Router)
	if err != nil {
		b.st.acquireErrors.Add(1)
		return b.failed("acquire", set, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.o.AcquireTimeout, errAcquireDeadline)
	attempts, err := b.claim(ctx, set)
	cancel()
	b.finish(r, o, err == nil, true, set)
	took := time.Since(start)
	if err != nil {
		b.st.acquireErrors.Add(1)
		return b.failed("acquire", set, err)
	}
	b.st.acquired(took)
	b.log.Info("addresses claimed", zap.String("router", set.Router), zap.Duration("took", took), zap.Int("attempts", attempts))
	return nil
}

// Release stops what runs for the router (an Acquire, the re-assertion)
// and, if the provider is configured to, gives the addresses up.
func (b *Backend) Release(ctx context.Context, set vrrp.AddressSet) error {
	b.st.releases.Add(1)
	set = own(set)
	ctx, r, o, err := b.begin(ctx, set.Router)
	if err != nil {
		b.st.releaseErrors.Add(1)
		return b.failed("release", set, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.o.ReleaseTimeout, errReleaseDeadline)
	err = b.retry(ctx, set, "unclaim", func(ctx context.Context) error { return b.p.Unclaim(ctx, set) })
	cancel()
	b.finish(r, o, false, false, set)
	if err != nil {
		b.st.releaseErrors.Add(1)
		return b.failed("release", set, err)
	}
	return nil
}

// Announce checks at once that the provider points the addresses here,
// and claims them back if not.
func (b *Backend) Announce(ctx context.Context, set vrrp.AddressSet) error {
	b.st.announces.Add(1)
	set = own(set)
	ctx, r, o, err := b.begin(ctx, set.Router)
	if err != nil {
		b.st.announceErrors.Add(1)
		return b.failed("announce", set, err)
	}
	b.mu.Lock()
	held := r.holds
	b.mu.Unlock()
	ctx, cancel := context.WithTimeoutCause(ctx, b.o.AcquireTimeout, errAcquireDeadline)
	err = b.check(ctx, set)
	cancel()
	b.finish(r, o, held || err == nil, true, set)
	if err != nil {
		b.st.announceErrors.Add(1)
		return b.failed("announce", set, err)
	}
	return nil
}

// Close stops every re-assertion and makes further calls fail with
// ErrClosed. It gives no address up.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	for _, r := range b.routers {
		if r.cur != nil {
			r.cur.cancel(ErrClosed)
		}
	}
	b.mu.Unlock()
	b.bg.Wait()
	return nil
}

// own copies what the Backend keeps of a set past the call.
func own(set vrrp.AddressSet) vrrp.AddressSet {
	set.VIPs = slices.Clone(set.VIPs)
	return set
}

// begin makes the call the one running for its router: it cancels the
// one running (latest wins) and waits for it to end.
func (b *Backend) begin(ctx context.Context, router string) (context.Context, *routerState, *op, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.closed {
			return nil, nil, nil, ErrClosed
		}
		r := b.routers[router]
		if r == nil {
			r = &routerState{}
			b.routers[router] = r
		}
		if r.cur == nil {
			o := &op{done: make(chan struct{})}
			var opCtx context.Context
			opCtx, o.cancel = context.WithCancelCause(ctx)
			r.cur = o
			return opCtx, r, o, nil
		}
		cur := r.cur
		cur.cancel(ErrSuperseded)
		b.mu.Unlock()
		select {
		case <-cur.done:
		case <-ctx.Done():
			b.mu.Lock()
			return nil, nil, nil, context.Cause(ctx)
		}
		b.mu.Lock()
	}
}

// finish ends o, the router's current call; when the router holds its
// addresses, the re-assertion takes over, and after a first call that did
// not reach the provider (a Release), the preflight check.
func (b *Backend) finish(r *routerState, o *op, holds, reached bool, set vrrp.AddressSet) {
	b.mu.Lock()
	r.holds = holds
	r.cur = nil
	var bg func(context.Context, *routerState, *op, vrrp.AddressSet)
	switch {
	case b.closed:
	case holds && b.o.Reassert > 0:
		bg = b.reassert
	case !r.checked && !reached:
		bg = b.preflight
	}
	r.checked = true
	if bg != nil {
		next := &op{done: make(chan struct{})}
		var ctx context.Context
		ctx, next.cancel = context.WithCancelCause(context.Background())
		r.cur = next
		b.bg.Add(1)
		go bg(ctx, r, next, set)
	}
	b.mu.Unlock()
	o.cancel(nil)
	close(o.done)
}

// failed names the call in its error and logs it.
func (b *Backend) failed(what string, set vrrp.AddressSet, err error) error {
	err = fmt.Errorf("%s %s for %s: %w", b.o.Name, what, set.Router, err)
	if errors.Is(err, ErrSuperseded) || errors.Is(err, context.Canceled) {
		b.st.cancelled.Add(1)
		b.log.Info(what+" cancelled", zap.String("router", set.Router), zap.Error(err))
	} else {
		b.log.Error(what+" failed", zap.String("router", set.Router), zap.Error(err))
	}
	return err
}
