package vrrp

import "time"

// The Node's loop schedules the core's output with three small policies,
// each with its figures here, each tested on a manual clock:
//
//   - holdPolicy: work that neither sends an advert nor steers the
//     protocol (logs, events, backend calls) waits while a router's timer
//     is about to run out, so that a takeover's adverts go out at their
//     deadlines before the address changes of the first ones;
//   - readPolicy: a transport that woke the loop is read after a short
//     coalescing wait and then while a burst lasts, within a budget of
//     packets per wake-up (shared in turn) so that a flood cannot starve
//     timers and commands; before a timer runs, every transport is read
//     until empty, within a larger bound;
//   - wakePolicy: with precise wake-ups, a backup's down timer due very
//     soon is waited for on the loop instead of in the poller.
//
// Adverts always go out first: the loop sends the core's adverts before it
// does anything else with its output.

// holdPolicy decides when held work runs.
type holdPolicy struct {
	// window: work waits while a router's timer is due within it.
	window time.Duration
	// max bounds the wait, counted from the oldest work held: timers may
	// follow each other without a gap.
	max time.Duration

	since time.Time // when the oldest work held was queued; zero: none
}

func newHoldPolicy() holdPolicy {
	return holdPolicy{window: 2 * time.Millisecond, max: 20 * time.Millisecond}
}

// queued notes that work was queued at now.
func (p *holdPolicy) queued(now time.Time) {
	if p.since.IsZero() {
		p.since = now
	}
}

// hold reports whether the held work waits at now, when the next router
// timer runs out at next (zero: none).
func (p *holdPolicy) hold(now, next time.Time) bool {
	if p.since.IsZero() || !now.Before(p.since.Add(p.max)) {
		return false
	}
	return !next.IsZero() && !next.After(now.Add(p.window))
}

// released notes that the held work ran.
func (p *holdPolicy) released() { p.since = time.Time{} }

// deadline is when held work runs at the latest (zero: none held).
func (p *holdPolicy) deadline() time.Time {
	if p.since.IsZero() {
		return time.Time{}
	}
	return p.since.Add(p.max)
}

// readPolicy decides when the loop reads a transport, and how much.
type readPolicy struct {
	// coalesce is how long packets gather after a transport wakes the
	// loop, and between reads while they keep coming. Packets keep their
	// arrival times and timers read every transport first, so the wait
	// delays only reactions to adverts, never a takeover: 200 routers at
	// 100 ms send bursts of 200 adverts a few milliseconds long, and read
	// this way a backup wakes a few times per burst instead of once per
	// packet.
	coalesce time.Duration
	// burst: a read of at least this many packets means the burst goes
	// on, and the transport is read again after coalesce; fewer, and it
	// goes back to waiting.
	burst int
	// budget is how many packets the loop reads in one wake-up, over all
	// transports; the rest wait for the next one, after the timers and
	// commands due.
	budget int
	// drain is how many packets the loop reads from each transport when a
	// router's timer is due: all that wait, up to this bound against a
	// flood. A deadline must not pass with the master's adverts unread in
	// the queue: a loop busy sending (4,000 routers) that read only the
	// budget before each timer fell behind its sockets for good, and
	// every down timer then ran out with the adverts that would have reset
	// it still queued.
	drain int
}

func newReadPolicy() readPolicy {
	return readPolicy{coalesce: time.Millisecond, burst: 2, budget: 256, drain: 1024}
}

// pollState is one transport's place in the read policy.
type pollState struct {
	polling bool      // its waiter woke: the loop reads it at pollAt
	pollAt  time.Time //
}

// woke: the transport's waiter says packets are waiting.
func (p readPolicy) woke(s *pollState, now time.Time) {
	if !s.polling {
		s.polling, s.pollAt = true, now.Add(p.coalesce)
	}
}

// due reports whether a polled transport is to be read at now.
func (p readPolicy) due(s *pollState, now time.Time) bool {
	return s.polling && !s.pollAt.After(now)
}

// read notes a read of got packets at now, full when the budget ran out
// before the transport was empty; it reports whether the transport goes
// back to its waiter.
func (p readPolicy) read(s *pollState, now time.Time, got int, full bool) (rearm bool) {
	switch {
	case !s.polling:
		return false // read before a timer; its waiter has not woken
	case full:
		s.pollAt = now // more waits: read on at once, after the rest
		return false
	case got >= p.burst && !s.pollAt.After(now):
		s.pollAt = now.Add(p.coalesce)
		return false
	case s.pollAt.After(now):
		return false // read early, before a timer: keep the appointment
	}
	s.polling, s.pollAt = false, time.Time{}
	return true
}

// wakePolicy: with precise wake-ups, the loop waits on its thread
// (yielding) for a backup's down timer due within spin, rather than
// sleeping. A takeover's down timers run out as far apart as the master's
// adverts were sent, tens of microseconds, and a process that sleeps
// until the next one wakes 100 µs or more late (more on a busy virtual
// machine): the takeover would fall further behind with each router.
type wakePolicy struct {
	spin time.Duration // zero: never
}

func newWakePolicy(precise bool) wakePolicy {
	if !precise {
		return wakePolicy{}
	}
	return wakePolicy{spin: 200 * time.Microsecond}
}

// waitOnLoop reports whether the loop waits for a down timer due at next
// on its thread, at now.
func (p wakePolicy) waitOnLoop(now, next time.Time, downTimer bool) bool {
	return p.spin > 0 && downTimer && !next.IsZero() && next.Sub(now) <= p.spin
}
