package advert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Conn sends and receives VRRP adverts on one interface and address family
// through raw sockets: IP protocol 112, and 51 (AH) when configured. It is
// shared by every virtual router on that interface and family; they are
// told apart by VRID above it. It implements vrrp.Transport. Its files:
// conn_open_linux.go opens the sockets, conn_receive_linux.go and
// conn_send_linux.go move packets, conn_link_linux.go watches the
// interface.
//
// On the wire it matches keepalived: IPv4 adverts carry TOS 0xc0, a
// non-zero identification, no DF flag and TTL 255 in a header built here
// (so the AH ICV covers exactly what is sent); IPv6 adverts carry traffic
// class 0xc0 and hop limit 255, from the interface's link-local address
// unless the packet names another source. Multicast loopback is off and
// the sockets are bound to the interface, so the kernel never hands back
// this host's own adverts (multicast, or unicast to one of its own
// addresses, which arrives on lo) nor packets from other interfaces.
//
// Send and Receive may be called concurrently with each other; Receive by
// one goroutine at a time. A reader that takes packets in batches uses
// WaitReceive and ReceiveBatch instead of Receive (each by one goroutine
// at a time, the two concurrently).
//
// The raw sockets are kept out of Go's poller, which would wake the
// process for every packet that arrives whether or not anyone waits for
// it; an epoll descriptor over them, armed one-shot, is in the poller
// instead. A reader that batches is then woken once for a burst.
//
// A Conn whose sockets failed, or whose interface was deleted, is closed
// and replaced by a new one (Listen binds to the interface carrying the
// name then).
type Conn struct {
	cfg     Config
	group   netip.Addr
	network string // "ip4:112" or "ip6:112", for errors

	s      *sockets // set by Listen, never replaced
	mu     sync.Mutex
	closed bool

	// ReceiveBatch state, guarded by recvMu.
	recvMu sync.Mutex
	rb     recvBatch

	// WaitReceive state, guarded by waitMu. The callback is built once: a
	// closure per call would allocate.
	waitMu  sync.Mutex
	wevents [2]unix.EpollEvent
	werrno  unix.Errno
	waitFn  func(fd uintptr) bool

	// Receive's, guarded by oneMu.
	oneMu  sync.Mutex
	oneBuf [1][]byte

	// Send state, guarded by sendMu.
	sendMu sync.Mutex
	sb     sendBatch
	ipID   uint16

	received, sent, truncated, malformed, otherIf atomic.Uint64
}

// Listen opens the sockets for cfg and starts watching the interface. The
// sockets, and the netlink sockets that keep LocalAddr and Link current,
// are opened in cfg.Netns (nil: the calling thread's namespace), from
// whatever goroutine calls it. ctx bounds the opening only.
func Listen(ctx context.Context, cfg Config) (*Conn, error) {
	c := &Conn{cfg: cfg, group: cfg.Group, network: "ip4:112"}
	if cfg.IPv6 {
		c.network = "ip6:112"
	}
	if !c.group.IsValid() {
		c.group = GroupIPv4
		if cfg.IPv6 {
			c.group = GroupIPv6
		}
	}
	switch {
	case cfg.Interface == "":
		return nil, c.opError("listen", nil, errors.New("no interface"))
	case c.group.Is6() != cfg.IPv6 || !c.group.IsMulticast():
		return nil, c.opError("listen", nil, fmt.Errorf("group %s is not an %s multicast address", c.group, familyName(cfg.IPv6)))
	case cfg.AH && cfg.IPv6:
		return nil, c.opError("listen", nil, errors.New("AH is IPv4 only"))
	}
	ns := cfg.Netns
	if ns == nil {
		var err error
		if ns, err = currentNetns(); err != nil {
			return nil, c.opError("listen", nil, err)
		}
		defer ns.Close()
	}
	c.cfg.Netns = nil
	c.waitFn = c.pollWait
	if err := ctx.Err(); err != nil {
		return nil, c.opError("listen", nil, err)
	}
	s, err := c.open(ns)
	if err != nil {
		return nil, err
	}
	c.s = s
	return c, nil
}

func familyName(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

func (c *Conn) opError(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: c.network + " " + c.cfg.Interface, Addr: addr, Err: err}
}

// current returns the open sockets, or an error once the Conn is closed.
func (c *Conn) current() (*sockets, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, c.opError("use", nil, net.ErrClosed)
	}
	return c.s, nil
}

// LocalAddr is the address adverts go out from when a packet names none:
// the interface's first primary IPv4 address, or its link-local IPv6
// address once usable. Zero means there is none.
func (c *Conn) LocalAddr() netip.Addr {
	s, err := c.current()
	if err != nil {
		return netip.Addr{}
	}
	return s.mon.localAddr()
}

// Link reports whether the interface is up and running (IFF_UP and
// IFF_RUNNING, as keepalived checks), and a channel closed at the next
// change of link state or of LocalAddr — also at Close, after
// which Link must be asked again.
func (c *Conn) Link() (bool, <-chan struct{}) {
	s, err := c.current()
	if err != nil {
		closed := make(chan struct{})
		close(closed)
		return false, closed
	}
	return s.mon.link()
}

// Ifindex is the index of the interface the Conn is bound to.
func (c *Conn) Ifindex() int {
	s, err := c.current()
	if err != nil {
		return 0
	}
	return s.ifindex
}

// Close closes the sockets and the netlink watch; a blocked Receive or
// WaitReceive returns.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.s.close()
	return nil
}

// Stats returns the Conn's counters.
func (c *Conn) Stats() Stats {
	return Stats{
		Received:       c.received.Load(),
		Sent:           c.sent.Load(),
		Truncated:      c.truncated.Load(),
		Malformed:      c.malformed.Load(),
		OtherInterface: c.otherIf.Load(),
	}
}
