//go:build linux

package vmac

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/jsimonetti/rtnetlink/v2"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// aliasPrefix starts the interface alias of every VMAC a Manager makes.
const aliasPrefix = "vrrpkit-vmac"

// macvlanModePrivate is MACVLAN_MODE_PRIVATE (linux/if_link.h), keepalived's
// mode: frames from the virtual MAC that come in on the base interface go
// to the VMAC alone, where a backup listens for the master's adverts.
const macvlanModePrivate = 1

// Manager creates, holds and removes VMAC interfaces in one network
// namespace: the one of the thread that called New. Its methods are safe
// for concurrent use.
type Manager struct {
	log   *zap.Logger
	ns    *namespace
	nl    *rtnetlink.Conn
	fw    *firewall // nil with Config.NoFirewall
	noFW  bool
	addrs *addrWatch // for Network; opened at its first use

	mu      sync.Mutex
	held    map[string]*held // by name
	sysctl  *sysctls
	closed  bool
	addrsMu sync.Mutex
}

// held is a VMAC of the Manager's.
type held struct {
	v     VMAC
	spec  Spec
	mark  int  // the abstract socket marking it in use
	owned bool // made by us or a crashed run of ours: deleted at Remove
}

// New opens a Manager in the calling thread's network namespace: an
// rtnetlink connection and, unless cfg.NoFirewall, an nftables one. It
// needs CAP_NET_ADMIN. It changes nothing on the host until Add.
func New(cfg Config) (*Manager, error) {
	m := &Manager{log: cfg.Logger, held: make(map[string]*held), noFW: cfg.NoFirewall}
	if m.log == nil {
		m.log = zap.NewNop()
	}
	var err error
	if m.ns, err = currentNamespace(); err != nil {
		return nil, err
	}
	if m.nl, err = rtnetlink.Dial(nil); err != nil {
		m.ns.close()
		return nil, fmt.Errorf("vmac: open rtnetlink: %w", err)
	}
	m.sysctl = newSysctls(m.ns, m.log)
	return m, nil
}

