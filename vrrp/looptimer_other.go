//go:build !linux

package vrrp

import "time"

// newLoopTimer returns the Node loop's one timer: the clock's own.
func newLoopTimer(c Clock, _ bool) Timer {
	t := c.NewTimer(time.Hour)
	t.Stop()
	return t
}
