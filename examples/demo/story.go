package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// cluster is three hosts running one router each, on real namespaces or
// in memory.
type cluster interface {
	// Describe says where the routers run, for the introduction.
	Describe() string
	// VIP is the shared address.
	VIP() string
	// Interval is every router's Advertisement_Interval.
	Interval() time.Duration
	// Start starts host i's router (0-based).
	Start(i int) error
	// Kill makes host i fail abruptly: its router process dies without a
	// word and its link goes down.
	Kill(i int) error
	// Revive brings host i back: link up, router started again.
	Revive(i int) error
	// Holders lists the live hosts that have the VIP configured.
	Holders() ([]string, error)
	// Events delivers every router's state changes.
	Events() <-chan stateChange
	// WireTakeover measures, off the wire, the gap between host old's last
	// advert and host new's first one after it; ok is false where the
	// cluster has no capture.
	WireTakeover(old, new int) (gap time.Duration, ok bool)
	Close()
}

type stateChange struct {
	Host   string
	Time   time.Time
	State  string // "BACKUP", "MASTER", ...
	Reason string
}

func hostName(i int) string { return fmt.Sprintf("h%d", i+1) }

// tell runs the story on c, pausing between acts so that a reader can
// follow. Each act ends at its milestone — the expected router is master
// and the only live host with the VIP — however it got there: a router that
// misses adverts for Master_Down_Interval (a stalled process on a loaded
// machine) takes over for a moment and backs off when it hears the higher
// priority again, and the watcher shows it when that happens.
func tell(ctx context.Context, c cluster, out io.Writer, pause time.Duration) error {
	t0 := time.Now()
	lw := &lockedWriter{w: out} // the watcher writes too
	defer lw.close()            // and must not once tell has returned
	out = lw
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.2fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
	}
	wait := func() { // let the reader catch up between acts
		if pause <= 0 {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	interval := c.Interval()
	masterDown := vrrp.MasterDownInterval(3, priorities[1], interval)
	// Generous bounds on each act: a few Master_Down_Intervals, and never
	// less than the 10 s the demo has always allowed.
	limit := max(10*time.Second, 10*masterDown)

	fmt.Fprintf(out, "vrrpkit demo: %s.\n", c.Describe())
	fmt.Fprintf(out, "Three routers, VRRPv3 VRID %d, adverts every %v, virtual IP %s.\n", vrid, interval, c.VIP())
	fmt.Fprintf(out, "Priorities: h1 %d, h2 %d, h3 %d. The highest priority alive holds the VIP.\n\n",
		priorities[0], priorities[1], priorities[2])

	w := newWatcher(c.Events(), say)
	say("starting h1, h2, h3")
	// h1 first, and the others once it listens: started together, the
	// processes would race by more than the Skew_Time that favours h1
	// (19 ms between h1 and h2 at 100 ms adverts), and h2 could win the
	// first election only to be preempted at once.
	started := time.Now()
	if err := c.Start(0); err != nil {
		return err
	}
	if _, err := w.waitState(ctx, "h1", "BACKUP", started, limit); err != nil {
		return err
	}
	for i := 1; i < len(priorities); i++ {
		if err := c.Start(i); err != nil {
			return err
		}
	}
	if _, err := w.waitState(ctx, "h1", "MASTER", started, limit); err != nil {
		return err
	}
	if err := showVIP(ctx, c, say, "h1", limit); err != nil {
		return err
	}
	wait()

	fmt.Fprintln(out)
	say("killing h1: its router dies without a goodbye and its link goes down")
	killed := time.Now()
	if err := c.Kill(0); err != nil {
		return err
	}
	at, err := w.waitState(ctx, "h2", "MASTER", killed, limit)
	if err != nil {
		return err
	}
	say("h2 took over %v after the kill", at.Sub(killed).Round(time.Millisecond))
	if gap, ok := c.WireTakeover(0, 1); ok {
		say("on the wire: h2's first advert came %v after h1's last; the RFC makes it wait Master_Down_Interval = %v",
			gap.Round(time.Millisecond), masterDown.Round(time.Millisecond))
	} else {
		say("h1's last advert went out up to %v before the kill; the RFC makes h2 wait Master_Down_Interval = %v after it",
			interval, masterDown.Round(time.Millisecond))
	}
	if err := showVIP(ctx, c, say, "h2", limit); err != nil {
		return err
	}
	wait()

	fmt.Fprintln(out)
	say("h1 comes back: it starts as backup, hears h2's lower priority and preempts")
	revived := time.Now()
	if err := c.Revive(0); err != nil {
		return err
	}
	if _, err := w.waitState(ctx, "h1", "MASTER", revived, limit); err != nil {
		return err
	}
	if err := showVIP(ctx, c, say, "h1", limit); err != nil {
		return err
	}
	wait()

	fmt.Fprintln(out)
	say("stopping every router (a master sends priority 0 and removes the VIP)")
	c.Close()
	// The routers' last words (INIT on shutdown) before "done"; a
	// cluster that gave up waiting for its routers never closes Events.
	select {
	case <-w.finished:
	case <-time.After(time.Second):
	}
	say("done: everything the demo started is stopped and cleaned up")
	return nil
}

// lockedWriter serialises writes: each fmt.Fprintf is one Write, so lines
// from the story and from the watcher never interleave.
// After close, writes are dropped.
type lockedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(b), nil
	}
	return l.w.Write(b)
}

func (l *lockedWriter) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// showVIP waits until want is the only live host holding the VIP, and says so.
func showVIP(ctx context.Context, c cluster, say func(string, ...any), want string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		holders, err := c.Holders()
		if err != nil {
			return err
		}
		if len(holders) == 1 && holders[0] == want {
			say("VIP %s is on %s, and only there", c.VIP(), want)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("VIP %s is on [%s], want only %s", c.VIP(), strings.Join(holders, " "), want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// watcher prints every state change and remembers each host's latest.
type watcher struct {
	finished chan struct{} // closed when the routers' events end

	mu      sync.Mutex
	latest  map[string]stateChange
	changed chan struct{} // closed at the next change
	done    bool          // the routers stopped: no more changes
}

func newWatcher(in <-chan stateChange, say func(string, ...any)) *watcher {
	w := &watcher{finished: make(chan struct{}), latest: make(map[string]stateChange), changed: make(chan struct{})}
	go func() {
		for e := range in {
			line := fmt.Sprintf("%s: Entering %s STATE", e.Host, e.State)
			if e.Reason != "" {
				line += " (" + e.Reason + ")"
			}
			say("%s", line)
			w.mu.Lock()
			w.latest[e.Host] = e
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
		w.mu.Lock()
		w.done = true
		close(w.changed)
		w.mu.Unlock()
		close(w.finished)
	}()
	return w
}

// waitState waits until host's latest state is state, entered at since or
// later, and returns when it entered it. Only the latest state counts: a
// host that was master for a moment and backed off is not master now, and
// a change from before since (a previous life of the host, or one whose
// line arrives late) does not count either.
func (w *watcher) waitState(ctx context.Context, host, state string, since time.Time, timeout time.Duration) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		e, seen := w.latest[host]
		changed, done := w.changed, w.done
		w.mu.Unlock()
		if seen && e.State == state && !e.Time.Before(since) {
			return e.Time, nil
		}
		if done {
			return time.Time{}, fmt.Errorf("routers stopped before %s entered %s", host, state)
		}
		select {
		case <-changed:
		case <-timer.C:
			return time.Time{}, fmt.Errorf("%s did not enter %s within %v", host, state, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// sortedHolders keeps the output stable.
func sortedHolders(h []string) []string {
	slices.Sort(h)
	return h
}
