package promtext

import (
	"context"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Node is what Gather reads of a vrrp.Node (which is one); tests pass
// their own.
type Node interface {
	Routers() []*vrrp.Router
	// Ping returns nil once the node's protocol loop has handled a no-op:
	// keepalived_up says whether the loop still turns, not only whether
	// the process answers.
	Ping(ctx context.Context) error
}

// NodeOf returns n as a Node.
func NodeOf(n *vrrp.Node) Node { return n }

var (
	_ Node          = (*vrrp.Node)(nil)
	_ vrrp.Observer = (*Observer)(nil)
)
