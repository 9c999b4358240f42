package vrrp

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The Node's loop: it waits, then does what is due (step) and carries out
// the core's output (flush): transports first, then what readers see, then
// the adverts, then the rest under the hold policy.

// Run runs the routers until ctx ends, then shuts them down cleanly: every
// master sends a priority-0 advert and releases its VIPs; Run waits for the
// backends at most ShutdownTimeout, closes the transports, closes every
// router's event stream and returns. It returns nil after a clean
// shutdown, or an error saying what did not finish. Run may be called
// once.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	switch n.phase {
	case phaseRunning:
		n.mu.Unlock()
		return errors.New("vrrp: node already running")
	case phaseStopped:
		n.mu.Unlock()
		return ErrNodeStopped
	}
	n.phase = phaseRunning
	n.mu.Unlock()

	n.timer = newLoopTimer(n.clock, n.cfg.PreciseWakeups)
	defer func() {
		if c, ok := n.timer.(io.Closer); ok {
			c.Close()
		}
	}()
	for {
		n.step()
		n.waitOnLoop()
		n.arm()
		select {
		case <-ctx.Done():
			n.timer.Stop()
			return n.shutdown()
		case <-n.timer.C():
			n.armedAt = time.Time{}
		case <-n.wake:
		}
	}
}

// step does everything due: the signals of the waiting goroutines
// (commands, link changes, failed transports, transports with packets,
// finished backend calls), then reads, timers, and the output.
func (n *Node) step() {
	c := n.core
	now := n.clock.Now()
	n.mu.Lock()
	cmds, links, failures, woken, results := n.cmds, n.links, n.failures, n.woken, n.results
	n.cmds, n.links, n.failures, n.woken, n.results = nil, nil, nil, nil, nil
	n.mu.Unlock()
	for _, f := range cmds {
		f(c, n.clock.Now())
	}
	c.start(now)
	for _, pio := range links {
		n.linkChanged(pio, now)
	}
	for _, f := range failures {
		if pio := n.ios[f.p]; pio == f.pio {
			c.portFailed(now, f.p, f.err)
		}
	}
	for _, pio := range woken {
		if n.ios[pio.p] == pio {
			n.read.woke(&pio.poll, now)
		}
	}
	for _, res := range results {
		n.backendDone(res, now)
	}
	n.flush(now)
	now = n.clock.Now()
	n.readDue(now)
	c.tick(now)
	n.flush(now)
	n.pollSources(now)
	n.runHeld(now)
}

// flush carries out the core's output: transports to open or close (the
// results go back to the core at once), then what readers see, then the
// adverts, then the rest, which waits in held for the hold policy.
func (n *Node) flush(now time.Time) {
	c := n.core
	o := &c.out
	if o.empty() {
		// Storage a burst left behind goes once it has been idle a while.
		o.reset(now)
		return
	}
	for i := 0; i < len(o.ports); i++ {
		p := o.ports[i]
		p.listed = false
		n.reconcilePort(p, now)
	}
	for _, r := range o.views {
		r.dirty = false
		r.h.publish(r.m.State(), r.m.Master(), r.m.Priority())
	}
	failed := n.sendAll(o, now)
	if len(o.later) > 0 || len(failed) > 0 {
		n.hold.queued(now)
		// The failures to send, in their places among the rest.
		prev := 0
		for _, f := range failed {
			n.held = append(n.held, o.later[prev:f.pos]...)
			n.held = append(n.held, f.log)
			prev = f.pos
		}
		n.held = append(n.held, o.later[prev:]...)
	}
	o.reset(now)
}

// sendFailure is the log line of an advert that did not go out, and its
// place in the output's later work.
type sendFailure struct {
	pos int
	log laterWork
}

// txScratch is sendAll's storage, reused from step to step.
type txScratch struct {
	errs    []error   // per send: its failure
	hasPort []bool    // per send: its transport is open
	ports   []*portIO // the transports with adverts queued
}

// sendAll puts the core's adverts on the wire, each transport's in one
// batch, and returns the log lines of those that failed (rate-limited
// per router).
func (n *Node) sendAll(o *output, now time.Time) []sendFailure {
	if len(o.sends) == 0 {
		return nil
	}
	n.tx.errs = slices.Grow(n.tx.errs[:0], len(o.sends))[:len(o.sends)]
	n.tx.hasPort = slices.Grow(n.tx.hasPort[:0], len(o.sends))[:len(o.sends)]
	for i := range o.sends {
		s := &o.sends[i]
		pio := n.ios[s.port]
		n.tx.hasPort[i] = pio != nil
		if pio == nil {
			continue
		}
		if len(pio.txBatch) == 0 {
			n.tx.ports = append(n.tx.ports, pio)
		}
		pio.queueSend(i, s, o.arena)
	}
	for _, pio := range n.tx.ports {
		pio.sendQueued(n.tx.errs)
	}
	clear(n.tx.ports)
	n.tx.ports = n.tx.ports[:0]

	var failed []sendFailure
	ok := false
	for i := range o.sends {
		s := &o.sends[i]
		if err := n.tx.errs[i]; err != nil {
			s.r.h.stats.sendErrors.Add(1)
			if allow, suppressed := s.r.h.sendLog.allow(now, time.Second); allow {
				failed = append(failed, sendFailure{pos: s.pos, log: laterWork{kind: laterLog, level: zapcore.WarnLevel,
					msg:    "(" + s.r.cfg.Name + ") Cant send advert to " + s.dst.String(),
					fields: []zap.Field{zap.Error(err), zap.Int("suppressed", suppressed)}}})
			}
		} else if n.tx.hasPort[i] {
			ok = true
		}
		if !s.last {
			continue
		}
		if ok {
			s.r.h.stats.sent.Add(1)
			if s.prio == 0 {
				s.r.h.stats.prio0Sent.Add(1)
				o.later[s.zero].sent = true
			}
		}
		ok = false
	}
	clear(n.tx.errs)
	return failed
}

