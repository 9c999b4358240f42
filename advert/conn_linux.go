package advert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Conn sends and receives VRRP adverts on one interface and address family
// through raw sockets: IP protocol 112, and 51 (AH) when configured. It is
// shared by every virtual router on that interface and family; they are
// told apart by VRID above it. It implements vrrp.Transport and
// vrrp.LinkMonitor.
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
type Conn struct {
	cfg     Config
	group   netip.Addr
	ns      *os.File // where Reopen opens the sockets
	network string   // "ip4:112" or "ip6:112", for errors

	mu     sync.Mutex // guards s and closed
	s      *sockets
	closed bool

	reopenMu sync.Mutex

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
	sm     sendMsg
	sbuf   []byte
	ipID   uint16

	received, sent, truncated, malformed, otherIf, reopens atomic.Uint64
}

// sockets is what one open (or reopen) of a Conn holds.
type sockets struct {
	ifindex int
	// The raw sockets as plain descriptors, outside Go's poller.
	vrrpFD int // protocol 112: receives VRRP, sends everything
	ahFD   int // protocol 51, receive only; -1 without AH
	// wait is an epoll descriptor over the sockets, registered one-shot
	// (see arm), in Go's poller: WaitReceive waits on it.
	wait   *os.File
	waitFD int // wait's descriptor (os.File.Fd would make it blocking)
	waitRC syscall.RawConn
	mon    *linkMonitor

	mu     sync.RWMutex // read-held while the descriptors are in use
	closed bool
}

