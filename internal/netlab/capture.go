package netlab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Frame is one captured Ethernet frame.
type Frame struct {
	// Time is when the frame entered the bridge (CaptureSent: left its
	// sender), stamped by the kernel (SO_TIMESTAMPNS): wire time, not
	// when the capture's goroutine got to it, so intervals between frames
	// stay right on a busy machine.
	Time time.Time
	Data []byte // the Ethernet frame
}

// captureRcvBuf is the capture socket's receive buffer. The default (about
// 200 KB) overflows while the reader waits for the CPU during a burst of a
// few hundred adverts, and the lost frames look like late ones to whoever
// measures gaps; 8 MiB holds a few thousand frames.
const captureRcvBuf = 8 << 20

// interfaceFilter accepts the frames received on one of the interfaces
// idx, or with sent those sent on one of them.
func interfaceFilter(idx []uint32, sent bool) []bpf.RawInstruction {
	var prog []bpf.Instruction
	if sent {
		prog = append(prog,
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
			bpf.RetConstant{Val: 0})
	}
	prog = append(prog, bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
	for i, x := range idx {
		// Equal: skip the other tests and the drop, to the accept.
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: x, SkipTrue: uint8(len(idx) - i)})
	}
	prog = append(prog, bpf.RetConstant{Val: 0}, bpf.RetConstant{Val: math.MaxUint32})
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err) // a program of this shape always assembles
	}
	return raw
}

// Capture records every frame that crosses the lab's bridge.
type Capture struct {
	socks []captureSock
	done  chan struct{} // closed when every reader stopped

	statsMu sync.Mutex
	dropped uint64 // frames the kernel dropped for want of buffer, summed
	stats   error  // why PACKET_STATISTICS could not be read
	closed  bool   // Stop took the final statistics and closed the sockets

	mu     sync.Mutex
	frames []Frame
	notify chan struct{} // closed and replaced at each new frame
	live   int           // readers still reading
	err    error         // why a reader stopped, if not Stop
	once   sync.Once

	stopping atomic.Bool // Stop closed the sockets: a read error is expected
}

// captureSock is one AF_PACKET socket of a capture.
type captureSock struct {
	conn *packet.Conn
	raw  syscall.RawConn
}

// Capture starts capturing every frame that crosses the bridge (AF_PACKET on
// the bridge in the switch namespace). Stopped at cleanup.
//
// The socket is on the bridge in promiscuous mode: the bridge then passes
// every frame that enters any port up to itself exactly once (a socket on
// each port would see a frame once on its way in and again on every port it
// leaves by).
func (l *Lab) Capture() *Capture {
	l.t.Helper()
	return l.capture(captureRcvBuf, nil)
}

// CaptureWith is Capture of the lab's bridge and more bridges that the
// caller made in the switch namespace (segments of their own), in one
// stream: one socket on every interface of the switch, with a filter that
// keeps what reaches one of the bridges.
func (l *Lab) CaptureWith(bridges ...string) *Capture {
	l.t.Helper()
	return l.capture(captureRcvBuf, bridges)
}

// CaptureSent records every frame the hosts send on the interfaces
// ifnames (each host's), stamped as it leaves its sender: one socket in
// each host's namespace, keeping outgoing frames only. Where the lab's
// forwarding runs on threads of its own (ThreadedRx), a capture in the
// switch would stamp frames when the switch got to them. Stopped at
// cleanup.
func (l *Lab) CaptureSent(hosts []*Host, ifnames ...string) *Capture {
	l.t.Helper()
	var socks []captureSock
	for _, h := range hosts {
		sock, err := openCapture(h.Do, ifnames, true, captureRcvBuf)
		if err != nil {
			for _, s := range socks {
				s.conn.Close()
			}
			l.t.Fatalf("netlab: capture of what %s sends on %v: %v", h.Name, ifnames, err)
		}
		socks = append(socks, sock)
	}
	return l.startCapture(socks)
}

func (l *Lab) capture(rcvbuf int, more []string) *Capture {
	l.t.Helper()
	sock, err := openCapture(l.Do, append([]string{bridgeName}, more...), false, rcvbuf)
	if err != nil {
		l.t.Fatalf("netlab: capture on %s %v in %s: %v", bridgeName, more, l.sw, err)
	}
	return l.startCapture([]captureSock{sock})
}

func (l *Lab) startCapture(socks []captureSock) *Capture {
	c := &Capture{socks: socks, done: make(chan struct{}), notify: make(chan struct{}), live: len(socks)}
	l.mu.Lock()
	l.captures = append(l.captures, c)
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Go(func() { c.read(s) })
	}
	go func() {
		wg.Wait()
		close(c.done)
	}()
	return c
}

