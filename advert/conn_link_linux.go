package advert

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// linkMonitor keeps a Conn's view of its interface current: whether it is
// up and running, and its addresses of the Conn's family in kernel order
// (to pick LocalAddr the way keepalived does). It listens to rtnetlink
// notifications on a socket opened with the Conn, in the Conn's namespace,
// and dumps through another opened there too (a socket opened later would
// land in the namespace of whatever thread opened it): no polling, no
// lookups by name afterwards.
//
// The interface is gone when it is deleted or renamed: the Conn serves the
// configured name, so a new Conn binds to whatever carries it next.
type linkMonitor struct {
	ifindex uint32
	name    string
	ipv6    bool
	sub     *netlink.Conn   // subscribed to the interface's link and address notifications
	subRaw  syscall.RawConn // sub's socket, read directly (see receive)
	req     *rtnetlink.Conn // for dumps
	onGone  func()          // called once when the interface is deleted or renamed
	done    chan struct{}
	stop    chan struct{} // closed by close: ends a wait between resyncs

	mu      sync.Mutex
	up      bool
	gone    bool
	closed  bool
	addrs   []ifAddr
	local   netip.Addr    // localAddrLocked of addrs, kept to notice its changes
	changed chan struct{} // closed at the next change of up or local
}

type ifAddr struct {
	addr  netip.Addr
	flags uint32 // IFA_F_*
}

// newLinkMonitor subscribes first and dumps second, so that no change
// falls between the two; notifications queued before the dump's answer
// replay changes it already shows, which converges to the same state.
func newLinkMonitor(ifindex int, name string, ipv6 bool, onGone func()) (*linkMonitor, error) {
	sub, err := dialLinkNotifications(ifindex, ipv6)
	if err != nil {
		return nil, err
	}
	subRaw, err := sub.SyscallConn()
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("advert: rtnetlink subscribe: %w", err)
	}
	req, err := rtnetlink.Dial(nil)
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("advert: rtnetlink dial: %w", err)
	}
	m := &linkMonitor{
		ifindex: uint32(ifindex),
		name:    name,
		ipv6:    ipv6,
		sub:     sub,
		subRaw:  subRaw,
		req:     req,
		onGone:  onGone,
		done:    make(chan struct{}),
		stop:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	if err := m.resync(); err != nil {
		sub.Close()
		req.Close()
		return nil, err
	}
	go m.run()
	return m, nil
}

// resyncWait bounds the wait between two failed resyncs.
const (
	resyncWaitMin = 10 * time.Millisecond
	resyncWaitMax = 2 * time.Second
)

// resync replaces the state with a fresh dump (at start, and after the
// kernel dropped notifications because our socket buffer overflowed).
func (m *linkMonitor) resync() error {
	c := m.req
	link, err := c.Link.Get(m.ifindex)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			m.setGone()
			return nil
		}
		return fmt.Errorf("advert: rtnetlink get link %d: %w", m.ifindex, err)
	}
	addrs, err := c.Address.List()
	if err != nil {
		return fmt.Errorf("advert: rtnetlink list addresses: %w", err)
	}
	if link.Attributes != nil && link.Attributes.Name != m.name {
		m.setGone()
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addrs = m.addrs[:0]
	for i := range addrs {
		if a, ok := m.decodeAddr(&addrs[i]); ok {
			m.addrs = append(m.addrs, a)
		}
	}
	m.addrsChangedLocked()
	m.setUpLocked(linkUp(link.Flags))
	return nil
}

func linkUp(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}

func (m *linkMonitor) decodeAddr(am *rtnetlink.AddressMessage) (ifAddr, bool) {
	if am.Index != m.ifindex || am.Attributes == nil {
		return ifAddr{}, false
	}
	flags := uint32(am.Flags)
	if am.Attributes.Flags != 0 {
		flags = am.Attributes.Flags
	}
	ip := am.Attributes.Address
	if am.Family == unix.AF_INET && am.Attributes.Local != nil {
		ip = am.Attributes.Local // IFA_ADDRESS is the peer on point-to-point links
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ifAddr{}, false
	}
	a = a.Unmap()
	if a.Is6() != m.ipv6 {
		return ifAddr{}, false
	}
	return ifAddr{addr: a, flags: flags}, true
}

