package vrrp

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// worker runs one router's Backend calls in order, off the loop, so that
// a slow backend delays the addresses, never the adverts. Its goroutine
// starts when there is work and ends when there is none. A Release
// supersedes the acquisition before it: an Acquire (or announcement) in
// flight is cancelled (its context) and queued ones are dropped, so that a
// slow backend (a cloud API) does not finish a mastership that is already
// over before it lets go. A Release itself always runs to its end: it is
// the clean-up.
type worker struct {
	mu      sync.Mutex
	ops     []backendOp
	running bool          // a goroutine runs the queue
	idle    chan struct{} // made by wait while running, closed when the queue empties
	// The call in flight, and how to cancel it.
	current ActionKind
	cancel  context.CancelCauseFunc
}

// maxQueuedOps bounds a router's queue: a backend that hangs while a
// flood of lower-priority adverts asks for announcements must not grow it
// without end. Announcements beyond it are dropped (counted); acquire and
// release are never dropped.
const maxQueuedOps = 16

type backendOp struct {
	kind ActionKind
	set  AddressSet
}

// backendResult is what a worker reports to the loop about one call.
type backendResult struct {
	r    *Router
	kind ActionKind
	took time.Duration
	err  error
}

// queue adds op; it reports whether the caller must start the goroutine
// (run), and whether op was dropped.
func (w *worker) queue(op backendOp) (start, dropped bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if op.kind == ActAnnounce {
		// An announcement waiting already (or an acquire, which
		// announces) makes this one redundant.
		for _, q := range w.ops {
			if q.kind == ActAnnounce || q.kind == ActAcquire {
				return false, true
			}
		}
		if len(w.ops) >= maxQueuedOps {
			return false, true
		}
	}
	if op.kind == ActRelease {
		w.ops = slices.DeleteFunc(w.ops, func(q backendOp) bool { return q.kind != ActRelease })
		if w.cancel != nil && (w.current == ActAcquire || w.current == ActAnnounce) {
			w.cancel(ErrSuperseded)
		}
	}
	w.ops = append(w.ops, op)
	if w.running {
		return false, false
	}
	w.running = true
	return true, false
}

// run calls the backend for each queued op until the queue is empty.
func (w *worker) run(ctx context.Context, b Backend, clock Clock, done func(backendResult), r *Router) {
	for {
		w.mu.Lock()
		if len(w.ops) == 0 {
			w.running = false
			if w.idle != nil {
				close(w.idle)
				w.idle = nil
			}
			w.mu.Unlock()
			return
		}
		// Shifted, not resliced: the queue keeps its storage, and the
		// router's next call queues without allocating.
		op := w.ops[0]
		copy(w.ops, w.ops[1:])
		w.ops[len(w.ops)-1] = backendOp{}
		w.ops = w.ops[:len(w.ops)-1]
		opCtx, cancel := context.WithCancelCause(ctx)
		w.current, w.cancel = op.kind, cancel
		w.mu.Unlock()

		start := clock.Now()
		var err error
		switch op.kind {
		case ActAcquire:
			err = b.Acquire(opCtx, op.set)
		case ActRelease:
			err = b.Release(opCtx, op.set)
		case ActAnnounce:
			err = b.Announce(opCtx, op.set)
		}
		took := clock.Now().Sub(start)

		w.mu.Lock()
		w.cancel = nil
		w.mu.Unlock()
		cancel(nil)
		done(backendResult{r: r, kind: op.kind, took: took, err: err})
	}
}

// wait returns when the queue is empty or ctx ends.
func (w *worker) wait(ctx context.Context) error {
	w.mu.Lock()
	if !w.running {
		w.mu.Unlock()
		return nil
	}
	if w.idle == nil {
		w.idle = make(chan struct{})
	}
	idle := w.idle
	w.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startOp hands op to r's worker, starting its goroutine if it has none.
func (n *Node) startOp(r *Router, op backendOp) {
	start, dropped := r.work.queue(op)
	if dropped {
		r.stats.backendDropped.Add(1)
		return
	}
	if !start {
		return
	}
	n.workWG.Add(1)
	go func() {
		defer n.workWG.Done()
		r.work.run(n.workCtx, r.cfg.Backend, n.clock, n.backendResult, r)
	}()
}

// backendResult is the workers' report to the loop.
func (n *Node) backendResult(res backendResult) {
	n.mu.Lock()
	n.results = append(n.results, res)
	n.mu.Unlock()
	n.poke()
}

func (n *Node) backendDone(res backendResult, now time.Time) {
	r := res.r
	if n.cfg.Observer != nil {
		n.cfg.Observer.BackendDone(r, res.kind.String(), res.took, res.err)
	}
	if res.err != nil && errors.Is(res.err, context.Canceled) && n.workCtx.Err() == nil {
		return // superseded by a Release: not a failure
	}
	if res.err != nil {
		r.stats.backendErrors.Add(1)
		n.log.Error("("+r.cfg.Name+") backend "+res.kind.String()+" failed", zap.Error(res.err))
		r.events.push(Event{Kind: EventBackendError, Time: now, Router: r.cfg.Name,
			Detail: res.kind.String(), Err: res.err, Priority: r.Priority()})
	}
	if res.kind == ActAcquire && r.core != nil {
		n.core.acquired(now, r.core, res.err)
	}
}
