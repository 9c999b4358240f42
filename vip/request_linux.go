package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// requester sends address requests (RTM_NEWADDR, RTM_DELADDR) on a
// NETLINK_ROUTE socket of its own and reads each acknowledgement into a
// buffer it keeps. rtnetlink's Execute allocates a page for every reply it
// reads and goes through the poller twice; at a takeover of 1,000 routers
// that garbage was a GC cycle or more, paid for on the loop's CPU.
//
// The kernel handles a route request inside the sendto and queues its
// acknowledgement before returning, so the read that follows finds it
// at once; the socket is in blocking mode, with a receive timeout in case
// it does not.
type requester struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	msg []byte // the request being sent
	buf []byte // the acknowledgement
}

// requestTimeout bounds the wait for an acknowledgement that the kernel
// queues before the sendto returns.
const requestTimeout = 5 * time.Second

func newRequester() (*requester, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	// Errors come back without the request in them.
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("NETLINK_CAP_ACK: %w", err)
	}
	tv := unix.NsecToTimeval(int64(requestTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_RCVTIMEO: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	return &requester{fd: fd, buf: make([]byte, 4096)}, nil
}

// do sends a request of type typ with flags (NLM_F_REQUEST and NLM_F_ACK
// are added) and body, and returns the kernel's answer: nil, or the
// errno it gave.
func (q *requester) do(typ, flags uint16, body []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fd < 0 {
		return errors.New("closed")
	}
	q.seq++
	ne := binary.NativeEndian
	q.msg = q.msg[:0]
	q.msg = ne.AppendUint32(q.msg, uint32(unix.NLMSG_HDRLEN+len(body)))
	q.msg = ne.AppendUint16(q.msg, typ)
	q.msg = ne.AppendUint16(q.msg, flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	q.msg = ne.AppendUint32(q.msg, q.seq)
	q.msg = ne.AppendUint32(q.msg, 0) // the kernel fills in our port
	q.msg = append(q.msg, body...)
	if err := unix.Sendto(q.fd, q.msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sendto: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(q.fd, q.buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("recvfrom: %w", err)
		}
		if done, err := q.ack(q.buf[:n]); done {
			return err
		}
	}
}

// ack looks in the datagram b for the acknowledgement of the request
// just sent; done says it was there, err is its errno (nil for 0). An
// answer to an earlier request (one that timed out) is skipped.
func (q *requester) ack(b []byte) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(ne.Uint32(b[0:4]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return true, fmt.Errorf("malformed reply (length %d of %d)", l, len(b))
		}
		typ, seq := ne.Uint16(b[4:6]), ne.Uint32(b[8:12])
		if seq == q.seq && typ == unix.NLMSG_ERROR {
			if l < unix.NLMSG_HDRLEN+4 {
				return true, errors.New("truncated acknowledgement")
			}
			if errno := -int32(ne.Uint32(b[unix.NLMSG_HDRLEN:])); errno != 0 {
				return true, unix.Errno(errno)
			}
			return true, nil
		}
		b = b[min(nlmsgAlign(l), len(b)):]
	}
	return false, nil
}

func nlmsgAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// Close closes the socket; requests after it fail.
func (q *requester) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fd < 0 {
		return nil
	}
	err := unix.Close(q.fd)
	q.fd = -1
	return err
}