// Add creates the VMAC s (or reuses one that is there, see the package
// doc), sets the sysctls, installs the firewall rules and brings it up.
// Adding a VMAC the Manager holds returns it again if s is the same, and
// an error otherwise.
func (m *Manager) Add(ctx context.Context, s Spec) (VMAC, error) {
	if err := s.Validate(); err != nil {
		return VMAC{}, err
	}
	s = s.withDefaults()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return VMAC{}, fmt.Errorf("vmac: add %s: %w", s.Name, net.ErrClosed)
	}
	if h := m.held[s.Name]; h != nil {
		if h.spec.Base != s.Base || h.spec.VRID != s.VRID || h.spec.IPv6 != s.IPv6 || !bytes.Equal(h.spec.MAC, s.MAC) {
			return VMAC{}, fmt.Errorf("vmac: %s is held for %s VRID %d already", s.Name, h.spec.Base, h.spec.VRID)
		}
		return h.v, nil
	}
	if err := ctx.Err(); err != nil {
		return VMAC{}, err
	}
	base, err := linkByName(m.nl, s.Base)
	if err != nil {
		return VMAC{}, fmt.Errorf("vmac: %s: base interface %s: %w", s.Name, s.Base, err)
	}
	h := &held{spec: s, mark: -1}
	fail := func(err error) (VMAC, error) {
		if h.mark >= 0 {
			unix.Close(h.mark)
		}
		return VMAC{}, fmt.Errorf("vmac: %s on %s: %w", s.Name, s.Base, err)
	}
	if h.mark, err = m.claim(s.Name); err != nil {
		return fail(err)
	}

	old, err := linkByName(m.nl, s.Name)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, unix.ENODEV):
		return fail(err)
	case exists && old.kind != "macvlan":
		return fail(fmt.Errorf("an interface of that name exists and is a %q, not a macvlan", old.kind))
	case exists && bytes.Equal(old.mac, s.MAC) && old.parent == base.index:
		h.owned = strings.HasPrefix(old.alias, aliasPrefix)
		if h.owned {
			m.sysctl.recover(parseAlias(old.alias))
		}
		m.log.Info("vmac: reusing "+s.Name, zap.String("base", s.Base), zap.Bool("left_by_a_crashed_run", h.owned))
	case exists && strings.HasPrefix(old.alias, aliasPrefix):
		m.sysctl.recover(parseAlias(old.alias))
		m.log.Info("vmac: removing "+s.Name+" left by an earlier run: other MAC address or base interface",
			zap.Stringer("mac", old.mac), zap.Stringer("want_mac", s.MAC))
		if err := deleteLink(m.nl, old.index); err != nil {
			return fail(err)
		}
		exists = false
	case exists:
		return fail(fmt.Errorf("a macvlan of that name exists with MAC %v on interface index %d, not %v on %s: not ours to change",
			old.mac, old.parent, s.MAC, s.Base))
	}

	// The base's and the namespace's sysctls first: the VMAC's alias
	// records their values from before.
	if err := m.sysctl.forBase(s.Base, !s.IPv6); err != nil {
		return fail(err)
	}
	if !exists {
		alias := m.sysctl.alias(s.Base)
		if err := createMacvlan(m.nl, s.Name, s.MAC, base.index); err != nil {
			return fail(fmt.Errorf("create macvlan: %w", err))
		}
		if err := setAlias(m.nl, s.Name, alias); err != nil {
			if li, lerr := linkByName(m.nl, s.Name); lerr == nil {
				_ = deleteLink(m.nl, li.index)
			}
			return fail(fmt.Errorf("set alias: %w", err))
		}
		h.owned = true
		m.log.Info("vmac: created "+s.Name, zap.String("base", s.Base), zap.Stringer("mac", s.MAC))
	}
	link, err := linkByName(m.nl, s.Name)
	if err == nil {
		err = m.configure(h, link, base)
	}
	if err != nil {
		if !exists && link.index != 0 {
			_ = deleteLink(m.nl, link.index)
		}
		return fail(err)
	}
	h.v = VMAC{Name: s.Name, Index: link.index, MAC: s.MAC, Base: s.Base, BaseIndex: base.index, IPv6: s.IPv6, Reused: exists}
	if !m.noFW {
		if m.fw == nil {
			if m.fw, err = newFirewall(m.ns); err != nil {
				m.fw = nil
				_ = m.removeLocked(h)
				return fail(err)
			}
		}
		if err := m.fw.add(h.v); err != nil {
			_ = m.removeLocked(h)
			return fail(err)
		}
	}
	m.held[s.Name] = h
	return h.v, nil
}

// configure sets the VMAC's own sysctls and addresses and brings it up.
func (m *Manager) configure(h *held, link, base linkInfo) error {
	s := h.spec
	// No address derived from the virtual MAC: two routers would have the
	// same (RFC 5798 §7.4).
	if err := setAddrGenModeNone(m.nl, link.index); err != nil {
		return fmt.Errorf("addrgenmode none: %w", err)
	}
	if err := m.sysctl.forVMAC(s.Name, !s.IPv6, !s.IPv6 && !s.KeepIPv6); err != nil {
		return err
	}
	if s.IPv6 {
		ll, err := baseLinkLocal(m.nl, base)
		if err != nil {
			return err
		}
		if err := addLinkLocal(m.nl, link.index, ll); err != nil {
			return fmt.Errorf("link-local address %v: %w", ll, err)
		}
	}
	if err := setUp(m.nl, link.index); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}

// Remove deletes a VMAC the Manager holds (one it reused from someone
// else stays, without its firewall rules), and puts back the sysctls once
// no VMAC needs them.
func (m *Manager) Remove(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.held[name]
	if h == nil {
		return fmt.Errorf("vmac: %s is not held", name)
	}
	return m.removeLocked(h)
}

func (m *Manager) removeLocked(h *held) error {
	var errs []error
	if m.fw != nil {
		errs = append(errs, m.fw.remove(h.v.Name))
	}
	if h.owned && h.v.Index != 0 {
		if err := deleteLink(m.nl, h.v.Index); err != nil {
			errs = append(errs, fmt.Errorf("vmac: remove %s: %w", h.v.Name, err))
		} else {
			m.log.Info("vmac: removed " + h.v.Name)
		}
	}
	if h.mark >= 0 {
		unix.Close(h.mark)
	}
	delete(m.held, h.spec.Name)
	errs = append(errs, m.restoreUnused())
	return errors.Join(errs...)
}