// runHeld carries out the held work unless the hold policy says wait. A
// router timer that runs out meanwhile is handled between two pieces of
// it, its adverts first. now is the step's.
func (n *Node) runHeld(now time.Time) {
	if len(n.held) == 0 {
		n.held = reuse(&n.keepHeld, n.held, 0, now)
		return
	}
	if n.hold.hold(n.clock.Now(), n.core.timers.next()) {
		return
	}
	n.hold.released()
	for i := 0; i < len(n.held); i++ {
		if i%8 == 7 {
			if now := n.clock.Now(); n.core.due(now) {
				n.core.tick(now)
				n.flush(now)
			}
		}
		n.carryOut(&n.held[i])
	}
	n.held = reuse(&n.keepHeld, n.held, len(n.held), n.clock.Now())
	n.hold.released()
}

// carryOut does one piece of held work.
func (n *Node) carryOut(w *laterWork) {
	switch w.kind {
	case laterLog:
		if ce := n.log.Check(w.level, w.msg); ce != nil {
			ce.Write(w.fields...)
		}
	case laterSentZero:
		if w.sent {
			n.log.Info(w.msg)
		}
	case laterEvent:
		w.r.events.push(*w.ev)
	case laterBackend:
		n.startOp(w.r, *w.op)
	case laterTakeover:
		if n.cfg.Observer != nil {
			n.cfg.Observer.Takeover(w.r, w.took)
		}
	case laterDone:
		close(w.done)
	}
}

// waitOnLoop waits on the loop's thread, yielding, for a backup's down
// timer that the wake policy says is too close to sleep for, and handles
// it when it runs out.
func (n *Node) waitOnLoop() {
	for {
		r := n.core.timers.first()
		if r == nil || len(n.wake) > 0 {
			return
		}
		now := n.clock.Now()
		if !n.spin.waitOnLoop(now, r.wake, r.m.State() == Backup) {
			return
		}
		if r.wake.After(now) {
			runtime.Gosched()
			continue
		}
		n.step()
	}
}

// arm sets the loop's one timer to the earliest deadline. A timer armed
// for earlier is left alone: it fires early, the loop finds nothing due
// and arms it again. A backup's earliest deadline moves later with every
// advert it hears, and re-arming for each (2,000 a second with 200
// routers at 100 ms) would cost more than the odd early wake-up.
func (n *Node) arm() {
	next := n.nextWake()
	if next.IsZero() || (!n.armedAt.IsZero() && !next.Before(n.armedAt)) {
		return
	}
	n.armedAt = next
	n.timer.Reset(max(0, next.Sub(n.clock.Now())))
}

// nextWake is the earliest of the core's deadline, the transports' reads
// and source polls, and the held work's.
func (n *Node) nextWake() time.Time {
	next := n.core.deadline()
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, pio := range n.ioList {
		if pio.poll.polling {
			earlier(pio.poll.pollAt)
		}
		if !pio.monitored {
			earlier(pio.sourceAt)
		}
	}
	if len(n.held) > 0 {
		// When the hold ends, or when the timer holding it has run.
		earlier(n.hold.deadline())
	}
	return next
}

// shutdown stops every router, waits for the backends, closes the
// transports, stops the goroutines and ends the routers' event streams.
func (n *Node) shutdown() error {
	n.mu.Lock()
	n.phase = phaseStopped
	cmds := n.cmds
	n.cmds = nil
	n.mu.Unlock()
	now := n.clock.Now()
	// Commands queued before the end still count (a Remove waits on one).
	for _, f := range cmds {
		f(n.core, now)
	}
	n.core.shutdown(now)
	n.flush(now)
	n.hold.since = time.Time{}
	n.runHeld(now)
	err := n.waitWorkers()
	for _, pio := range n.ioList {
		n.stopPortIO(pio)
	}
	close(n.stopIO)
	n.ioWG.Wait()
	n.cancel()
	n.mu.Lock()
	routers := make([]*Router, 0, len(n.keys))
	for _, r := range n.keys {
		routers = append(routers, r)
	}
	n.mu.Unlock()
	for _, cr := range n.core.routers {
		cr.h.stopped()
	}
	for _, r := range routers {
		r.stopped()
	}
	return err
}

func (n *Node) waitWorkers() error {
	done := make(chan struct{})
	go func() {
		n.workWG.Wait()
		close(done)
	}()
	t := n.clock.NewTimer(n.cfg.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C():
		return errors.New("vrrp: shutdown: backends did not finish within " + n.cfg.ShutdownTimeout.String())
	}
}
