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

// tell runs the story on c.
func tell(ctx context.Context, c cluster, out io.Writer) error {
	t0 := time.Now()
	var mu sync.Mutex // say is called from the watcher too
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "[%6.2fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
	}
	pause := func() { // let the reader catch up between acts
		select {
		case <-ctx.Done():
		case <-time.After(1500 * time.Millisecond):
		}
	}
	masterDown := vrrp.MasterDownInterval(3, priorities[1], interval)

	fmt.Fprintf(out, "vrrpkit demo: %s.\n", c.Describe())
	fmt.Fprintf(out, "Three routers, VRRPv3 VRID %d, adverts every %v, virtual IP %s.\n", vrid, interval, c.VIP())
	fmt.Fprintf(out, "Priorities: h1 %d, h2 %d, h3 %d. The highest priority alive holds the VIP.\n\n",
		priorities[0], priorities[1], priorities[2])

	w := newWatcher(c.Events(), say)
	say("starting h1, h2, h3")
	for i := range priorities {
		if err := c.Start(i); err != nil {
			return err
		}
	}
	if _, err := w.waitMaster(ctx, "h1", 10*time.Second); err != nil {
		return err
	}
	if err := showVIP(ctx, c, say, "h1"); err != nil {
		return err
	}
	pause()

	fmt.Fprintln(out)
	say("killing h1: its router dies without a goodbye and its link goes down")
	killed := time.Now()
	if err := c.Kill(0); err != nil {
		return err
	}
	at, err := w.waitMaster(ctx, "h2", 10*time.Second)
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
	if err := showVIP(ctx, c, say, "h2"); err != nil {
		return err
	}
	pause()

	fmt.Fprintln(out)
	say("h1 comes back: it starts as backup, hears h2's lower priority and preempts")
	if err := c.Revive(0); err != nil {
		return err
	}
	if _, err := w.waitMaster(ctx, "h1", 10*time.Second); err != nil {
		return err
	}
	if err := showVIP(ctx, c, say, "h1"); err != nil {
		return err
	}
	pause()

	fmt.Fprintln(out)
	say("stopping every router (a master sends priority 0 and removes the VIP)")
	c.Close()
	say("done: everything the demo started is stopped and cleaned up")
	return nil
}

// showVIP waits until want is the only live host holding the VIP, and says so.
func showVIP(ctx context.Context, c cluster, say func(string, ...any), want string) error {
	deadline := time.Now().Add(5 * time.Second)
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
	changes chan stateChange
}

func newWatcher(in <-chan stateChange, say func(string, ...any)) *watcher {
	w := &watcher{changes: make(chan stateChange, 64)}
	go func() {
		for e := range in {
			line := fmt.Sprintf("%s: Entering %s STATE", e.Host, e.State)
			if e.Reason != "" {
				line += " (" + e.Reason + ")"
			}
			say("%s", line)
			w.changes <- e
		}
		close(w.changes)
	}()
	return w
}

// waitMaster waits until host enters MASTER and returns when it did.
func (w *watcher) waitMaster(ctx context.Context, host string, timeout time.Duration) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-w.changes:
			if !ok {
				return time.Time{}, fmt.Errorf("routers stopped before %s became master", host)
			}
			if e.Host == host && e.State == "MASTER" {
				return e.Time, nil
			}
		case <-timer.C:
			return time.Time{}, fmt.Errorf("%s did not become master within %v", host, timeout)
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