// Listen opens the sockets for cfg and starts watching the interface. The
// sockets, and the netlink socket that keeps LocalAddr and Link current,
// are opened in cfg.Netns (nil: the calling thread's namespace), which the
// Conn remembers for Reopen. ctx bounds the opening only.
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
	var err error
	if cfg.Netns != nil {
		c.ns, err = dupNetns(cfg.Netns)
	} else {
		c.ns, err = currentNetns()
	}
	if err != nil {
		return nil, c.opError("listen", nil, err)
	}
	c.cfg.Netns = nil
	c.waitFn = c.pollWait
	if err := ctx.Err(); err != nil {
		c.ns.Close()
		return nil, c.opError("listen", nil, err)
	}
	s, err := c.open()
	if err != nil {
		c.ns.Close()
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

// open opens a new set of sockets in the Conn's namespace.
func (c *Conn) open() (*sockets, error) {
	var s *sockets
	err := inNetns(c.ns, func() error {
		var err error
		s, err = c.openHere()
		return err
	})
	if err != nil {
		return nil, c.opError("listen", nil, err)
	}
	return s, nil
}

func (c *Conn) openHere() (_ *sockets, err error) {
	ifi, err := net.InterfaceByName(c.cfg.Interface)
	if err != nil {
		return nil, err
	}
	s := &sockets{ifindex: ifi.Index, vrrpFD: -1, ahFD: -1}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.mon, err = newLinkMonitor(ifi.Index, c.cfg.IPv6, s.interrupt)
	if err != nil {
		return nil, err
	}
	group := &net.IPAddr{IP: c.group.AsSlice()}
	if c.cfg.IPv6 {
		vrrp, rc, err := listenRaw("ip6:112", "::", ifi.Name, ifi.Index)
		if err != nil {
			return nil, err
		}
		defer vrrp.Close()
		p := ipv6.NewPacketConn(vrrp)
		for _, step := range []func() error{
			func() error { return p.JoinGroup(ifi, group) },
			func() error { return p.SetMulticastInterface(ifi) },
			func() error { return p.SetMulticastLoopback(false) },
			func() error { return p.SetMulticastHopLimit(255) }, // RFC 5798 §5.1.2.3
			func() error { return p.SetHopLimit(255) },          // unicast too, as the RFC's receivers check it
			func() error { return p.SetTrafficClass(tosNetworkControl) },
			func() error { return p.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface|ipv6.FlagHopLimit, true) },
			func() error { return setMulticastAll(rc, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL) },
		} {
			if err := step(); err != nil {
				return nil, err
			}
		}
		// No IPV6_CHECKSUM offload: the codec computes the VRRPv3
		// checksum on send, and on receive the kernel would drop a bad
		// one silently where the protocol wants to count it.
		if s.vrrpFD, err = detach(rc); err != nil {
			return nil, err
		}
		if s.wait, s.waitFD, s.waitRC, err = newEpoll(s.vrrpFD); err != nil {
			return nil, err
		}
		return s, nil
	}

	vrrp, rc, err := listenRaw("ip4:112", "0.0.0.0", ifi.Name, ifi.Index)
	if err != nil {
		return nil, err
	}
	defer vrrp.Close()
	// IP_HDRINCL: we write the IPv4 header (see putIPv4Header).
	r, err := ipv4.NewRawConn(vrrp)
	if err != nil {
		return nil, err
	}
	for _, step := range []func() error{
		func() error { return r.JoinGroup(ifi, group) },
		func() error { return r.SetMulticastInterface(ifi) },
		func() error { return r.SetMulticastLoopback(false) },
		func() error { return r.SetControlMessage(ipv4.FlagInterface, true) },
		func() error { return setMulticastAll(rc, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL) },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if s.vrrpFD, err = detach(rc); err != nil {
		return nil, err
	}
	if c.cfg.AH {
		ah, ahRC, err := listenRaw("ip4:51", "0.0.0.0", ifi.Name, ifi.Index)
		if err != nil {
			return nil, err
		}
		defer ah.Close()
		p := ipv4.NewPacketConn(ah)
		for _, step := range []func() error{
			func() error { return p.JoinGroup(ifi, group) },
			func() error { return p.SetControlMessage(ipv4.FlagInterface, true) },
			func() error { return setMulticastAll(ahRC, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL) },
		} {
			if err := step(); err != nil {
				return nil, err
			}
		}
		if s.ahFD, err = detach(ahRC); err != nil {
			return nil, err
		}
	}
	if s.wait, s.waitFD, s.waitRC, err = newEpoll(s.vrrpFD, s.ahFD); err != nil {
		return nil, err
	}
	return s, nil
}

// detach returns a duplicate of a socket's descriptor that is not in Go's
// poller; the caller then closes the net.Conn, which takes the original
// out of the poller (and the socket stays open through the duplicate).
func detach(rc syscall.RawConn) (int, error) {
	fd := -1
	var serr error
	if err := rc.Control(func(f uintptr) {
		fd, serr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if serr != nil {
		return -1, fmt.Errorf("dup: %w", serr)
	}
	return fd, nil
}

// listenRaw opens a raw socket bound to the interface: the kernel then
// delivers only what arrived on it, and routes what we send out of it.
func listenRaw(network, addr, ifname string, ifindex int) (*net.IPConn, syscall.RawConn, error) {
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, nil, err
	}
	c := pc.(*net.IPConn)
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.BindToDevice(int(fd), ifname)
		if serr == nil {
			// Receive stamps: Packet.Age, so that the protocol times
			// adverts from their arrival, not from when it got to them.
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		}
	}); err != nil {
		serr = err
	}
	if serr != nil {
		c.Close()
		return nil, nil, fmt.Errorf("bind %s to %s: %w", network, ifname, serr)
	}
	if err := attachIfindexFilter(rc, ifindex); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("%s: %w", network, err)
	}
	// Whatever was queued before the filter was attached may come from
	// anywhere: drop it.
	var rm recvMsg
	var scratch [64]byte
	for {
		more := false
		if err := rc.Read(func(fd uintptr) bool {
			more = rm.recv(fd, scratch[:]) && rm.errno == 0
			return true
		}); err != nil || !more {
			break
		}
	}
	return c, rc, nil
}

// attachIfindexFilter makes the kernel drop every packet whose device is
// not the interface. Binding to the device is not enough: a unicast advert
// a host sends to one of its own addresses is routed through lo yet
// matches a socket bound to eth0, and IP_PKTINFO reports it as arriving on
// eth0. Only the socket filter sees the device it really came in on.
func attachIfindexFilter(rc syscall.RawConn, ifindex int) error {
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtInterfaceIndex},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ifindex), SkipFalse: 1},
		bpf.RetConstant{Val: 0x40000}, // keep the whole packet
		bpf.RetConstant{Val: 0},       // drop
	})
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("attach socket filter: %w", serr)
	}
	return nil
}

