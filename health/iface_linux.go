package health

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Interface passes while a network interface is up and running (IFF_UP and
// IFF_RUNNING: administratively up and with carrier), which is how
// keepalived judges a track_interface. It learns of changes from netlink
// link events, not by polling, so a tracker needs no Interval for it.
//
// The netlink sockets are opened by NewInterface, in the network namespace
// of the calling thread, and stay in it: to watch an interface in another
// namespace, call NewInterface on a thread in that namespace. An interface
// that does not exist (yet) is down; it is found when it appears, and lost
// when it is deleted or renamed.
//
// It needs Linux: elsewhere NewInterface fails with an error that wraps
// errors.ErrUnsupported.
type Interface struct {
	name   string
	events *netlink.Conn // subscribed to link events
	query  *netlink.Conn // for dumps: at start and after lost events

	changes notifier
	done    chan struct{} // closed by Close, before the sockets
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	index  uint32 // 0 while the interface is not known to exist
	flags  uint32
	reason string
}

// NewInterface starts watching the interface called name.
func NewInterface(name string) (*Interface, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("health: track interface %q: bad name", name)
	}
	// Subscribe before the first dump, so no change falls between the two.
	events, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Groups: unix.RTMGRP_LINK})
	if err != nil {
		return nil, fmt.Errorf("health: track interface %s: netlink: %w", name, err)
	}
	query, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		events.Close()
		return nil, fmt.Errorf("health: track interface %s: netlink: %w", name, err)
	}
	i := &Interface{name: name, events: events, query: query, done: make(chan struct{})}
	if err := i.resync(); err != nil {
		events.Close()
		query.Close()
		return nil, fmt.Errorf("health: track interface %s: %w", name, err)
	}
	i.wg.Add(1)
	go i.watch()
	return i, nil
}

// Name is the interface watched.
func (i *Interface) Name() string { return i.name }

// Changed implements Watcher.
func (i *Interface) Changed() <-chan struct{} { return i.changes.wait() }

// Up reports whether the interface is up and running, and why not.
func (i *Interface) Up() (bool, string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.index != 0 && linkUp(i.flags), i.reason
}

// Check reports the interface's current state; it does no I/O.
func (i *Interface) Check(context.Context) Result {
	up, reason := i.Up()
	return Result{Up: up, Reason: reason}
}

// Close stops watching and closes the netlink sockets. It may be called
// more than once, also concurrently: every call returns the first one's
// result.
func (i *Interface) Close() error {
	i.closeOnce.Do(func() {
		close(i.done)
		err := i.events.Close()
		i.wg.Wait()
		i.closeErr = errors.Join(err, i.query.Close())
	})
	return i.closeErr
}

func linkUp(flags uint32) bool {
	return flags&(unix.IFF_UP|unix.IFF_RUNNING) == unix.IFF_UP|unix.IFF_RUNNING
}

func (i *Interface) watch() {
	defer i.wg.Done()
	for {
		msgs, err := i.events.Receive()
		select {
		case <-i.done:
			return
		default:
		}
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				// The kernel dropped events: ask for the whole state.
				if err := i.resync(); err != nil {
					i.lost(err)
				}
				continue
			}
			i.lost(err)
			return
		}
		for _, m := range msgs {
			i.apply(m)
		}
	}
}

// lost marks the state unknown when the event socket fails for good.
func (i *Interface) lost(err error) {
	i.mu.Lock()
	i.index, i.reason = 0, "netlink: "+err.Error()
	i.mu.Unlock()
	i.changes.notify()
}

// resync dumps every link and takes ours from the dump.
func (i *Interface) resync() error {
	msgs, err := i.query.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request | netlink.Dump},
		Data:   make([]byte, unix.SizeofIfInfomsg),
	})
	if err != nil {
		return fmt.Errorf("dump links: %w", err)
	}
	found := false
	for _, m := range msgs {
		idx, flags, name, ok := parseLink(m.Data)
		if ok && name == i.name {
			found = true
			i.set(idx, flags, "")
		}
	}
	if !found {
		i.set(0, 0, "no such interface")
	}
	return nil
}

// apply takes one link event.
func (i *Interface) apply(m netlink.Message) {
	idx, flags, name, ok := parseLink(m.Data)
	if !ok {
		return
	}
	i.mu.Lock()
	ours := i.index != 0 && idx == i.index
	i.mu.Unlock()
	switch {
	case m.Header.Type == unix.RTM_DELLINK && (ours || name == i.name):
		i.set(0, 0, "deleted")
	case m.Header.Type != unix.RTM_NEWLINK:
	case name == i.name:
		i.set(idx, flags, "")
	case ours:
		i.set(0, 0, "renamed to "+name)
	}
}

// set records the link's state and wakes the watchers if its verdict or
// reason changed. reason "" derives it from the flags.
func (i *Interface) set(idx, flags uint32, reason string) {
	if reason == "" {
		switch {
		case flags&unix.IFF_UP == 0:
			reason = "administratively down"
		case flags&unix.IFF_RUNNING == 0:
			reason = "no carrier"
		default:
			reason = "up and running"
		}
	}
	i.mu.Lock()
	before := i.index != 0 && linkUp(i.flags)
	after := idx != 0 && linkUp(flags)
	changed := before != after || reason != i.reason
	i.index, i.flags, i.reason = idx, flags, reason
	i.mu.Unlock()
	if changed {
		i.changes.notify()
	}
}

// parseLink decodes the part of an RTM_NEWLINK / RTM_DELLINK message we
// need: struct ifinfomsg (family, pad, type, index, flags, change) and the
// IFLA_IFNAME attribute.
func parseLink(b []byte) (index, flags uint32, name string, ok bool) {
	if len(b) < unix.SizeofIfInfomsg {
		return 0, 0, "", false
	}
	index = binary.NativeEndian.Uint32(b[4:8])
	flags = binary.NativeEndian.Uint32(b[8:12])
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfInfomsg:])
	if err != nil {
		return 0, 0, "", false
	}
	for ad.Next() {
		if ad.Type() == unix.IFLA_IFNAME {
			name = ad.String()
		}
	}
	if ad.Err() != nil || index == 0 {
		return 0, 0, "", false
	}
	return index, flags, name, true
}