// openCapture opens, in the namespace do runs in, a socket receiving
// what reaches the interfaces names (promiscuous: a bridge then passes
// every frame up to itself) or with sent what is sent on them.
func openCapture(do func(func() error) error, names []string, sent bool, rcvbuf int) (captureSock, error) {
	var sock captureSock
	err := do(func() error {
		var idx []uint32
		for _, name := range names {
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return err
			}
			idx = append(idx, uint32(ifi.Index))
		}
		// One bridge: bound to it. More, or what is sent: bound to
		// none (every interface), with the filter attached before the
		// bind, so that from the first frame on only what is wanted is
		// kept, never a port's copy of it.
		on, cfg := &net.Interface{Index: int(idx[0])}, (*packet.Config)(nil)
		if len(idx) > 1 || sent {
			on, cfg = &net.Interface{}, &packet.Config{Filter: interfaceFilter(idx, sent)}
		}
		conn, err := packet.Listen(on, packet.Raw, unix.ETH_P_ALL, cfg)
		if err != nil {
			return err
		}
		raw, err := conn.SyscallConn()
		if err != nil {
			conn.Close()
			return err
		}
		var serr error
		if err := raw.Control(func(fd uintptr) {
			for _, i := range idx {
				if !sent {
					serr = errors.Join(serr, unix.SetsockoptPacketMreq(int(fd), unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP,
						&unix.PacketMreq{Ifindex: int32(i), Type: unix.PACKET_MR_PROMISC}))
				}
			}
			serr = errors.Join(serr,
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1),
				// Root may exceed net.core.rmem_max.
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf))
			if serr == nil {
				// Reading the statistics resets them: start from zero.
				_, serr = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
			}
		}); err != nil || serr != nil {
			conn.Close()
			return errors.Join(err, serr)
		}
		sock = captureSock{conn: conn, raw: raw}
		return nil
	})
	return sock, err
}

func (c *Capture) read(s captureSock) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(16)) // one struct timespec
	for {
		n, stamp, err := readFrame(s.raw, buf, oob)
		if err != nil {
			c.mu.Lock()
			if !c.stopping.Load() && !errors.Is(err, net.ErrClosed) && c.err == nil {
				c.err = err
			}
			if c.live--; c.live == 0 {
				close(c.notify)
				c.notify = nil
			}
			c.mu.Unlock()
			return
		}
		f := Frame{Time: stamp, Data: append([]byte(nil), buf[:n]...)}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}
}

// readFrame reads one frame and the kernel's receive time stamp (the
// current time if the kernel gave none).
func readFrame(raw syscall.RawConn, buf, oob []byte) (int, time.Time, error) {
	var n, oobn int
	var rerr error
	err := raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return n, time.Unix(sec, nsec), nil
		}
	}
	return n, time.Now(), nil
}

// Frames returns a copy of what was captured so far.
func (c *Capture) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// Since returns the frames captured after the first i, and the count to
// pass next time: a poller reads each frame once instead of copying the
// whole capture at every poll. The frames are shared, not copied: do not
// modify them.
func (c *Capture) Since(i int) (frames []Frame, next int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i = max(0, min(i, len(c.frames)))
	return c.frames[i:len(c.frames):len(c.frames)], len(c.frames)
}

// Dropped returns how many frames the kernel dropped so far because the
// capture's socket buffer was full (PACKET_STATISTICS): frames that
// crossed the bridge but are missing from Frames. Gaps measured across a
// capture that dropped frames may be too long.
func (c *Capture) Dropped() (uint64, error) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	c.readStatsLocked()
	return c.dropped, c.stats
}

// readStatsLocked adds what the kernel counted since the last read (the
// read resets its counters). After Stop the socket is closed and the sum
// is final.
func (c *Capture) readStatsLocked() {
	if c.stats != nil || c.closed {
		return
	}
	for _, s := range c.socks {
		var st *unix.TpacketStats
		var serr error
		err := s.raw.Control(func(fd uintptr) {
			st, serr = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
		})
		if err != nil || serr != nil {
			c.stats = fmt.Errorf("netlab: capture: PACKET_STATISTICS: %w", errors.Join(err, serr))
			return
		}
		c.dropped += uint64(st.Drops)
	}
}

// WaitFor waits until match returns true for a captured frame (old or new) and
// returns it, or returns an error when ctx ends or the capture stops.
func (c *Capture) WaitFor(ctx context.Context, match func(Frame) bool) (Frame, error) {
	next := 0
	for {
		c.mu.Lock()
		frames, notify, err := c.frames[next:], c.notify, c.err
		next = len(c.frames)
		c.mu.Unlock()
		for _, f := range frames {
			if match(f) {
				return f, nil
			}
		}
		if notify == nil {
			if err == nil {
				err = errors.New("stopped")
			}
			return Frame{}, fmt.Errorf("netlab: capture: no matching frame among %d: %w", next, err)
		}
		select {
		case <-ctx.Done():
			return Frame{}, fmt.Errorf("netlab: capture: no matching frame among %d: %w", next, ctx.Err())
		case <-notify:
		}
	}
}

// Stop stops capturing (idempotent).
func (c *Capture) Stop() {
	c.once.Do(func() {
		c.statsMu.Lock()
		c.readStatsLocked()
		c.closed = true
		c.stopping.Store(true)
		for _, s := range c.socks {
			s.conn.Close()
		}
		c.statsMu.Unlock()
		<-c.done
	})
}