// dialLinkNotifications subscribes to link and address notifications
// with a socket filter that lets the kernel keep only those of ifindex:
// a host's other interfaces (a takeover adds hundreds of addresses to
// them) cost the monitor nothing, and cannot fill its socket. Both
// messages carry the interface index at the same offset, after the
// netlink header: ifinfomsg's ifi_index and ifaddrmsg's ifa_index.
// Anything queued before the filter is attached is checked by apply.
func dialLinkNotifications(ifindex int, ipv6 bool) (*netlink.Conn, error) {
	groups := uint32(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR)
	if ipv6 {
		groups = unix.RTMGRP_LINK | unix.RTMGRP_IPV6_IFADDR
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Groups: groups})
	if err != nil {
		return nil, fmt.Errorf("advert: rtnetlink subscribe: %w", err)
	}
	if err := c.SetBPF(indexFilter(uint32(ifindex))); err != nil {
		c.Close()
		return nil, fmt.Errorf("advert: rtnetlink notification filter: %w", err)
	}
	return c, nil
}

// indexOffset is where link and address messages hold the interface
// index: the netlink header, then family, a byte, and a 16-bit field.
const indexOffset = unix.SizeofNlMsghdr + 4

// indexFilter accepts the messages whose interface index is ifindex. The
// filter loads words in network byte order; netlink's are the host's.
func indexFilter(ifindex uint32) []bpf.RawInstruction {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], ifindex)
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: indexOffset, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: binary.BigEndian.Uint32(b[:]), SkipFalse: 1},
		bpf.RetConstant{Val: math.MaxUint32},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		panic(err) // a fixed program: only a bug here fails to assemble
	}
	return prog
}

// monitorBuffer is the monitor's receive buffer, reused: a notification
// is one datagram of a few hundred bytes (netlink's own Receive would
// allocate a page for each, and a takeover adds hundreds of addresses).
const monitorBuffer = 16 << 10

func (m *linkMonitor) run() {
	defer close(m.done)
	buf := make([]byte, monitorBuffer)
	for {
		raw, err := m.receive(buf)
		if err == nil {
			err = m.applyAll(raw)
		}
		if err != nil {
			m.mu.Lock()
			closed := m.closed
			m.mu.Unlock()
			if closed {
				return
			}
			// ENOBUFS (notifications lost) or a message we could not
			// decode: start again from a dump, and keep trying while the
			// dump fails (the link counts as down meanwhile): a monitor
			// that gave up would leave its routers in Fault for good.
			for wait := resyncWaitMin; ; wait = min(2*wait, resyncWaitMax) {
				if rerr := m.resync(); rerr == nil {
					break
				}
				m.mu.Lock()
				m.setUpLocked(false)
				m.mu.Unlock()
				select {
				case <-m.stop:
					return
				case <-time.After(wait):
				}
			}
		}
	}
}

// receive waits for the next datagram of notifications and parses it;
// the messages' data is in buf until the next call.
func (m *linkMonitor) receive(buf []byte) ([]syscall.NetlinkMessage, error) {
	var n int
	var rerr error
	err := m.subRaw.Read(func(fd uintptr) bool {
		for {
			// MSG_TRUNC: the datagram's length, even if buf was too short.
			n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC|unix.MSG_DONTWAIT)
			if !errors.Is(rerr, unix.EINTR) {
				return !errors.Is(rerr, unix.EAGAIN) // EAGAIN: wait until readable
			}
		}
	})
	switch {
	case err != nil:
		return nil, err
	case rerr != nil:
		return nil, rerr
	case n > len(buf):
		return nil, fmt.Errorf("advert: rtnetlink notification of %d bytes", n)
	}
	return syscall.ParseNetlinkMessage(buf[:n])
}

