package advert

import (
	"encoding/binary"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw sockets' I/O goes through recvmsg/sendmsg on the socket's file
// descriptor with message headers kept in the Conn, so that steady-state
// receive and send allocate nothing (net.IPConn.ReadMsgIP allocates an
// address per packet, ipv4.RawConn a header and a control message).
//
// Both calls are MSG_DONTWAIT and never block (the poller waits instead),
// so they are made with RawSyscall, without telling the Go scheduler that
// the thread enters a system call. The scheduler's bookkeeping costs more
// than the calls: entering a system call wakes the runtime's monitor
// thread (sysmon) whenever the process was idle, and a send that takes
// longer than sysmon's 20 µs tick (one through a veth and a bridge does)
// has its P handed to another thread. Profiled with 200 routers at 100 ms,
// that was a quarter to a third of a daemon's CPU (BENCHMARKS.md).

// IP protocol number of IPsec AH (RFC 4302).
const protocolAH = 51

// ipv4HeaderLen is the length of the IPv4 header we send (no options).
const ipv4HeaderLen = 20

// tosNetworkControl is the IPv4 TOS / IPv6 traffic class keepalived sends
// adverts with (DSCP CS6, "network control").
const tosNetworkControl = 0xc0

// ahHeaderLen is the AH header keepalived sends: RFC 2402 with a 96-bit
// ICV (HMAC-MD5-96).
const ahHeaderLen = 24

// recvMsg is one recvmsg(2) call's buffers (for draining a new socket).
type recvMsg struct {
	name unix.RawSockaddrInet6 // large enough for IPv4 too
	oob  [128]byte
	iov  unix.Iovec
	msg  unix.Msghdr

	// Results of the last call.
	n, oobn int
	flags   int
	errno   unix.Errno
}

// recv reads one datagram from fd into b without blocking. It reports
// false when nothing was there (EAGAIN).
func (r *recvMsg) recv(fd uintptr, b []byte) bool {
	r.iov.Base = &b[0]
	r.iov.SetLen(len(b))
	r.name.Family = 0 // tells a datagram from end of file (shut down)
	r.msg = unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&r.name)),
		Namelen: unix.SizeofSockaddrInet6,
		Iov:     &r.iov,
		Control: &r.oob[0],
	}
	r.msg.SetIovlen(1)
	r.msg.SetControllen(len(r.oob))
	n, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), unix.MSG_DONTWAIT)
	if errno == unix.EAGAIN || errno == unix.EWOULDBLOCK {
		return false
	}
	r.errno = errno
	if errno != 0 {
		r.n, r.oobn, r.flags = 0, 0, 0
		return true
	}
	r.n, r.oobn, r.flags = int(n), int(r.msg.Controllen), int(r.msg.Flags)
	return true
}

// pktinfo is what the control messages of one datagram said.
type pktinfo struct {
	ifindex  int
	dst      netip.Addr
	hopLimit int // -1 if absent
	// stamp is the kernel's receive time (SO_TIMESTAMPNS, wall clock), in
	// nanoseconds since the Unix epoch; 0 if absent.
	stamp int64
}

// parseControl reads IP_PKTINFO, IPV6_PKTINFO, IPV6_HOPLIMIT and
// SCM_TIMESTAMPNS; anything else (or anything malformed) is ignored.
func parseControl(oob []byte) pktinfo {
	info := pktinfo{hopLimit: -1}
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			break
		}
		data := oob[hdrLen:l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= 12:
			// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
			info.ifindex = int(int32(binary.NativeEndian.Uint32(data[0:4])))
			info.dst = netip.AddrFrom4([4]byte(data[8:12]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= 20:
			// struct in6_pktinfo { in6_addr addr; unsigned int ifindex; }
			info.dst = netip.AddrFrom16([16]byte(data[0:16]))
			info.ifindex = int(binary.NativeEndian.Uint32(data[16:20]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT && len(data) >= 4:
			info.hopLimit = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16:
			// struct timespec { time_t tv_sec; long tv_nsec; }
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			info.stamp = sec*1e9 + nsec
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return info
}

// sendMsg is one sendmsg(2) call's buffers.
type sendMsg struct {
	name4 unix.RawSockaddrInet4
	name6 unix.RawSockaddrInet6
	oob   [64]byte
	iov   unix.Iovec
	msg   unix.Msghdr
}

// setIPv4 addresses the next datagram to dst (the IPv4 header is ours).
func (s *sendMsg) setIPv4(b []byte, dst netip.Addr) {
	s.name4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
	s.iov.Base = &b[0]
	s.iov.SetLen(len(b))
	s.msg = unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&s.name4)),
		Namelen: unix.SizeofSockaddrInet4,
		Iov:     &s.iov,
	}
	s.msg.SetIovlen(1)
}

// setIPv6 addresses the next datagram to dst from src out of ifindex.
func (s *sendMsg) setIPv6(b []byte, src, dst netip.Addr, ifindex int) {
	s.name6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
	if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() || dst.IsInterfaceLocalMulticast() {
		s.name6.Scope_id = uint32(ifindex)
	}
	s.iov.Base = &b[0]
	s.iov.SetLen(len(b))
	s.msg = unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&s.name6)),
		Namelen: unix.SizeofSockaddrInet6,
		Iov:     &s.iov,
	}
	s.msg.SetIovlen(1)
	// IPV6_PKTINFO picks the source address (the link-local one, unless
	// the router has a unicast source) and the interface.
	const dataLen = 20
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[0]))
	h.Level = unix.IPPROTO_IPV6
	h.Type = unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(dataLen))
	data := s.oob[unix.CmsgLen(0):unix.CmsgLen(dataLen)]
	a := src.As16()
	copy(data[0:16], a[:])
	binary.NativeEndian.PutUint32(data[16:20], uint32(ifindex))
	s.msg.Control = &s.oob[0]
	s.msg.SetControllen(unix.CmsgSpace(dataLen))
}

