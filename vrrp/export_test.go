package vrrp

import "context"

// Step mode for the simulation in package vrrp_test: the Node runs on the
// test's goroutine, driven by a vrrptest.ManualClock and LAN.

func (n *Node) StepStart(ctx context.Context) error { return n.stepStart(ctx) }

// StepStop stops the node: gracefully (priority 0, release) or as a crash.
func (n *Node) StepStop(graceful bool) { n.stepStop(graceful) }

// ResignedForTest reports whether the router resigned and does not preempt
// until it is master again (valid in step mode only).
func (r *Router) ResignedForTest() bool { return r.m.Resigned() }

// MasterAdverIntervalForTest is the router's Master_Adver_Interval (step mode).
func (r *Router) MasterAdverIntervalForTest() int64 { return int64(r.m.MasterAdverInterval()) }