// applyAll applies the link and address messages of one receive. An
// error is a message that does not decode: the monitor then dumps again.
func (m *linkMonitor) applyAll(raw []syscall.NetlinkMessage) error {
	for _, nm := range raw {
		var msg rtnetlink.Message
		switch nm.Header.Type {
		case unix.RTM_NEWLINK, unix.RTM_DELLINK:
			msg = &rtnetlink.LinkMessage{}
		case unix.RTM_NEWADDR, unix.RTM_DELADDR:
			msg = &rtnetlink.AddressMessage{}
		default:
			continue
		}
		if err := msg.UnmarshalBinary(nm.Data); err != nil {
			return fmt.Errorf("advert: rtnetlink notification %d: %w", nm.Header.Type, err)
		}
		m.apply(netlink.HeaderType(nm.Header.Type), msg)
	}
	return nil
}

func (m *linkMonitor) apply(typ netlink.HeaderType, msg rtnetlink.Message) {
	switch msg := msg.(type) {
	case *rtnetlink.LinkMessage:
		if msg.Index != m.ifindex {
			return
		}
		if typ == unix.RTM_DELLINK || (msg.Attributes != nil && msg.Attributes.Name != "" && msg.Attributes.Name != m.name) {
			m.setGone()
			return
		}
		m.mu.Lock()
		m.setUpLocked(linkUp(msg.Flags))
		m.mu.Unlock()
	case *rtnetlink.AddressMessage:
		a, ok := m.decodeAddr(msg)
		if !ok {
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		i := m.indexLocked(a.addr)
		switch {
		case typ == unix.RTM_DELADDR && i >= 0:
			m.addrs = append(m.addrs[:i], m.addrs[i+1:]...)
		case typ == unix.RTM_NEWADDR && i >= 0:
			m.addrs[i].flags = a.flags // e.g. tentative → usable
		case typ == unix.RTM_NEWADDR:
			m.addrs = append(m.addrs, a)
		default:
			return
		}
		m.addrsChangedLocked()
	}
}

func (m *linkMonitor) indexLocked(a netip.Addr) int {
	for i := range m.addrs {
		if m.addrs[i].addr == a {
			return i
		}
	}
	return -1
}

func (m *linkMonitor) setGone() {
	m.mu.Lock()
	first := !m.gone
	m.gone = true
	m.setUpLocked(false)
	m.mu.Unlock()
	if first && m.onGone != nil {
		m.onGone()
	}
}

func (m *linkMonitor) setUpLocked(up bool) {
	if up == m.up {
		return
	}
	m.up = up
	m.signalLocked()
}

// addrsChangedLocked wakes Link watchers when the address list's change
// moved LocalAddr: a router without a source address leaves Fault at once,
// and one whose address went away stops using it.
func (m *linkMonitor) addrsChangedLocked() {
	if local := m.localAddrLocked(); local != m.local {
		m.local = local
		m.signalLocked()
	}
}

func (m *linkMonitor) signalLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// link reports whether the interface is up and running, and a channel
// closed at the next change of that or of localAddr (or when the monitor
// is closed).
func (m *linkMonitor) link() (bool, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.up, m.changed
}

func (m *linkMonitor) isGone() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gone
}

// localAddr is keepalived's choice of source: for IPv4 the interface's
// first primary address, for IPv6 its first usable link-local address.
func (m *linkMonitor) localAddr() netip.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.local
}

func (m *linkMonitor) localAddrLocked() netip.Addr {
	for _, a := range m.addrs {
		if m.ipv6 {
			if a.addr.IsLinkLocalUnicast() && a.flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				return a.addr
			}
			continue
		}
		if a.flags&unix.IFA_F_SECONDARY == 0 {
			return a.addr
		}
	}
	return netip.Addr{}
}

// close stops the monitor and wakes Link watchers (they then ask the Conn
// again, "down" after Close).
func (m *linkMonitor) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	close(m.stop)
	m.sub.Close()
	<-m.done
	m.req.Close()
	m.mu.Lock()
	m.signalLocked()
	m.up = false
	m.mu.Unlock()
}