// setMulticastAll turns IP(V6)_MULTICAST_ALL off: the socket then gets
// only the groups it joined itself, not every group any socket on the
// host joined (another deployment's vrrp_mcast_group4, say).
func setMulticastAll(rc syscall.RawConn, level, opt int) error {
	var serr error
	err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, 0) })
	if err != nil {
		return err
	}
	if errors.Is(serr, unix.ENOPROTOOPT) {
		return nil // older kernels (IPV6_MULTICAST_ALL is 4.20+)
	}
	return serr
}

// newEpoll returns an epoll descriptor over the sockets (fds of -1 are
// skipped), registered with Go's poller. Each socket is registered
// one-shot: it signals once, then stays quiet until arm, so that packets
// arriving while a reader works through a batch wake nobody.
func newEpoll(fds ...int) (*os.File, int, syscall.RawConn, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, -1, nil, fmt.Errorf("epoll_create1: %w", err)
	}
	for _, fd := range fds {
		if fd < 0 {
			continue
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(epfd)
			return nil, -1, nil, fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, -1, nil, err
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, -1, nil, err
	}
	return f, epfd, rc, nil
}

// arm re-enables the sockets' one-shot registrations. The kernel checks
// them at once: a packet already waiting makes wait readable.
func (s *sockets) arm() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return net.ErrClosed
	}
	epfd := s.waitFD
	for _, fd := range [...]int{s.vrrpFD, s.ahFD} {
		if fd < 0 {
			continue
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &ev); err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
	}
	return nil
}

// interrupt wakes a WaitReceive blocked on these sockets (the interface is
// gone; it then reports it).
func (s *sockets) interrupt() {
	if s.wait != nil {
		s.wait.SetReadDeadline(time.Unix(1, 0))
	}
}

func (s *sockets) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		if s.wait != nil {
			s.wait.Close()
		}
		for _, fd := range [...]int{s.vrrpFD, s.ahFD} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
	s.mu.Unlock()
	if s.mon != nil {
		s.mon.close()
	}
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

// Receive blocks until a packet arrives and fills p, pointing its slices
// into buf. It returns an error once the Conn is closed (wrapping
// net.ErrClosed), once the interface is deleted (ErrInterfaceGone), or
// when a socket fails; after the latter two the caller faults its routers
// and calls Reopen. Packets that cannot be framed are counted in Stats and
// skipped.
func (c *Conn) Receive(p *Packet, buf []byte) error {
	if len(buf) == 0 {
		return c.opError("read", nil, errors.New("empty buffer"))
	}
	c.oneMu.Lock()
	defer c.oneMu.Unlock()
	c.oneBuf[0] = buf
	defer func() { c.oneBuf[0] = nil }()
	for {
		n, err := c.ReceiveBatch(unsafe.Slice(p, 1), c.oneBuf[:])
		if n == 1 {
			return nil // an error after it shows at the next call
		}
		if err != nil {
			return err
		}
		if err := c.WaitReceive(); err != nil {
			return err
		}
	}
}

// ReceiveBatch reads the packets waiting in the sockets, at most
// min(len(ps), len(bufs)), without blocking: ps[:n] are filled, their
// slices pointing into bufs. n is 0 when none was waiting. Errors are
// Receive's; packets read before an error are returned with it. Packets
// that cannot be framed are counted in Stats and skipped.
func (c *Conn) ReceiveBatch(ps []Packet, bufs [][]byte) (n int, err error) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	s, err := c.current()
	if err != nil {
		return 0, err
	}
	if s.mon.isGone() {
		return 0, c.goneError(s)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		// Closed or reopened meanwhile: nothing to read here.
		_, err := c.current()
		return 0, err
	}
	limit := min(len(ps), len(bufs))
	used := 0 // of bufs
	for _, fd := range [...]int{s.vrrpFD, s.ahFD} {
		for fd >= 0 && used < limit {
			want := min(limit-used, maxBatch)
			k, errno := c.rb.recv(fd, bufs[used:used+want])
			if errno != 0 {
				return n, c.opError("read", nil, os.NewSyscallError("recvmmsg", errno))
			}
			now := time.Now().UnixNano()
			for i := range k {
				d := c.rb.datagram(i, bufs[used+i])
				if d.eof() {
					// No datagram, no error: the socket was shut down.
					// Reading on would spin.
					return n, c.opError("read", nil, io.EOF)
				}
				if c.frame(s, &ps[n], d, now) {
					n++
					c.received.Add(1)
				}
			}
			used += k
			if k < want {
				break // none left on this socket
			}
		}
	}
	return n, nil
}

