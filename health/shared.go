package health

import (
	"context"
	"slices"
	"sync"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Shared runs one Tracker for several routers, each with a weight of its
// own: one keepalived vrrp_script tracked by several instances, each with
// its "weight". The check runs once per interval whatever the number of
// subscribers; each hears the object's state through its own Weight.
//
// Subscribers are told in order and never concurrently (each report is
// made under Shared's lock, so a report func must not call back into the
// same Shared); a router's Track is a fine report func.
type Shared struct {
	t *Tracker

	mu     sync.Mutex
	state  State
	seeded bool // state came from Seed: the first unknown report does not replace it
	subs   []*subscription
	known  chan struct{}
	once   sync.Once
}

type subscription struct {
	name   string
	weight Weight
	report func(vrrp.TrackStatus)
}

// NewShared returns a Shared for t, whose Weight and Reverse are not used
// (each subscriber brings its own).
func NewShared(t *Tracker) *Shared {
	s := &Shared{t: t, state: t.initialState(), known: make(chan struct{})}
	if s.state.Known {
		s.markKnown()
	}
	return s
}

// Seed sets the state the object is known to be in before the tracker's
// first result — what an earlier tracker of the same object knew, when a
// program restarts it (to run its check as another user, say). The
// tracker's reports replace it once they know the object.
func (s *Shared) Seed(st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Name = s.t.Name
	s.state, s.seeded = st, true
	if st.Known {
		s.markKnown()
	}
}

// Run runs the tracker until ctx is done (see Tracker.RunState), telling
// every subscriber of each change.
func (s *Shared) Run(ctx context.Context, clock vrrp.Clock) error {
	return s.t.RunState(ctx, clock, s.update)
}

// Subscribe adds a subscriber: report hears, under name, what the object
// contributes with weight w — at once, then at every change. The returned
// func removes it.
func (s *Shared) Subscribe(name string, w Weight, report func(vrrp.TrackStatus)) (unsubscribe func()) {
	sub := &subscription{name: name, weight: w, report: report}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	sub.report(sub.status(s.state))
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.subs = slices.DeleteFunc(s.subs, func(x *subscription) bool { return x == sub })
	}
}

// Status is what a subscriber with name and w would hear now: a router's
// starting status (vrrp.Config.Tracks).
func (s *Shared) Status(name string, w Weight) vrrp.TrackStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return (&subscription{name: name, weight: w}).status(s.state)
}

// State returns the object's state now.
func (s *Shared) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Known is closed once the object's state is known: the check returned
// once (or the tracker starts known, with InitFail, or a known Seed).
// keepalived keeps an instance in INIT until then rather than starting
// it and faulting it a moment later.
func (s *Shared) Known() <-chan struct{} { return s.known }

func (s *Shared) update(st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seeded && !st.Known {
		return
	}
	s.seeded = false
	s.state = st
	if st.Known {
		s.markKnown()
	}
	for _, sub := range s.subs {
		sub.report(sub.status(st))
	}
}

func (s *Shared) markKnown() { s.once.Do(func() { close(s.known) }) }

func (sub *subscription) status(st State) vrrp.TrackStatus {
	ts := sub.weight.Status(st)
	ts.Name = sub.name
	return ts
}
