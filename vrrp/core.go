package vrrp

import (
	"net/netip"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// core is the protocol for every router of a Node: their Machines, the
// shared transports (ports) demultiplexed by VRID, the receive checks of
// RFC 5798 §7.1, authentication, faults, tracked objects, sync groups and
// the timer heap. It is pure and single-threaded: every input is a method
// call that carries the time it happened, and what is to be done — adverts
// to send, transports to open or close, backend operations, events, log
// records — is appended to its output for the loop that drives it
// (Node) to carry out. It reads no clock, does no I/O and starts no
// goroutine, and its hot paths (receive, tick) allocate nothing.
//
// Every input ends with settle, which runs the sync group follow-ups it
// set off.
type core struct {
	routers  []*coreRouter // attached, in order
	starting []*coreRouter // attached, to start (see start)
	ports    map[portKey]*port
	portList []*port // the same, in a stable order
	groups   map[string]*syncGroup
	timers   timerHeap
	groupQ   []groupEvent
	faultQ   []laterFault // faults found while actions were carried out
	out      output

	// enabled says whether a log level is wanted, so that per-packet
	// Debug lines are built only when someone reads them.
	enabled func(zapcore.Level) bool
	// The wait before reopening a failed transport: from reopenMin,
	// doubling up to reopenMax.
	reopenMin, reopenMax time.Duration
}

func newCore(enabled func(zapcore.Level) bool, reopenMin, reopenMax time.Duration) *core {
	return &core{
		ports:     make(map[portKey]*port),
		groups:    make(map[string]*syncGroup),
		enabled:   enabled,
		reopenMin: reopenMin,
		reopenMax: reopenMax,
	}
}

// coreRouter is the core's state of one virtual router; h is its handle,
// through which the embedding program reads what the core publishes.
type coreRouter struct {
	h    *Router
	cfg  *Config // h.cfg, with defaults
	m    Machine
	acts []Action
	port *port

	timerSlot int32 // its place in timers, -1 when out
	wake      time.Time

	base       int // base priority, 1..255
	tracks     map[string]TrackStatus
	trackOrder []string
	faults     faultSet
	group      *syncGroup
	started    bool
	removed    bool
	dirty      bool       // in out.views
	heard      time.Time  // last advert given to the machine, for the takeover latency
	left       netip.Addr // the master whose priority 0 was taken last: its repeats are too

	// A failing Acquire: failing since, the current retry wait, the next
	// retry; and when the Fault it ended in is over.
	acquireFailing time.Time
	acquireRetry   time.Duration
	retryAt        time.Time
	faultUntil     time.Time

	// Built once (prepare) so that steady-state adverts allocate nothing.
	advAddrs []netip.Addr // listed in adverts, sorted for comparison
	peers    []netip.Addr
	peerTTL  [][2]uint8   // TTL bounds of each of peers
	dsts     []netip.Addr // the group, or the peers
	rxMode   advert.ChecksumMode
	rxAdv    advert.Advert
	txAdv    advert.Advert
	rxSorted []netip.Addr
	pass     auth.Password
	ah       *auth.AH
	hmac     *auth.HMAC // auth_hmac, once configured (see hmacOn)
	hmacOn   bool
	trailer  [auth.TrailerLen]byte // the advert being sent's
	set      AddressSet
	logLimit rateLimit
	warned   [NumDropReasons]bool
}

// output is what the core asks its driver to do, in this order: open and
// close transports (whose results come back as inputs at once), publish
// the new state of the routers in views, send the adverts, then carry out
// the rest (later) in order.
type output struct {
	ports []*port // to open or close (see port)
	views []*coreRouter
	sends []sendRequest
	arena []byte // the sends' messages
	later []laterWork
	// How long each has been mostly idle (see retainer).
	keepPorts, keepViews, keepSends, keepArena, keepLater retainer
}

func (o *output) empty() bool {
	return len(o.ports) == 0 && len(o.views) == 0 && len(o.sends) == 0 && len(o.later) == 0
}

// reset empties o at now, keeping its storage unless it has outgrown its
// use (see retainer). Pointers, strings, errors and slices are cleared.
func (o *output) reset(now time.Time) {
	o.ports = reuse(&o.keepPorts, o.ports, len(o.ports), now)
	o.views = reuse(&o.keepViews, o.views, len(o.views), now)
	o.sends = reuse(&o.keepSends, o.sends, len(o.sends), now)
	o.arena = reuse(&o.keepArena, o.arena, len(o.arena), now)
	o.later = reuse(&o.keepLater, o.later, len(o.later), now)
}

// sendRequest is one advert to one destination. The adverts to the peers
// of one router are consecutive; last marks the final one.
type sendRequest struct {
	r        *coreRouter
	port     *port
	off, n   int // the message, in output.arena
	src, dst netip.Addr
	seq      uint32 // AH sequence number
	prio     uint8
	last     bool
	// zero is the index in output.later of the "sent 0 priority" record
	// of a priority-0 advert, or -1.
	zero int
	// pos is where in output.later a failure to send is logged: in its
	// place among what the input logged.
	pos int
}

// laterKind says what a laterWork is.
type laterKind uint8

const (
	laterLog      laterKind = iota + 1
	laterEvent              // push ev to r's events
	laterBackend            // hand op to r's backend worker
	laterSentZero           // log "sent 0 priority" if the advert went out (sent)
	laterTakeover           // tell the Observer: r took over, took after the last advert heard
	laterDone               // close done: the work before it is carried out
)

// laterWork is what neither sends an advert nor steers the protocol: it
// can wait while adverts are due (see holdPolicy).
type laterWork struct {
	kind  laterKind
	level zapcore.Level
	sent  bool
	r     *Router
	msg   string
	// fields of a laterLog; nil for most.
	fields []zap.Field
	// ev and op are a laterEvent's and a laterBackend's, by pointer: most
	// work is neither, and a takeover of a thousand routers queues
	// thousands of laterWork, each copied once more into the held work.
	ev   *Event
	op   *backendOp
	took time.Duration
	done chan struct{}
}

// deadline returns when the core next needs tick, or the zero Time.
func (c *core) deadline() time.Time {
	next := c.timers.next()
	for _, p := range c.portList {
		if !p.reopenAt.IsZero() && (next.IsZero() || p.reopenAt.Before(next)) {
			next = p.reopenAt
		}
	}
	return next
}

// due reports whether a router's timer runs out at or before t.
func (c *core) due(t time.Time) bool {
	next := c.timers.next()
	return !next.IsZero() && !next.After(t)
}

// tick handles every timer that ran out by now: routers' timers, then
// transports to reopen.
func (c *core) tick(now time.Time) {
	c.runTimers(now)
	for _, p := range c.portList {
		if !p.reopenAt.IsZero() && !p.reopenAt.After(now) {
			p.reopenAt = time.Time{}
			c.list(p)
		}
	}
	c.settle(now)
}

func (c *core) runTimers(now time.Time) {
	for {
		r := c.timers.first()
		if r == nil || r.wake.IsZero() || r.wake.After(now) {
			return
		}
		if d := r.m.Deadline(); !d.IsZero() && !d.After(now) {
			c.apply(r, r.m.TimerDue(now, r.acts[:0]), now)
		}
		if !r.retryAt.IsZero() && !r.retryAt.After(now) {
			r.retryAt = time.Time{}
			c.retryAcquire(r)
		}
		if !r.faultUntil.IsZero() && !r.faultUntil.After(now) {
			r.faultUntil = time.Time{}
			c.setFault(r, faultBackend, false, "", now)
		}
		c.reschedule(r)
	}
}

// settle carries out what the last input set off: faults found while its
// actions were carried out, and sync group follow-ups, which may set off
// more.
func (c *core) settle(now time.Time) {
	for len(c.faultQ) > 0 || len(c.groupQ) > 0 {
		if len(c.faultQ) > 0 {
			f := c.faultQ[0]
			c.faultQ = c.faultQ[1:]
			c.setFault(f.r, f.kind, true, f.detail, now)
			continue
		}
		ev := c.groupQ[0]
		c.groupQ = c.groupQ[1:]
		c.runGroupEvent(ev, now)
	}
	c.groupQ, c.faultQ = c.groupQ[:0], c.faultQ[:0]
}

// laterFault is a fault to turn on once the actions at hand are done.
type laterFault struct {
	r      *coreRouter
	kind   faultKind
	detail string
}

// start starts the routers added since the last call whose transport is
// open or failed to open; the others start when it has. The driver calls
// it after a batch of commands, so that the members of a sync group added
// together start together.
func (c *core) start(now time.Time) {
	waiting := c.starting[:0]
	for _, r := range c.starting {
		switch {
		case r.removed || r.started:
		case r.port.opening():
			waiting = append(waiting, r)
		default:
			r.started = true
			c.apply(r, r.m.Start(now, r.acts[:0]), now)
		}
	}
	clear(c.starting[len(waiting):])
	c.starting = waiting
	c.settle(now)
}

// apply turns a machine's actions into output. acts is r.acts (or grew
// from it).
func (c *core) apply(r *coreRouter, acts []Action, now time.Time) {
	for i := range acts {
		switch a := &acts[i]; a.Kind {
		case ActState:
			switch {
			case a.To == Master:
				r.h.stats.becameMaster.Add(1)
				if !r.heard.IsZero() {
					c.later(laterWork{kind: laterTakeover, r: r.h, took: now.Sub(r.heard)})
				}
			case a.From == Master:
				r.h.stats.leftMaster.Add(1)
			}
			if r.group != nil && a.From == Master && a.To == Backup && a.Reason == ReasonHigherPriority {
				c.groupQ = append(c.groupQ, groupEvent{r: r, kind: groupSteppedDown})
			}
			r.set.Reason = a.Reason // for the backend calls that follow
			c.publish(r)
			c.logState(r, a)
			c.event(r, Event{Kind: EventState, Time: now, Router: r.cfg.Name,
				From: a.From, To: a.To, Reason: a.Reason, Detail: a.Detail, Priority: int(r.m.Priority())})
		case ActMaster:
			c.publish(r)
			c.event(r, Event{Kind: EventMaster, Time: now, Router: r.cfg.Name,
				Master: a.Addr, Priority: int(r.m.Priority())})
		case ActSend:
			c.send(r, a.Priority, now)
		case ActWantMaster:
			c.groupQ = append(c.groupQ, groupEvent{r: r, kind: groupWantMaster, reason: a.Reason})
		case ActNote:
			c.note(r, a)
			c.noteEvent(r, a, now)
		case ActAcquire, ActRelease, ActAnnounce:
			c.backendOp(r, a.Kind)
		}
	}
	r.acts = acts[:0]
	c.reschedule(r)
}

// publish marks r's state, master and priority to be shown to readers.
func (c *core) publish(r *coreRouter) {
	if !r.dirty {
		r.dirty = true
		c.out.views = append(c.out.views, r)
	}
}

func (c *core) later(w laterWork) { c.out.later = append(c.out.later, w) }

// event queues ev for r's event stream, unless the program discards r's
// events: a takeover of many routers then queues no work for them.
func (c *core) event(r *coreRouter, ev Event) {
	if !r.cfg.DiscardEvents {
		c.later(laterWork{kind: laterEvent, r: r.h, ev: &ev})
	}
}

// logf records a log line (r may be nil).
func (c *core) logf(r *coreRouter, level zapcore.Level, msg string, fields ...zap.Field) {
	var h *Router
	if r != nil {
		h = r.h
	}
	c.later(laterWork{kind: laterLog, r: h, level: level, msg: msg, fields: fields})
}

// backendOp hands one Backend call of r to its worker (by way of later).
func (c *core) backendOp(r *coreRouter, kind ActionKind) {
	if r.cfg.Backend == nil {
		return
	}
	op := backendOp{kind: kind, set: r.set}
	op.set.Priority = int(r.m.Priority())
	if kind == ActAnnounce {
		op.set.Reason = ReasonLowerPriority
	}
	c.later(laterWork{kind: laterBackend, r: r.h, op: &op})
}

// reschedule moves r in the timer heap to its next wake-up: its
// machine's deadline, or a retry or the end of a Fault if sooner.
func (c *core) reschedule(r *coreRouter) {
	r.wake = r.m.Deadline()
	for _, t := range [...]time.Time{r.retryAt, r.faultUntil} {
		if !t.IsZero() && (r.wake.IsZero() || t.Before(r.wake)) {
			r.wake = t
		}
	}
	c.timers.fix(r)
}
