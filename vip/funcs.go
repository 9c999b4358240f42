package vip

import (
	"context"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Funcs is a backend made of Go functions: call a cloud API, flip a load
// balancer, or just record what happens. A nil function does nothing and
// succeeds. The functions are called as vrrp.Backend says: for one
// router, one at a time, in order, never from the protocol loop.
type Funcs struct {
	// Label names the backend in Multi's errors. Default "func".
	Label string

	OnAcquire  func(ctx context.Context, set vrrp.AddressSet) error
	OnRelease  func(ctx context.Context, set vrrp.AddressSet) error
	OnAnnounce func(ctx context.Context, set vrrp.AddressSet) error
}

var _ vrrp.Backend = Funcs{}

// Name is Label, or "func".
func (f Funcs) Name() string {
	if f.Label == "" {
		return "func"
	}
	return f.Label
}

// Acquire calls OnAcquire.
func (f Funcs) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	return call(ctx, f.OnAcquire, set)
}

// Release calls OnRelease.
func (f Funcs) Release(ctx context.Context, set vrrp.AddressSet) error {
	return call(ctx, f.OnRelease, set)
}

// Announce calls OnAnnounce.
func (f Funcs) Announce(ctx context.Context, set vrrp.AddressSet) error {
	return call(ctx, f.OnAnnounce, set)
}

func call(ctx context.Context, fn func(context.Context, vrrp.AddressSet) error, set vrrp.AddressSet) error {
	if fn == nil {
		return nil
	}
	return fn(ctx, set)
}
