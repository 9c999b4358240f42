package vrrptest

import (
	"context"
	"sync"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Backend is an in-memory vrrp.Backend that records what it was asked to
// do. The zero value is ready to use and safe for concurrent use.
type Backend struct {
	// Err, when set, is returned by every call (the call is still recorded).
	// Set it before the backend is used, or with SetErr.
	Err error
	// Gate, when set, makes every call wait until it can receive from Gate
	// or its context ends: a slow backend.
	Gate chan struct{}
	// Latency, when set, makes every call take that long on Clock (or end
	// early, not carried out, when its context ends): netlink and
	// announcements take milliseconds, a cloud API seconds.
	Latency time.Duration
	Clock   vrrp.Clock

	mu    sync.Mutex
	held  bool
	calls []BackendCall
}

// BackendCall is one recorded call.
type BackendCall struct {
	Op  string // "acquire", "release", "announce"
	Set vrrp.AddressSet
}

var _ vrrp.Backend = (*Backend)(nil)

func (b *Backend) call(ctx context.Context, op string, set vrrp.AddressSet) error {
	if b.Gate != nil {
		select {
		case <-b.Gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if b.Latency > 0 && b.Clock != nil {
		t := b.Clock.NewTimer(b.Latency)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, BackendCall{Op: op, Set: set})
	if b.Err != nil {
		return b.Err
	}
	switch op {
	case "acquire":
		b.held = true
	case "release":
		b.held = false
	}
	return nil
}

// Acquire records the call; the addresses are then held.
func (b *Backend) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	return b.call(ctx, "acquire", set)
}

// Release records the call; the addresses are then not held.
func (b *Backend) Release(ctx context.Context, set vrrp.AddressSet) error {
	return b.call(ctx, "release", set)
}

// Announce records the call.
func (b *Backend) Announce(ctx context.Context, set vrrp.AddressSet) error {
	return b.call(ctx, "announce", set)
}

// SetErr changes Err while the backend is in use.
func (b *Backend) SetErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Err = err
}

// Held reports whether the addresses are held (acquired and not released).
func (b *Backend) Held() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// Calls returns the operations recorded so far, in order.
func (b *Backend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, len(b.calls))
	for i, c := range b.calls {
		out[i] = c.Op
	}
	return out
}

// Recorded returns the calls recorded so far, with their address sets.
func (b *Backend) Recorded() []BackendCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BackendCall(nil), b.calls...)
}
