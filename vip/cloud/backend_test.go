package cloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// fake is a Provider whose calls the test scripts. By default Claim
// points the addresses here, Held says whether they are, Unclaim does
// nothing. It records every call and whether two calls for one router
// ever overlapped.
type fake struct {
	mu      sync.Mutex
	calls   []string
	running map[string]int
	overlap bool
	here    bool // the provider points the addresses at this instance

	claim   func(ctx context.Context, n int) error         // n: 1 for the first claim
	held    func(ctx context.Context, n int) (bool, error) // nil: report here
	unclaim func(ctx context.Context, n int) error
	counts  map[string]int
}

func newFake() *fake { return &fake{running: map[string]int{}, counts: map[string]int{}} }

func (f *fake) Name() string { return "fake" }

func (f *fake) enter(what string, set vrrp.AddressSet) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running[set.Router] > 0 {
		f.overlap = true
	}
	f.running[set.Router]++
	f.calls = append(f.calls, what+" "+set.Router)
	f.counts[what]++
	return f.counts[what]
}

func (f *fake) leave(set vrrp.AddressSet) {
	f.mu.Lock()
	f.running[set.Router]--
	f.mu.Unlock()
}

func (f *fake) Claim(ctx context.Context, set vrrp.AddressSet) error {
	n := f.enter("claim", set)
	defer f.leave(set)
	if f.claim != nil {
		if err := f.claim(ctx, n); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.here = true
	f.mu.Unlock()
	return nil
}

func (f *fake) Held(ctx context.Context, set vrrp.AddressSet) (bool, error) {
	n := f.enter("check", set)
	defer f.leave(set)
	if f.held != nil {
		return f.held(ctx, n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.here, nil
}

func (f *fake) Unclaim(ctx context.Context, set vrrp.AddressSet) error {
	n := f.enter("unclaim", set)
	defer f.leave(set)
	if f.unclaim != nil {
		return f.unclaim(ctx, n)
	}
	return nil
}

func (f *fake) setHere(v bool) {
	f.mu.Lock()
	f.here = v
	f.mu.Unlock()
}

func (f *fake) count(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[what]
}

func (f *fake) journal() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fake) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.overlap {
		t.Errorf("two provider calls for one router overlapped: %v", f.calls)
	}
	for r, n := range f.running {
		if n != 0 {
			t.Errorf("%d provider calls for %s still running", n, r)
		}
	}
}

var set1 = vrrp.AddressSet{Router: "VI_1", VRID: 1, Interface: "eth0", Priority: 100}

// quick are options with no re-assertion, so that a bubble's goroutines
// end with the calls.
var quick = Options{AcquireTimeout: 10 * time.Second, CallTimeout: 2 * time.Second,
	RetryMin: 100 * time.Millisecond, RetryMax: time.Second, Reassert: -1}

func newBackend(t *testing.T, p Provider, o Options) *Backend {
	t.Helper()
	b, err := New(p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

var (
	errThrottled = errors.New("RequestLimitExceeded: rate exceeded")
	errNoSuchENI = errors.New("InvalidNetworkInterfaceID.NotFound")
)

func TestAcquireClaimsOnceAndWaitsUntilTheProviderShowsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.held = func(_ context.Context, n int) (bool, error) { return n >= 3, nil } // eventual consistency
		b := newBackend(t, f, quick)
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		want := []string{"claim VI_1", "check VI_1", "check VI_1", "check VI_1"}
		if got := f.journal(); !slices.Equal(got, want) {
			t.Errorf("calls %v, want %v", got, want)
		}
		s := b.Stats()
		if s.Acquires != 1 || s.AcquireErrors != 0 || s.ProviderCalls != 4 || s.Retries != 2 || !slices.Equal(s.Holding, []string{"VI_1"}) {
			t.Errorf("stats %+v", s)
		}
		f.check(t)
	})
}

func TestAcquireRetriesTransientErrorsWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		var at []time.Time
		f.claim = func(_ context.Context, n int) error {
			at = append(at, time.Now())
			if n <= 4 {
				return errThrottled
			}
			return nil
		}
		b := newBackend(t, f, quick)
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if len(at) != 5 {
			t.Fatalf("%d claims, want 5", len(at))
		}
		// Waits of [d/2, d] with d = 100 ms, 200 ms, 400 ms, 800 ms.
		for i, d := range []time.Duration{100, 200, 400, 800} {
			d *= time.Millisecond
			if gap := at[i+1].Sub(at[i]); gap < d/2 || gap > d {
				t.Errorf("wait %d: %v, want %v..%v", i+1, gap, d/2, d)
			}
		}
		if s := b.Stats(); s.ProviderErrors != 4 || s.Retries != 4 || !strings.Contains(s.LastError, "RequestLimitExceeded") {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestBackoffStopsGrowingAtRetryMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		var at []time.Time
		f.claim = func(_ context.Context, n int) error {
			at = append(at, time.Now())
			if n < 10 {
				return errThrottled
			}
			return nil
		}
		o := quick
		o.AcquireTimeout = time.Minute
		b := newBackend(t, f, o)
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		for i := 5; i < len(at)-1; i++ {
			if gap := at[i+1].Sub(at[i]); gap < o.RetryMax/2 || gap > o.RetryMax {
				t.Errorf("wait %d: %v, want %v..%v", i+1, gap, o.RetryMax/2, o.RetryMax)
			}
		}
	})
}

func TestAcquireRejectedFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(context.Context, int) error { return Permanent(errNoSuchENI) }
		b := newBackend(t, f, quick)
		start := time.Now()
		err := b.Acquire(t.Context(), set1)
		if !errors.Is(err, ErrRejected) || !errors.Is(err, errNoSuchENI) || errors.Is(err, ErrAcquireTimeout) {
			t.Fatalf("error %v: want ErrRejected wrapping the provider's", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("took %v: a rejection is not retried", took)
		}
		if f.count("claim") != 1 {
			t.Errorf("%d claims", f.count("claim"))
		}
		if s := b.Stats(); s.AcquireErrors != 1 || len(s.Holding) != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestAcquireGivesUpAfterAcquireTimeoutWithTheSentinel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(context.Context, int) error { return errors.New("InternalError: 500") }
		b := newBackend(t, f, quick)
		start := time.Now()
		err := b.Acquire(t.Context(), set1)
		if !errors.Is(err, ErrAcquireTimeout) || !strings.Contains(err.Error(), "InternalError") {
			t.Fatalf("error %v: want ErrAcquireTimeout with the last error", err)
		}
		if took := time.Since(start); took != quick.AcquireTimeout {
			t.Errorf("gave up after %v, want AcquireTimeout %v", took, quick.AcquireTimeout)
		}
		n := len(f.journal())
		// A failed Acquire leaves nothing running: no claim in the background.
		time.Sleep(time.Hour)
		if got := len(f.journal()); got != n {
			t.Errorf("%d provider calls after the failed Acquire returned", got-n)
		}
		f.check(t)
	})
}

func TestAcquireTimeoutCountsWhileTheProviderHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(ctx context.Context, _ int) error { <-ctx.Done(); return ctx.Err() }
		o := quick
		o.CallTimeout = time.Hour // longer than AcquireTimeout
		b := newBackend(t, f, o)
		start := time.Now()
		err := b.Acquire(t.Context(), set1)
		if !errors.Is(err, ErrAcquireTimeout) || time.Since(start) != o.AcquireTimeout {
			t.Fatalf("error %v after %v", err, time.Since(start))
		}
		f.check(t)
	})
}

func TestCallTimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(ctx context.Context, n int) error {
			if n == 1 {
				<-ctx.Done() // the endpoint never answers
				return ctx.Err()
			}
			return nil
		}
		b := newBackend(t, f, quick)
		start := time.Now()
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < quick.CallTimeout || took > quick.CallTimeout+quick.RetryMin {
			t.Errorf("took %v, want CallTimeout and one short wait", took)
		}
		if s := b.Stats(); s.ProviderErrors != 1 || !strings.Contains(s.LastError, "no answer within 2s") {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestCallerCancelEndsAcquireAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(ctx context.Context, _ int) error { <-ctx.Done(); return ctx.Err() }
		b := newBackend(t, f, quick)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- b.Acquire(ctx, set1) }()
		time.Sleep(300 * time.Millisecond)
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrAcquireTimeout) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		f.check(t)
		if s := b.Stats(); s.Cancelled != 1 || s.InFlight != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestNewerCallCancelsTheOneInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(ctx context.Context, _ int) error { <-ctx.Done(); return ctx.Err() }
		b := newBackend(t, f, quick)
		acquired := make(chan error)
		go func() { acquired <- b.Acquire(t.Context(), set1) }()
		synctest.Wait() // the claim hangs
		start := time.Now()
		if err := b.Release(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("release waited %v for the acquire", took)
		}
		if err := <-acquired; !errors.Is(err, ErrSuperseded) {
			t.Fatalf("acquire: %v, want ErrSuperseded", err)
		}
		// The release started only once the claim had returned.
		want := []string{"claim VI_1", "unclaim VI_1"}
		if got := f.journal(); !slices.Equal(got, want) {
			t.Errorf("calls %v, want %v", got, want)
		}
		f.check(t)
		if s := b.Stats(); len(s.Holding) != 0 || s.Cancelled != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestLatestOfManyConcurrentCallsWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(ctx context.Context, _ int) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
				return nil
			}
		}
		b := newBackend(t, f, quick)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					errs[i] = b.Acquire(t.Context(), set1)
				} else {
					errs[i] = b.Release(t.Context(), set1)
				}
			}()
			synctest.Wait() // call i is running or waiting for its turn
		}
		time.Sleep(time.Millisecond)
		last := b.Acquire(t.Context(), set1) // the newest
		wg.Wait()
		if last != nil {
			t.Fatalf("newest acquire: %v", last)
		}
		for i, err := range errs {
			if err != nil && !errors.Is(err, ErrSuperseded) {
				t.Errorf("call %d: %v", i, err)
			}
		}
		if s := b.Stats(); !slices.Equal(s.Holding, []string{"VI_1"}) {
			t.Errorf("holding %v", s.Holding)
		}
		f.check(t)
	})
}

func TestRoutersDoNotWaitForEachOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.claim = func(ctx context.Context, n int) error {
			if n == 1 {
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}
		b := newBackend(t, f, quick)
		ctx, cancel := context.WithCancel(t.Context())
		go b.Acquire(ctx, set1)
		synctest.Wait()
		set2 := set1
		set2.Router = "VI_2"
		start := time.Now()
		if err := b.Acquire(t.Context(), set2); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 0 {
			t.Errorf("VI_2 waited for VI_1")
		}
		cancel()
		synctest.Wait()
		f.check(t)
	})
}

func TestReassertClaimsBackWhatWasMovedBehindOurBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		o := quick
		o.Reassert = 10 * time.Second
		b := newBackend(t, f, o)
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		// Held: one check per period, no claim.
		time.Sleep(35 * time.Second)
		if c, k := f.count("claim"), f.count("check"); c != 1 || k < 1+3 || k > 1+4 {
			t.Errorf("after 35 s held: %d claims, %d checks; want 1 claim and a check every 7.5..10 s", c, k)
		}
		f.setHere(false) // someone moved it
		time.Sleep(o.Reassert + time.Millisecond)
		if c := f.count("claim"); c != 2 {
			t.Errorf("%d claims after the move, want 2", c)
		}
		if s := b.Stats(); s.Reclaims != 1 || s.Reasserts < 4 {
			t.Errorf("stats %+v", s)
		}
		// Release stops it.
		if err := b.Release(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		n := len(f.journal())
		f.setHere(false)
		time.Sleep(time.Hour)
		if got := len(f.journal()); got != n+0 {
			t.Errorf("%d provider calls after release", got-n)
		}
		f.check(t)
	})
}

func TestReassertKeepsTryingWhenTheCheckFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		down := false
		var mu sync.Mutex
		f.held = func(context.Context, int) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if down {
				return false, errors.New("ServiceUnavailable")
			}
			return true, nil
		}
		o := quick
		o.Reassert = 10 * time.Second
		o.AcquireTimeout = 5 * time.Second
		b := newBackend(t, f, o)
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		down = true
		mu.Unlock()
		time.Sleep(25 * time.Second) // two failed re-assertions
		mu.Lock()
		down = false
		mu.Unlock()
		before := f.count("check")
		time.Sleep(o.Reassert)
		if f.count("check") <= before {
			t.Error("no check after the failures: the re-assertion stopped")
		}
		if s := b.Stats(); !slices.Equal(s.Holding, []string{"VI_1"}) || s.ProviderErrors == 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestAnnounceChecksAndClaimsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := newBackend(t, f, quick)
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if err := b.Announce(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if c := f.count("claim"); c != 1 {
			t.Errorf("announce while held sent a claim (%d)", c)
		}
		f.setHere(false)
		if err := b.Announce(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if c := f.count("claim"); c != 2 {
			t.Errorf("%d claims, want 2", c)
		}
		if s := b.Stats(); s.Reclaims != 1 || s.Announces != 2 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestReleaseRetriesUnclaimWithinReleaseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.unclaim = func(_ context.Context, n int) error {
			if n < 3 {
				return errThrottled
			}
			return nil
		}
		b := newBackend(t, f, quick)
		if err := b.Release(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if n := f.count("unclaim"); n != 3 {
			t.Errorf("%d unclaims", n)
		}
		f.unclaim = func(context.Context, int) error { return errThrottled }
		o := quick
		o.ReleaseTimeout = 3 * time.Second
		b2 := newBackend(t, f, o)
		start := time.Now()
		err := b2.Release(t.Context(), set1)
		if err == nil || !strings.Contains(err.Error(), "release timeout") || time.Since(start) != o.ReleaseTimeout {
			t.Errorf("release: %v after %v", err, time.Since(start))
		}
	})
}

func TestCloseStopsReassertionAndRefusesCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		o := quick
		o.Reassert = time.Second
		b, err := New(f, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		b.Close()
		n := len(f.journal())
		time.Sleep(time.Minute)
		if len(f.journal()) != n {
			t.Error("provider called after Close")
		}
		if err := b.Acquire(t.Context(), set1); !errors.Is(err, ErrClosed) {
			t.Errorf("acquire after close: %v", err)
		}
	})
}

func TestLogsNameTheRouterAndError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.DebugLevel)
		f := newFake()
		f.claim = func(_ context.Context, n int) error {
			if n == 1 {
				return errThrottled
			}
			return nil
		}
		o := quick
		o.Logger = zap.New(core)
		b := newBackend(t, f, o)
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range logs.All() {
			ctx := e.ContextMap()
			if ctx["backend"] != "fake" || ctx["router"] != "VI_1" {
				t.Errorf("log %q without backend and router: %v", e.Message, ctx)
			}
			msgs = append(msgs, fmt.Sprintf("%s %s", e.Level, e.Message))
		}
		want := []string{"debug provider call", "warn retrying", "debug provider call", "debug provider call", "info addresses claimed"}
		if !slices.Equal(msgs, want) {
			t.Errorf("logs %q, want %q", msgs, want)
		}
	})
}

func TestOptionsRefuseNonsense(t *testing.T) {
	for _, o := range []Options{
		{AcquireTimeout: -1}, {CallTimeout: -time.Second}, {RetryMin: time.Second, RetryMax: time.Millisecond},
	} {
		if _, err := New(newFake(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestPreflightAfterAFirstReleaseChecksTheProviderOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.ErrorLevel)
		f := newFake()
		f.held = func(context.Context, int) (bool, error) { return false, errors.New("UnauthorizedOperation") }
		o := quick
		o.Logger = zap.New(core)
		b := newBackend(t, f, o)
		if err := b.Release(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := f.journal(); !slices.Equal(got, []string{"unclaim VI_1", "check VI_1"}) {
			t.Errorf("calls %v: want the release, then one check", got)
		}
		if logs.FilterMessageSnippet("preflight").Len() != 1 {
			t.Errorf("the failed preflight was not logged as an error: %v", logs.All())
		}
		if err := b.Release(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := f.count("check"); n != 1 {
			t.Errorf("%d checks: the preflight runs once", n)
		}
	})
}

func TestAcquireCancelsARunningPreflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.held = func(ctx context.Context, n int) (bool, error) {
			if n == 1 {
				<-ctx.Done() // the preflight hangs
				return false, ctx.Err()
			}
			return true, nil
		}
		b := newBackend(t, f, quick)
		if err := b.Release(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		if err := b.Acquire(t.Context(), set1); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 0 {
			t.Errorf("the acquire waited %v for the preflight", time.Since(start))
		}
		f.check(t)
	})
}