// restoreUnused puts back the sysctls of bases without a VMAC, and the
// namespace's once there is none.
func (m *Manager) restoreUnused() error {
	bases := make(map[string]bool)
	for _, h := range m.held {
		bases[h.spec.Base] = true
	}
	return m.sysctl.restore(func(iface string) bool { return bases[iface] }, len(m.held) > 0)
}

// RemoveLeftovers deletes the VMACs a crashed run of vrrpkit left that no
// running process holds and this Manager did not reuse, and puts back the
// sysctls their aliases say were changed. Call it after adding the VMACs
// the configuration wants. It returns their names.
func (m *Manager) RemoveLeftovers(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	links, err := m.nl.Link.List()
	if err != nil {
		return nil, fmt.Errorf("vmac: list interfaces: %w", err)
	}
	var removed []string
	var errs []error
	for _, lm := range links {
		li := linkInfoOf(&lm)
		if li.kind != "macvlan" || !strings.HasPrefix(li.alias, aliasPrefix) || m.held[li.name] != nil {
			continue
		}
		mark, err := m.claim(li.name)
		if err != nil {
			continue // a running process's
		}
		m.sysctl.recover(parseAlias(li.alias))
		if err := deleteLink(m.nl, li.index); err != nil {
			errs = append(errs, fmt.Errorf("vmac: remove leftover %s: %w", li.name, err))
		} else {
			m.log.Info("vmac: removed " + li.name + ", left by an earlier run")
			removed = append(removed, li.name)
		}
		unix.Close(mark)
	}
	errs = append(errs, m.restoreUnused())
	return removed, errors.Join(errs...)
}

// Held returns the VMACs the Manager holds.
func (m *Manager) Held() []VMAC {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]VMAC, 0, len(m.held))
	for _, h := range m.held {
		out = append(out, h.v)
	}
	return out
}

// vmacOf returns the held VMAC called name.
func (m *Manager) vmacOf(name string) (VMAC, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.held[name]
	if h == nil {
		return VMAC{}, false
	}
	return h.v, true
}

// Close removes every VMAC the Manager holds, its firewall tables, and
// puts back every sysctl it changed. Later calls fail with net.ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	for _, h := range m.held {
		errs = append(errs, m.removeLocked(h))
	}
	errs = append(errs, m.sysctl.restore(func(string) bool { return false }, false))
	if m.fw != nil {
		errs = append(errs, m.fw.close())
	}
	m.addrsMu.Lock()
	if m.addrs != nil {
		errs = append(errs, m.addrs.close())
	}
	m.addrsMu.Unlock()
	errs = append(errs, m.nl.Close(), m.ns.close())
	return errors.Join(errs...)
}

// claim binds the abstract socket that marks name as held by this
// process, in the Manager's namespace (abstract names are per namespace).
func (m *Manager) claim(name string) (int, error) {
	fd := -1
	err := m.ns.do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@vrrpkit/vmac/" + name}); err != nil {
			unix.Close(fd)
			fd = -1
			if errors.Is(err, unix.EADDRINUSE) {
				return errors.New("held by another running process")
			}
			return err
		}
		return nil
	})
	return fd, err
}

// namespace runs functions in one network namespace, for what is looked
// up by the calling thread's namespace (sysctl files, abstract sockets).
type namespace struct{ f *os.File }

func currentNamespace() (*namespace, error) {
	f, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("vmac: open network namespace: %w", err)
	}
	return &namespace{f: f}, nil
}

func (n *namespace) close() error { return n.f.Close() }

// do runs fn on a thread in the namespace. A thread that cannot move back
// stays locked, so that the runtime retires it.
func (n *namespace) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		back, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer back.Close()
		if err := unix.Setns(int(n.f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("vmac: enter network namespace: %w", err)
			return
		}
		err = fn()
		if unix.Setns(int(back.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}
