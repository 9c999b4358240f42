package advert

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// sockets is what a Conn holds open.
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

// open opens the Conn's sockets in the network namespace ns.
func (c *Conn) open(ns *os.File) (*sockets, error) {
	var s *sockets
	err := inNetns(ns, func() error {
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
		return nil, fmt.Errorf("%w: %s: %v", ErrInterfaceGone, c.cfg.Interface, err)
	}
	s := &sockets{ifindex: ifi.Index, vrrpFD: -1, ahFD: -1}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := c.openSockets(s, ifi); err != nil {
		return nil, err
	}
	// Last: the monitor may interrupt a waiter on s.wait from its own
	// goroutine at once.
	if s.mon, err = newLinkMonitor(ifi.Index, ifi.Name, c.cfg.IPv6, s.interrupt); err != nil {
		return nil, err
	}
	return s, nil
}

// openSockets opens the raw sockets and the epoll descriptor over them.
func (c *Conn) openSockets(s *sockets, ifi *net.Interface) error {
	group := &net.IPAddr{IP: c.group.AsSlice()}
	if c.cfg.IPv6 {
		vrrp, rc, err := listenRaw("ip6:112", "::", ifi.Name, ifi.Index)
		if err != nil {
			return err
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
				return err
			}
		}
		// No IPV6_CHECKSUM offload: the codec computes the VRRPv3
		// checksum on send, and on receive the kernel would drop a bad
		// one silently where the protocol wants to count it.
		if s.vrrpFD, err = detach(rc); err != nil {
			return err
		}
		if s.wait, s.waitFD, s.waitRC, err = newEpoll(s.vrrpFD); err != nil {
			return err
		}
		return nil
	}

	vrrp, rc, err := listenRaw("ip4:112", "0.0.0.0", ifi.Name, ifi.Index)
	if err != nil {
		return err
	}
	defer vrrp.Close()
	// IP_HDRINCL: we write the IPv4 header (see putIPv4Header).
	r, err := ipv4.NewRawConn(vrrp)
	if err != nil {
		return err
	}
	for _, step := range []func() error{
		func() error { return r.JoinGroup(ifi, group) },
		func() error { return r.SetMulticastInterface(ifi) },
		func() error { return r.SetMulticastLoopback(false) },
		func() error { return r.SetControlMessage(ipv4.FlagInterface, true) },
		func() error { return setMulticastAll(rc, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	if s.vrrpFD, err = detach(rc); err != nil {
		return err
	}
	if c.cfg.AH {
		ah, ahRC, err := listenRaw("ip4:51", "0.0.0.0", ifi.Name, ifi.Index)
		if err != nil {
			return err
		}
		defer ah.Close()
		p := ipv4.NewPacketConn(ah)
		for _, step := range []func() error{
			func() error { return p.JoinGroup(ifi, group) },
			func() error { return p.SetControlMessage(ipv4.FlagInterface, true) },
			func() error { return setMulticastAll(ahRC, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		if s.ahFD, err = detach(ahRC); err != nil {
			return err
		}
	}
	if s.wait, s.waitFD, s.waitRC, err = newEpoll(s.vrrpFD, s.ahFD); err != nil {
		return err
	}
	return nil
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
		if serr == nil {
			serr = setReceiveBuffer(int(fd))
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

// receiveBuffer is the receive buffer the raw sockets ask for. A master
// of many routers sends its adverts in one burst (one sendmmsg per
// interface and step), so a backup's socket must hold a whole burst
// until the reader gets to it: 255 VRIDs from a few senders, each packet
// taking 1–2 KB of buffer (the kernel's truesize). The default (212 KB
// on most systems) holds about 200; with 16 interfaces of 250 routers
// the tails of the bursts were dropped, every interval, and those
// routers' backups took over.
const receiveBuffer = 2 << 20

// setReceiveBuffer sets the socket's receive buffer to receiveBuffer:
// past net.core.rmem_max with CAP_NET_ADMIN (SO_RCVBUFFORCE), else as far
// as rmem_max allows.
func setReceiveBuffer(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer); err == nil {
		return nil
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBuffer)
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