// WaitReceive blocks until a packet may be waiting for ReceiveBatch, and
// returns nil; or it returns Receive's errors. It wakes once: packets that
// arrive after it returned wake nobody until it is called again, so that
// a reader working through a burst in batches is not woken for each
// packet. (It may return when the packets it woke for were read already.)
func (c *Conn) WaitReceive() error {
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	for {
		s, err := c.current()
		if err != nil {
			return err
		}
		if s.mon.isGone() {
			return c.goneError(s)
		}
		if err = s.arm(); err == nil {
			c.werrno = 0
			if err = s.waitRC.Read(c.waitFn); err == nil && c.werrno != 0 {
				err = os.NewSyscallError("epoll_pwait", c.werrno)
			}
		}
		if err == nil {
			return nil
		}
		if cur, cerr := c.current(); cerr != nil {
			return cerr
		} else if cur != s {
			continue // reopened under us: wait on the new sockets
		}
		if s.mon.isGone() {
			continue // reported at the top of the loop
		}
		return c.opError("read", nil, err)
	}
}

// pollWait is WaitReceive's read callback on the epoll descriptor: it
// takes the events without blocking, and asks the poller to wait when
// there were none.
func (c *Conn) pollWait(fd uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&c.wevents[0])),
		uintptr(len(c.wevents)), 0, 0, 0)
	switch {
	case errno == unix.EINTR:
		return false
	case errno != 0:
		c.werrno = errno
		return true
	}
	return n > 0
}

func (c *Conn) goneError(s *sockets) error {
	return c.opError("read", nil, fmt.Errorf("%w: %s (index %d)", ErrInterfaceGone, c.cfg.Interface, s.ifindex))
}

