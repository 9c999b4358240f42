package advert

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Receive blocks until a packet arrives and fills p, pointing its slices
// into buf. It returns an error once the Conn is closed (wrapping
// net.ErrClosed), once the interface is deleted (ErrInterfaceGone), or
// when a socket fails; after the latter two the caller closes the Conn
// and listens anew. Packets that cannot be framed are counted in Stats
// and skipped.
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
//
// With AH, the two sockets share the batch: each may fill half of it
// before the other's turn, so that a flood on one never starves the other.
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
		_, err := c.current()
		return 0, err
	}
	limit := min(len(ps), len(bufs))
	share := limit
	if s.ahFD >= 0 {
		share = (limit + 1) / 2
	}
	used := 0 // of bufs
	var more [2]bool
	for i, fd := range [...]int{s.vrrpFD, s.ahFD} {
		if fd < 0 {
			continue
		}
		var k int
		k, n, more[i], err = c.readFD(s, fd, ps, bufs, used, min(share, limit-used), n)
		used += k
		if err != nil {
			return n, err
		}
	}
	// What a quiet socket left of its share goes to the other.
	for i, fd := range [...]int{s.vrrpFD, s.ahFD} {
		if fd < 0 || !more[i] || used >= limit {
			continue
		}
		var k int
		k, n, _, err = c.readFD(s, fd, ps, bufs, used, limit-used, n)
		used += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readFD reads at most max datagrams from fd into bufs[used:] and frames
// them into ps[n:]. It returns how many buffers it used, the new n, and
// whether fd may hold more.
func (c *Conn) readFD(s *sockets, fd int, ps []Packet, bufs [][]byte, used, max, n int) (k, _ int, more bool, err error) {
	for k < max {
		want := min(max-k, maxBatch)
		got, errno := c.rb.recv(fd, bufs[used+k:used+k+want])
		if errno != 0 {
			return k, n, false, c.opError("read", nil, os.NewSyscallError("recvmmsg", errno))
		}
		now := time.Now().UnixNano()
		for i := range got {
			d := c.rb.datagram(i, bufs[used+k+i])
			if d.eof() {
				// No datagram, no error: the socket was shut down.
				// Reading on would spin.
				return k + i, n, false, c.opError("read", nil, io.EOF)
			}
			if c.frame(s, &ps[n], d, now) {
				n++
				c.received.Add(1)
			}
		}
		k += got
		if got < want {
			return k, n, false, nil // none left
		}
	}
	return k, n, true, nil
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
		if _, cerr := c.current(); cerr != nil {
			return cerr
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
