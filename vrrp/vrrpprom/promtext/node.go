package promtext

import (
	"context"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Node is what Gather reads of a vrrp.Node: NodeOf adapts one, tests
// pass their own.
type Node interface {
	Routers() []*vrrp.Router
	// Ping returns nil once the node's protocol loop has handled a no-op:
	// keepalived_up says whether the loop still turns, not only whether
	// the process answers.
	Ping(ctx context.Context) error
}

// pinger is vrrp.Node's Ping.
type pinger interface {
	Ping(ctx context.Context) error
}

// NodeOf adapts a vrrp.Node. Until vrrp.Node has Ping, a node counts as
// up whenever it is gathered.
func NodeOf(n *vrrp.Node) Node {
	if p, ok := any(n).(pinger); ok {
		return nodeWithPing{n, p}
	}
	return nodeWithPing{n, alwaysUp{}}
}

type nodeWithPing struct {
	*vrrp.Node
	p pinger
}

func (n nodeWithPing) Ping(ctx context.Context) error { return n.p.Ping(ctx) }

type alwaysUp struct{}

func (alwaysUp) Ping(context.Context) error { return nil }
