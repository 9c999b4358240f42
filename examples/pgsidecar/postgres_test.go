package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

// A Postgres that is down costs one connection attempt per backoff, the
// backoff doubling up to maxBackoff, and the observation says why.
func TestReconnectBacksOff(t *testing.T) {
	p, err := newPgClient("host="+filepath.Join(t.TempDir(), "none")+" user=postgres", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	var waits []time.Duration
	for i := 0; i < 9; i++ {
		o, err := p.observe(context.Background())
		if err == nil || errors.Is(err, errBackingOff) || o.Role != roleUnknown || o.Err == "" {
			t.Fatalf("attempt %d: %+v, %v; want a connection error", i, o, err)
		}
		wait := p.nextTry.Sub(now)
		waits = append(waits, wait)
		if wait > 0 {
			if _, err := p.observe(context.Background()); !errors.Is(err, errBackingOff) {
				t.Fatalf("attempt within the backoff: %v, want errBackingOff", err)
			}
		}
		now = p.nextTry
	}
	want := []time.Duration{0, 100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, w := range want {
		if waits[i] != w*time.Millisecond {
			t.Errorf("backoffs %v, want %v ms", waits, want)
			break
		}
	}
}
