package vrrp

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// worker runs one router's Backend calls in order, off the loop. Its
// goroutine starts when there is work and ends when there is none.
//
// The loop holds a new worker back while adverts are due (see
// releaseHeld): with one thread for the whole process (vrrpd's
// GOMAXPROCS=1), a takeover of 200 routers would otherwise interleave
// their address changes — netlink and gratuitous ARP, tens of
// milliseconds — with the adverts still to send.
type worker struct {
	mu      sync.Mutex
	ops     []backendOp
	running bool          // a goroutine runs the queue, or is held to
	idle    chan struct{} // closed when the queue empties; nil while idle
}

// holdWindow: new workers, and the deferred half of timer batches (see
// runLater), wait while a router's timer is due within it. maxHold bounds
// the wait (timers may follow each other without a gap).
const (
	holdWindow = 2 * time.Millisecond
	maxHold    = 20 * time.Millisecond
)

type backendOp struct {
	kind ActionKind
	set  AddressSet
}

// backendOp queues (or in step mode performs) one Backend call, made
// when the router's effective priority was prio.
func (n *Node) backendOp(r *Router, kind ActionKind, prio uint8) {
	if r.cfg.Backend == nil {
		return
	}
	op := backendOp{kind: kind, set: r.set}
	op.set.Priority = prio
	if n.stepping {
		// The simulation's backends are in-memory fakes: calling them
		// inline keeps it deterministic.
		n.callBackend(r, op)
		return
	}
	w := &r.work
	w.mu.Lock()
	w.ops = append(w.ops, op)
	start := !w.running
	if start {
		w.running = true
		w.idle = make(chan struct{})
		n.workWG.Add(1)
	}
	w.mu.Unlock()
	if start {
		if len(n.held) == 0 {
			// Deferred work held already counts.
			n.heldSince = n.clock.Now()
			if n.inLater {
				n.heldSince = n.laterSince
			}
		}
		n.held = append(n.held, r)
	}
}

// releaseHeld starts the held workers, unless a router's timer is due
// within holdWindow and they have waited less than maxHold (force: start
// them anyway). It returns when the held workers are to start at the
// latest, or the zero Time when none is held.
func (n *Node) releaseHeld(now time.Time, force bool) time.Time {
	if len(n.held) == 0 {
		return time.Time{}
	}
	deadline := n.heldSince.Add(maxHold)
	if !force && now.Before(deadline) && n.dueBy(now.Add(holdWindow)) {
		return deadline
	}
	for i, r := range n.held {
		go n.runWorker(r)
		n.held[i] = nil
	}
	n.held = n.held[:0]
	return time.Time{}
}

func (n *Node) runWorker(r *Router) {
	defer n.workWG.Done()
	w := &r.work
	for {
		w.mu.Lock()
		if len(w.ops) == 0 {
			w.running = false
			close(w.idle)
			w.idle = nil
			w.mu.Unlock()
			return
		}
		op := w.ops[0]
		w.ops[0] = backendOp{}
		w.ops = w.ops[1:]
		w.mu.Unlock()
		n.callBackend(r, op)
	}
}

func (n *Node) callBackend(r *Router, op backendOp) {
	ctx := n.workCtx
	if ctx == nil {
		ctx = context.Background()
	}
	var err error
	switch op.kind {
	case ActAcquire:
		err = r.cfg.Backend.Acquire(ctx, op.set)
	case ActRelease:
		err = r.cfg.Backend.Release(ctx, op.set)
	case ActAnnounce:
		err = r.cfg.Backend.Announce(ctx, op.set)
	}
	if err == nil {
		return
	}
	r.stats.backendErrors.Add(1)
	n.log.Error("("+r.cfg.Name+") backend "+op.kind.String()+" failed", zap.Error(err))
	r.events.push(Event{Kind: EventBackendError, Time: n.clock.Now(), Router: r.cfg.Name,
		Detail: op.kind.String(), Err: err, Priority: op.set.Priority})
}

// wait returns when the queue is empty or ctx ends.
func (w *worker) wait(ctx context.Context) error {
	w.mu.Lock()
	idle := w.idle
	w.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