// maxStampAge bounds the Age taken from a kernel stamp. The stamp is wall
// clock time, and a wall clock stepped between arrival and read (NTP, an
// administrator) would make a packet look older than it is, and a down
// timer run out early. A packet that really waited longer than this is
// given Age 0: its arrival is then taken to be its read, the old, safe
// reading (a later deadline, never an earlier one).
const maxStampAge = time.Second

// stampAge turns a kernel receive stamp into Packet.Age at wall time now
// (nanoseconds since the epoch).
func stampAge(stamp, now int64) time.Duration {
	if stamp == 0 {
		return 0
	}
	age := time.Duration(now - stamp)
	if age < 0 || age > maxStampAge {
		return 0
	}
	return age
}

// maxBatch is how many datagrams one recvmmsg(2) call takes at most.
const maxBatch = 32

// sendBatch is one sendmmsg(2) call's datagrams: slot i is hdrs[i]'s
// buffers.
type sendBatch struct {
	hdrs  [maxBatch]mmsghdr
	slots [maxBatch]sendSlot
}

// sendSlot is one datagram to send; buf holds an IPv4 packet.
type sendSlot struct {
	sendMsg
	buf []byte
}

// sendmmsg writes the prepared datagrams [off, k) without blocking
// (EAGAIN when the socket's send buffer is full) and says how many the
// kernel took.
func (b *sendBatch) sendmmsg(fd uintptr, off, k int) (int, unix.Errno) {
	m, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[off])), uintptr(k-off),
		unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(m), 0
}

// oobLen holds the control messages of one datagram: IPV6_PKTINFO,
// IPV6_HOPLIMIT and SCM_TIMESTAMPNS take 96 bytes.
const oobLen = 128

// mmsghdr is struct mmsghdr: Go pads it as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// recvBatch is one recvmmsg(2) call's buffers.
type recvBatch struct {
	hdrs  [maxBatch]mmsghdr
	names [maxBatch]unix.RawSockaddrInet6 // large enough for IPv4 too
	oobs  [maxBatch][oobLen]byte
	iovs  [maxBatch]unix.Iovec
}

// recv reads up to len(bufs) (at most maxBatch) datagrams from fd into
// bufs without blocking, and says how many; 0 and no error when none was
// waiting. An error after some datagrams is reported by the next call.
func (r *recvBatch) recv(fd int, bufs [][]byte) (int, unix.Errno) {
	n := min(len(bufs), maxBatch)
	for i := range n {
		r.iovs[i].Base = &bufs[i][0]
		r.iovs[i].SetLen(len(bufs[i]))
		r.names[i].Family = 0 // tells a datagram from end of file (shut down)
		h := &r.hdrs[i]
		h.hdr = unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&r.names[i])),
			Namelen: unix.SizeofSockaddrInet6,
			Iov:     &r.iovs[i],
			Control: &r.oobs[i][0],
		}
		h.hdr.SetIovlen(1)
		h.hdr.SetControllen(oobLen)
		h.n = 0
	}
	k, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(n),
		unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		return int(k), 0
	case unix.EAGAIN:
		return 0, 0
	}
	return 0, errno
}

// datagram is what one datagram of a recvmmsg call brought.
type datagram struct {
	b     []byte // the datagram, in the caller's buffer
	flags int
	oob   []byte
	src6  netip.Addr // the source of an IPv6 datagram
	name  uint16     // address family of the source (0: none, end of file)
}

// datagram returns the i-th datagram of the last recv, which went into buf.
func (r *recvBatch) datagram(i int, buf []byte) datagram {
	h := &r.hdrs[i]
	d := datagram{b: buf[:min(int(h.n), len(buf))], flags: int(h.hdr.Flags),
		oob: r.oobs[i][:min(int(h.hdr.Controllen), oobLen)], name: r.names[i].Family}
	if d.name == unix.AF_INET6 {
		d.src6 = netip.AddrFrom16(r.names[i].Addr)
	}
	return d
}

// eof: no datagram, no error: the socket was shut down.
func (d datagram) eof() bool { return len(d.b) == 0 && d.name == 0 }

// putIPv4Header writes the 20-byte IPv4 header we send adverts with,
// byte-compatible with keepalived: TOS 0xc0, a non-zero identification,
// no flags (DF clear), TTL 255, and the header checksum filled in (the
// kernel would recompute the same value, and the AH ICV sees the header
// exactly as it goes out).
func putIPv4Header(b []byte, totalLen int, id uint16, proto uint8, src, dst netip.Addr) {
	b[0] = 0x45 // version 4, 5 words
	b[1] = tosNetworkControl
	binary.BigEndian.PutUint16(b[2:], uint16(totalLen))
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], 0) // flags, fragment offset
	b[8] = 255                           // TTL (RFC 5798 §5.1.1.3)
	b[9] = proto
	binary.BigEndian.PutUint16(b[10:], 0)
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:], csumFinish(csumAdd(0, b[:ipv4HeaderLen])))
}
