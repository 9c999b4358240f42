//go:build !linux

package health

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Interface is track_interface, which needs Linux's netlink: on other
// systems NewInterface fails, and there are no Interface values.
type Interface struct {
	name string
}

// NewInterface fails: watching a link needs Linux's netlink.
func NewInterface(name string) (*Interface, error) {
	return nil, fmt.Errorf("health: track interface %s: not supported on %s (needs Linux netlink): %w", name, runtime.GOOS, errors.ErrUnsupported)
}

// Name is the interface watched.
func (i *Interface) Name() string { return i.name }

// Changed implements Watcher; it is never closed.
func (i *Interface) Changed() <-chan struct{} { return nil }

// Up reports down.
func (i *Interface) Up() (bool, string) { return false, "not supported on " + runtime.GOOS }

// Check reports down.
func (i *Interface) Check(context.Context) Result {
	up, reason := i.Up()
	return Result{Up: up, Reason: reason}
}

// Close does nothing.
func (i *Interface) Close() error { return nil }