// frame fills p from datagram d, received when the wall clock read now
// (nanoseconds since the epoch), or counts why it cannot.
func (c *Conn) frame(s *sockets, p *Packet, d datagram, now int64) bool {
	if d.flags&unix.MSG_TRUNC != 0 {
		c.truncated.Add(1)
		return false
	}
	info := parseControl(d.oob)
	if info.ifindex != s.ifindex {
		c.otherIf.Add(1)
		return false
	}
	age := stampAge(info.stamp, now)
	b := d.b
	if c.cfg.IPv6 {
		hl := uint8(0)
		if info.hopLimit >= 0 && info.hopLimit <= 255 {
			hl = uint8(info.hopLimit)
		}
		*p = Packet{Src: d.src6, Dst: info.dst, HopLimit: hl, Ifindex: info.ifindex, Msg: b, Age: age}
		return true
	}
	// IPv4 raw sockets deliver the IP header too.
	if len(b) < ipv4HeaderLen || b[0]>>4 != 4 {
		c.malformed.Add(1)
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < ipv4HeaderLen || ihl > len(b) {
		c.malformed.Add(1)
		return false
	}
	*p = Packet{
		Src:      netip.AddrFrom4([4]byte(b[12:16])),
		Dst:      netip.AddrFrom4([4]byte(b[16:20])),
		HopLimit: b[8],
		Ifindex:  info.ifindex,
		Age:      age,
	}
	switch b[9] {
	case ProtocolNumber:
		p.Msg = b[ihl:]
	case protocolAH:
		// RFC 4302 §2: next header, payload length in 32-bit words minus 2.
		ah := b[ihl:]
		if len(ah) < 12 || ah[0] != ProtocolNumber {
			c.malformed.Add(1)
			return false
		}
		n := (int(ah[1]) + 2) * 4
		if n < 12 || n > len(ah) {
			c.malformed.Add(1)
			return false
		}
		p.IPHeader, p.AH, p.Msg = b[:ihl], ah[:n], ah[n:]
	default:
		c.malformed.Add(1)
		return false
	}
	return true
}

// Send transmits one packet: to p.Dst (zero means the group) from p.Src
// (zero means LocalAddr), with TTL / hop limit 255. With p.Sealer it is
// sent as IPv4 AH, sealed over the header exactly as sent.
func (c *Conn) Send(p *Packet) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	s, err := c.current()
	if err != nil {
		return err
	}
	src, dst := p.Src, p.Dst
	if !src.IsValid() {
		src = s.mon.localAddr()
	}
	if !dst.IsValid() {
		dst = c.group
	}
	// Built only on error: the steady state allocates nothing.
	dstAddr := func() net.Addr { return &net.IPAddr{IP: dst.AsSlice()} }
	switch {
	case !src.IsValid():
		return c.opError("write", dstAddr(), errors.New("no source address: the interface has none"))
	case src.Is6() != c.cfg.IPv6 || dst.Is6() != c.cfg.IPv6:
		return c.opError("write", dstAddr(), fmt.Errorf("%s → %s on an %s conn", src, dst, familyName(c.cfg.IPv6)))
	case len(p.Msg) == 0:
		return c.opError("write", dstAddr(), errors.New("empty message"))
	case p.Sealer != nil && c.cfg.IPv6:
		return c.opError("write", dstAddr(), errors.New("AH is IPv4 only"))
	}
	if c.cfg.IPv6 {
		c.sm.setIPv6(p.Msg, src, dst, s.ifindex)
	} else {
		proto, ahLen := uint8(ProtocolNumber), 0
		if p.Sealer != nil {
			proto, ahLen = protocolAH, ahHeaderLen
		}
		total := ipv4HeaderLen + ahLen + len(p.Msg)
		if total > 0xffff {
			return c.opError("write", dstAddr(), fmt.Errorf("message of %d bytes too long", len(p.Msg)))
		}
		if cap(c.sbuf) < total {
			c.sbuf = make([]byte, total, max(total, 1500))
		}
		b := c.sbuf[:total]
		// A zero identification would be filled in by the kernel after
		// the AH ICV was computed over it.
		c.ipID++
		if c.ipID == 0 {
			c.ipID = 1
		}
		putIPv4Header(b, total, c.ipID, proto, src, dst)
		if p.Sealer != nil {
			ah := b[ipv4HeaderLen : ipv4HeaderLen+ahHeaderLen]
			clear(ah)
			msg := b[ipv4HeaderLen+ahHeaderLen:]
			copy(msg, p.Msg)
			if err := p.Sealer.SealAH(ah, b[:ipv4HeaderLen], msg, p.Seq); err != nil {
				return c.opError("write", dstAddr(), fmt.Errorf("seal AH: %w", err))
			}
		} else {
			copy(b[ipv4HeaderLen:], p.Msg)
		}
		c.sm.setIPv4(b, dst)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return c.opError("write", dstAddr(), net.ErrClosed)
	}
	// Never blocks: a full send buffer is an error, not a wait in the
	// protocol's loop.
	errno := c.sm.send(uintptr(s.vrrpFD))
	s.mu.RUnlock()
	if errno != 0 {
		return c.opError("write", dstAddr(), os.NewSyscallError("sendmsg", errno))
	}
	c.sent.Add(1)
	return nil
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
// change of link state or of LocalAddr — also at a Reopen or Close, after
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

// Ifindex is the index of the interface the Conn is bound to (it changes
// when Reopen finds the interface re-created).
func (c *Conn) Ifindex() int {
	s, err := c.current()
	if err != nil {
		return 0
	}
	return s.ifindex
}

// Reopen replaces the Conn's sockets and netlink watch with new ones,
// opened in the namespace the Conn was created in, for the interface now
// carrying the configured name. The driver calls it after Receive failed;
// a Receive blocked meanwhile continues on the new sockets. On error the
// old sockets stay in place and Reopen may be retried.
func (c *Conn) Reopen(ctx context.Context) error {
	c.reopenMu.Lock()
	defer c.reopenMu.Unlock()
	if _, err := c.current(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return c.opError("reopen", nil, err)
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.close()
		return c.opError("reopen", nil, net.ErrClosed)
	}
	old := c.s
	c.s = s
	c.mu.Unlock()
	old.close()
	c.reopens.Add(1)
	return nil
}

// Close closes the sockets and the netlink watch; a blocked Receive
// returns.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	s := c.s
	c.s = nil
	c.mu.Unlock()
	s.close()
	c.reopenMu.Lock()
	c.ns.Close()
	c.reopenMu.Unlock()
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
		Reopens:        c.reopens.Load(),
	}
}
