//go:build !linux

package vrrpsched

import "errors"

// Apply is Linux-only: elsewhere anything but the zero Options fails.
func Apply(o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Zero() {
		return nil
	}
	return errors.New("vrrpsched: real-time scheduling, nice and mlockall are supported on Linux only")
}
