package vip

import (
	"errors"
	"net/netip"
	"sync"
	"syscall"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"
)

// hostAddrs is the host's addresses as the address notifications report
// them: a dump when the watch opens and again after notifications were
// lost, then every RTM_NEWADDR and RTM_DELADDR. Release asks it before it
// removes an address it does not hold, which is what every router
// starting as backup does: the answer is almost always "not there", and
// asking costs a peek at the notification socket instead of a netlink
// request, its reply and a page-sized receive buffer.
//
// Its "not there" is exact for every change the kernel finished before
// the question: the kernel queues a change's notification before the
// change's request returns, and the watch loop reads and applies
// notifications with the lock held, so with the lock held an empty socket
// means that none is pending. When the socket is not empty, or
// notifications were lost and not yet dumped again, it cannot tell, and
// Release asks the kernel.
type hostAddrs struct {
	raw syscall.RawConn // the address notification socket

	mu    sync.Mutex
	addrs map[presentAddr]struct{}
	live  bool // dumped, and every notification since applied
	lost  bool // a peek found notifications lost: the watch loop dumps again
	ended bool // the watch loop has stopped: never live again
}

// presentAddr is an address on the host as notifications name it: an
// RTM_DELADDR removes exactly the address of this index, local address
// and prefix length.
type presentAddr struct {
	ifindex int
	addr    netip.Addr
	bits    int
}

func presentOf(am *rtnetlink.AddressMessage) (presentAddr, bool) {
	addr, ok := localAddr(am)
	return presentAddr{int(am.Index), addr, int(am.PrefixLength)}, ok
}

// hostAddrsBuffer is the watch loop's receive buffer. An address
// notification is one datagram of a few hundred bytes.
const hostAddrsBuffer = 16 << 10

// hostAddrsBatch bounds the datagrams one drain applies while holding the
// lock, so that a flood of notifications cannot hold Release off.
const hostAddrsBatch = 256

func newHostAddrs(raw syscall.RawConn) *hostAddrs {
	return &hostAddrs{raw: raw, addrs: make(map[presentAddr]struct{})}
}

// reset replaces the view with a dump of the host's addresses.
func (h *hostAddrs) reset(msgs []rtnetlink.AddressMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.addrs)
	for i := range msgs {
		if p, ok := presentOf(&msgs[i]); ok {
			h.addrs[p] = struct{}{}
		}
	}
	h.live, h.lost = !h.ended, false
}

// stale reports whether a peek found notifications lost since the last
// dump.
func (h *hostAddrs) stale() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

// end marks the view as no longer kept: the watch loop has stopped.
func (h *hostAddrs) end() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live, h.ended = false, true
}

// has reports whether the last dump and the notifications applied since
// name p, live or not: what resync compares the held addresses with right
// after its dump.
func (h *hostAddrs) has(p presentAddr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, there := h.addrs[p]
	return there
}

// absent reports, for each of ps, whether the host surely does not have
// it. All false when the view cannot tell.
func (h *hostAddrs) absent(ps []presentAddr) []bool {
	out := make([]bool, len(ps))
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.live || h.pendingLocked() {
		return out
	}
	for i, p := range ps {
		_, there := h.addrs[p]
		out[i] = !there
	}
	return out
}

// pendingLocked peeks at the socket: true if a notification waits there
// (or the peek fails). A peek that finds notifications lost marks the
// view stale; the watch loop, which the queued data wakes, dumps again.
func (h *hostAddrs) pendingLocked() bool {
	pending := true
	err := h.raw.Control(func(fd uintptr) {
		var b [1]byte
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN):
			pending = false
		case errors.Is(err, unix.ENOBUFS):
			h.live, h.lost = false, true
		}
	})
	return pending || err != nil
}

// drainResult is what one drain of the socket found.
type drainResult struct {
	read    bool          // something was read, or an error: go on without waiting
	deleted []presentAddr // RTM_DELADDRs, for the watch loop to restore held addresses
	lost    bool          // notifications were lost: dump again
	err     error         // the socket failed
}

// drain reads what the socket holds, up to hostAddrsBatch datagrams, and
// applies it, with the lock held. fd is non-blocking.
func (h *hostAddrs) drain(fd int, buf []byte) drainResult {
	var r drainResult
	h.mu.Lock()
	defer h.mu.Unlock()
	for range hostAddrsBatch {
		n, err := unix.Read(fd, buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return r
		case errors.Is(err, unix.ENOBUFS):
			h.live, r.read, r.lost = false, true, true
			return r
		case err != nil:
			h.live, r.read, r.err = false, true, err
			return r
		}
		r.read = true
		if n >= len(buf) || !h.applyLocked(buf[:n], &r.deleted) {
			// Cut short or not parsed: what it said is unknown.
			h.live, r.lost = false, true
			return r
		}
	}
	return r
}

// applyLocked applies one datagram's address notifications, appending the
// deletions to deleted. False if it is not netlink messages.
func (h *hostAddrs) applyLocked(b []byte, deleted *[]presentAddr) bool {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWADDR && m.Header.Type != unix.RTM_DELADDR {
			continue
		}
		var am rtnetlink.AddressMessage
		if err := am.UnmarshalBinary(m.Data); err != nil {
			return false
		}
		p, ok := presentOf(&am)
		if !ok {
			continue
		}
		if m.Header.Type == unix.RTM_NEWADDR {
			h.addrs[p] = struct{}{}
		} else {
			delete(h.addrs, p)
			*deleted = append(*deleted, p)
		}
	}
	return true
}
