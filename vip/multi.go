package vip

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Multi composes backends into one: Acquire runs them in order, Release
// in reverse order, Announce in order. A backend is named in errors by its
// Name() string method if it has one (every backend of this package
// does), else by its position and type.
//
// No half-applied state is left silently. When a backend's Acquire fails,
// Multi releases it (its Acquire may have done part of its work; Release
// is idempotent by contract) and every backend before it, in reverse
// order, and returns the failure with any error of that undoing. Release
// and Announce run every backend even when one fails, and return every
// failure.
func Multi(backends ...vrrp.Backend) vrrp.Backend {
	m := &multi{backends: append([]vrrp.Backend(nil), backends...)}
	for i, b := range m.backends {
		m.names = append(m.names, backendName(i, b))
	}
	return m
}

type multi struct {
	backends []vrrp.Backend
	names    []string
}

func backendName(i int, b vrrp.Backend) string {
	if n, ok := b.(interface{ Name() string }); ok {
		return n.Name()
	}
	return fmt.Sprintf("backend %d (%T)", i, b)
}

// Name lists the composed backends: "multi(linux, command)".
func (m *multi) Name() string { return "multi(" + strings.Join(m.names, ", ") + ")" }

func (m *multi) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	for i, b := range m.backends {
		err := b.Acquire(ctx, set)
		if err == nil {
			continue
		}
		failed := fmt.Errorf("vip: acquire %s: %s: %w", set.Router, m.names[i], err)
		// Undo even if ctx is what failed: the addresses must not stay.
		undo := context.WithoutCancel(ctx)
		var undone []string
		var errs []error
		for j := i; j >= 0; j-- {
			if rerr := m.backends[j].Release(undo, set); rerr != nil {
				errs = append(errs, fmt.Errorf("vip: undoing acquire %s: release %s: %w", set.Router, m.names[j], rerr))
			} else {
				undone = append(undone, m.names[j])
			}
		}
		if len(errs) == 0 {
			return fmt.Errorf("%w (undone: released %s)", failed, strings.Join(undone, ", "))
		}
		errs = append([]error{failed}, errs...)
		return errors.Join(errs...)
	}
	return nil
}

func (m *multi) Release(ctx context.Context, set vrrp.AddressSet) error {
	var errs []error
	for i := len(m.backends) - 1; i >= 0; i-- {
		if err := m.backends[i].Release(ctx, set); err != nil {
			errs = append(errs, fmt.Errorf("vip: release %s: %s: %w", set.Router, m.names[i], err))
		}
	}
	return errors.Join(errs...)
}

func (m *multi) Announce(ctx context.Context, set vrrp.AddressSet) error {
	var errs []error
	for i, b := range m.backends {
		if err := b.Announce(ctx, set); err != nil {
			errs = append(errs, fmt.Errorf("vip: announce %s: %s: %w", set.Router, m.names[i], err))
		}
	}
	return errors.Join(errs...)
}
