//go:build linux

package vmac

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Network returns a vrrp.Network that opens transports through inner and,
// for a router on an IPv4 VMAC the Manager holds, reports its base
// interface's primary IPv4 address as LocalAddr: the adverts go out of the
// VMAC, with the virtual MAC as their source, from the router's own
// address (the VMAC holds only the virtual addresses), as keepalived and
// FRR send them. An IPv6 VMAC has its base's link-local address: inner's
// transport finds it there.
func (m *Manager) Network(inner vrrp.Network) vrrp.Network { return &network{m: m, inner: inner} }

type network struct {
	m     *Manager
	inner vrrp.Network
}

func (n *network) Open(ctx context.Context, ep vrrp.Endpoint) (vrrp.Transport, error) {
	t, err := n.inner.Open(ctx, ep)
	if err != nil || ep.IPv6 {
		return t, err
	}
	v, ok := n.m.vmacOf(ep.Interface)
	if !ok {
		return t, nil
	}
	w, err := n.m.addrWatch()
	if err != nil {
		t.Close()
		return nil, err
	}
	return &baseSourced{Transport: t, w: w, base: v.BaseIndex, done: make(chan struct{})}, nil
}

// baseSourced is a transport on an IPv4 VMAC whose LocalAddr is its
// base's primary address.
type baseSourced struct {
	vrrp.Transport
	w    *addrWatch
	base int
	once sync.Once
	done chan struct{}
}

func (t *baseSourced) LocalAddr() netip.Addr { return t.w.primary(t.base) }

// Link reports the VMAC's link state (a macvlan follows its base's
// carrier) and a channel closed at its next change or at a change of the
// base's addresses.
func (t *baseSourced) Link() (bool, <-chan struct{}) {
	up, inner := t.Transport.Link()
	addrs := t.w.changed()
	ch := make(chan struct{})
	go func() {
		select {
		case <-inner: // nil: only the addresses
		case <-addrs:
		case <-t.done:
		}
		close(ch)
	}()
	return up, ch
}

func (t *baseSourced) Close() error {
	t.once.Do(func() { close(t.done) })
	return t.Transport.Close()
}

// addrWatch follows the namespace's IPv4 addresses through rtnetlink
// notifications.
type addrWatch struct {
	sub  *rtnetlink.Conn
	req  *rtnetlink.Conn
	done chan struct{}

	mu     sync.Mutex
	addrs  map[int][]ifAddr // by interface index, in the kernel's order
	signal chan struct{}    // closed at the next change
}

type ifAddr struct {
	addr  netip.Addr
	flags uint32
}

// addrWatch returns the Manager's watch, opening it in its namespace at
// the first call.
func (m *Manager) addrWatch() (*addrWatch, error) {
	m.addrsMu.Lock()
	defer m.addrsMu.Unlock()
	if m.addrs != nil {
		return m.addrs, nil
	}
	w := &addrWatch{req: m.nl, done: make(chan struct{}), signal: make(chan struct{})}
	err := m.ns.do(func() error {
		var err error
		w.sub, err = rtnetlink.Dial(&netlink.Config{Groups: unix.RTMGRP_IPV4_IFADDR})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vmac: rtnetlink address notifications: %w", err)
	}
	if err := w.resync(); err != nil {
		w.sub.Close()
		return nil, err
	}
	go w.run()
	m.addrs = w
	return w, nil
}

func (w *addrWatch) resync() error {
	msgs, err := w.req.Address.List()
	if err != nil {
		return fmt.Errorf("vmac: list addresses: %w", err)
	}
	addrs := make(map[int][]ifAddr)
	for i := range msgs {
		if a, ok := ifAddrOf(&msgs[i]); ok {
			addrs[int(msgs[i].Index)] = append(addrs[int(msgs[i].Index)], a)
		}
	}
	w.mu.Lock()
	w.addrs = addrs
	w.bumpLocked()
	w.mu.Unlock()
	return nil
}

func ifAddrOf(am *rtnetlink.AddressMessage) (ifAddr, bool) {
	if am.Family != unix.AF_INET || am.Attributes == nil {
		return ifAddr{}, false
	}
	ip := am.Attributes.Local
	if ip == nil {
		ip = am.Attributes.Address
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ifAddr{}, false
	}
	flags := uint32(am.Flags)
	if am.Attributes.Flags != 0 {
		flags = am.Attributes.Flags
	}
	return ifAddr{addr: a.Unmap(), flags: flags}, true
}

func (w *addrWatch) run() {
	defer close(w.done)
	for {
		_, msgs, err := w.sub.Receive()
		if errors.Is(err, unix.ENOBUFS) {
			_ = w.resync()
			continue
		}
		if err != nil {
			return // closed
		}
		for _, nm := range msgs {
			if nm.Header.Type != unix.RTM_NEWADDR && nm.Header.Type != unix.RTM_DELADDR {
				continue
			}
			var am rtnetlink.AddressMessage
			if am.UnmarshalBinary(nm.Data) != nil {
				continue
			}
			a, ok := ifAddrOf(&am)
			if !ok {
				continue
			}
			w.mu.Lock()
			idx := int(am.Index)
			list := w.addrs[idx]
			kept := list[:0]
			for _, x := range list {
				if x.addr != a.addr {
					kept = append(kept, x)
				}
			}
			if nm.Header.Type == unix.RTM_NEWADDR {
				kept = append(kept, a)
			}
			w.addrs[idx] = kept
			w.bumpLocked()
			w.mu.Unlock()
		}
	}
}

func (w *addrWatch) bumpLocked() {
	close(w.signal)
	w.signal = make(chan struct{})
}

// primary is the interface's first primary IPv4 address (keepalived's
// choice of source), or the zero Addr.
func (w *addrWatch) primary(ifindex int) netip.Addr {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.addrs[ifindex] {
		if a.flags&unix.IFA_F_SECONDARY == 0 {
			return a.addr
		}
	}
	return netip.Addr{}
}

func (w *addrWatch) changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.signal
}

func (w *addrWatch) close() error {
	err := w.sub.Close()
	<-w.done
	return err
}
