package vrrp

import "context"

// Step mode for the simulation in package vrrp_test: the Node runs on the
// test's goroutine, driven by a vrrptest.ManualClock and LAN.

func (n *Node) StepStart(ctx context.Context) error { return n.stepStart(ctx) }

// StepStop stops the node: gracefully (priority 0, release) or as a crash.
func (n *Node) StepStop(graceful bool) { n.stepStop(graceful) }
