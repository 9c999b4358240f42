package vrrp

import (
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventState: the state changed From → To for Reason (Detail says
	// more for faults).
	EventState EventKind = iota + 1
	// EventMaster: the current master is now Master (zero: unknown).
	EventMaster
	// EventPriority: the effective priority changed from OldPriority to
	// Priority; Detail names the cause (a tracked object, SetPriority).
	EventPriority
	// EventBackendError: a Backend call failed; Detail is the operation
	// (acquire, release, announce) and Err the error.
	EventBackendError
	// EventLowerPriority: as master, the router heard an advert from
	// Master, another router that takes itself for master, with a lower
	// priority than ours (Priority), or the same priority from a lower
	// address. keepalived's notify_master_rx_lower_pri runs on it: a
	// program that moves an address by an API call can take it back.
	// Only with Config.LowerPriorityEvents.
	EventLowerPriority
	// EventOtherVersion: a router on this VRID speaks the other VRRP
	// version (Master is its address, Detail "VRRPv2" or "VRRPv3"). The
	// two ignore each other's adverts and may both be master with the
	// same addresses. Sent for the first such advert from an address, and
	// again after a minute without one; Stats.OtherVersion has the last.
	EventOtherVersion
)

func (k EventKind) String() string {
	switch k {
	case EventState:
		return "state"
	case EventMaster:
		return "master"
	case EventPriority:
		return "priority"
	case EventBackendError:
		return "backend-error"
	case EventLowerPriority:
		return "lower-priority"
	case EventOtherVersion:
		return "other-version"
	}
	return "EventKind(?)"
}

// Event is something that happened to a router, for the embedding
// program.
type Event struct {
	Kind   EventKind
	Time   time.Time // from the Node's Clock
	Router string    // Config.Name
	From   State     // EventState
	To     State     // EventState
	Reason Reason    // EventState
	Detail string
	Master netip.Addr // EventMaster
	// Priority is the effective priority when the event happened.
	Priority    int
	OldPriority int   // EventPriority
	Err         error // EventBackendError
	// Lost counts events dropped before this one because the consumer was
	// slow: the channel keeps the newest events, never blocking the
	// protocol.
	Lost uint64
}

// String renders the event for logs and people: "VI_1: BACKUP -> MASTER
// (master down)", "VI_1: master 10.0.0.1" ("master unknown" when there is
// none), "VI_1: priority 100 -> 150 (tracked chk up)", "VI_1: backend
// acquire failed: ...".
func (e Event) String() string {
	s := e.Router + ": "
	switch e.Kind {
	case EventState:
		s += e.From.String() + " -> " + e.To.String() + " (" + e.Reason.String()
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		return s + ")"
	case EventMaster:
		if !e.Master.IsValid() {
			return s + "master unknown"
		}
		return s + "master " + e.Master.String()
	case EventPriority:
		s += "priority " + strconv.Itoa(e.OldPriority) + " -> " + strconv.Itoa(e.Priority)
		if e.Detail != "" {
			s += " (" + e.Detail + ")"
		}
		return s
	case EventBackendError:
		s += "backend " + e.Detail + " failed"
		if e.Err != nil {
			s += ": " + e.Err.Error()
		}
		return s
	case EventLowerPriority:
		return s + "master heard lower priority from " + e.Master.String()
	case EventOtherVersion:
		return s + e.Master.String() + " speaks " + e.Detail + " on this VRID"
	}
	return s + e.Kind.String()
}

// noteEvent turns the machine's notes that the embedding program is told
// of into events.
func (c *core) noteEvent(r *coreRouter, a *Action, now time.Time) {
	if a.Note == NoteLowerPriority && r.cfg.LowerPriorityEvents {
		c.event(r, Event{Kind: EventLowerPriority, Time: now, Router: r.cfg.Name,
			Master: a.Addr, Priority: int(r.m.Priority())})
	}
}

// otherVersionQuiet is how long a router of the other version must stay
// silent before it is announced again.
const otherVersionQuiet = time.Minute

// otherVersion records an advert of the other VRRP version from src and
// tells the program when it is news. It allocates only then, or once a
// second to move the last-seen time on.
func (c *core) otherVersion(r *coreRouter, src netip.Addr, version int, now time.Time) {
	last := r.h.stats.otherVersion.Load()
	news := last == nil || last.From != src || now.Sub(last.LastSeen) >= otherVersionQuiet
	if !news && now.Sub(last.LastSeen) < time.Second {
		return
	}
	r.h.stats.otherVersion.Store(&OtherVersionPeer{From: src, Version: version, LastSeen: now.Truncate(time.Second)})
	if news {
		c.event(r, Event{Kind: EventOtherVersion, Time: now, Router: r.cfg.Name,
			Master: src, Detail: "VRRPv" + strconv.Itoa(version), Priority: int(r.m.Priority())})
	}
}

// eventQueue is a bounded channel that drops its oldest event instead of
// blocking the sender. Senders are the loop and the backend workers. Once
// closed (the router's Node stopped, or the router was removed), pushes
// are dropped and a consumer's range ends. A queue of no capacity
// (Config.DiscardEvents) has no channel: it drops every event uncounted.
type eventQueue struct {
	mu     sync.Mutex
	ch     chan Event
	lost   uint64 // dropped since the last delivered event
	all    uint64 // dropped ever
	closed bool
}

func newEventQueue(n int) *eventQueue {
	if n == 0 {
		return &eventQueue{}
	}
	return &eventQueue{ch: make(chan Event, n)}
}

// noEvents is the stream of a router whose events are discarded: closed,
// so that a consumer's range ends at once instead of blocking.
var noEvents = func() chan Event {
	ch := make(chan Event)
	close(ch)
	return ch
}()

// stream is what Router.Events returns.
func (q *eventQueue) stream() <-chan Event {
	if q.ch == nil {
		return noEvents
	}
	return q.ch
}

func (q *eventQueue) push(e Event) {
	if q.ch == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	for {
		e.Lost = q.lost
		select {
		case q.ch <- e:
			q.lost = 0
			return
		default:
		}
		// Full: drop the oldest. The consumer may have taken one in
		// between, which is as good.
		select {
		case <-q.ch:
			q.lost++
			q.all++
		default:
		}
	}
}

// close ends the stream: the consumer still gets what is buffered.
func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		if q.ch != nil {
			close(q.ch)
		}
	}
}

func (q *eventQueue) dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.all
}
