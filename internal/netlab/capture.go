package netlab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Frame is one captured Ethernet frame.
type Frame struct {
	// Time is when the frame entered the bridge (CaptureSent: left its
	// sender), stamped by the kernel in the capture's ring: wire time, not
	// when the capture's goroutine got to it, so intervals between frames
	// stay right on a busy machine.
	Time time.Time
	Data []byte // the Ethernet frame
}

// captureRing is the size of a capture socket's receive ring. A socket
// buffer of the default size (about 200 KB) overflowed while the reader
// waited for the CPU during a burst of a few hundred adverts, and the
// lost frames look like late ones to whoever measures gaps; 8 MiB holds
// a few thousand frames.
const captureRing = 8 << 20

// dropAll is a socket filter that keeps nothing.
var dropAll = assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})

// assemble assembles a program of the fixed shapes here.
func assemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err) // the programs here always assemble
	}
	return raw
}

// attachFilter sets fd's socket filter to prog.
func attachFilter(fd int, prog []bpf.RawInstruction) error {
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{
		Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0])),
	})
}

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
	return assemble(prog)
}

// Capture records every frame that crosses the lab's bridge.
type Capture struct {
	socks []*captureSock
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

// captureSock is one AF_PACKET socket of a capture, with its receive
// ring (TPACKET_V3): the kernel copies each frame into the ring and wakes
// the reader once a block fills or times out, not at every frame, so
// what a capture costs the sender of a frame is a copy. (A socket's
// receive queue costs a clone and a wake-up each.)
type captureSock struct {
	f         *os.File
	raw       syscall.RawConn
	ring      []byte
	blockSize int
	next      atomic.Int64 // the block the reader waits for
}

// captureBlockTimeout is how long the kernel keeps a block open for more
// frames before handing it to the reader, at most.
const captureBlockTimeout = 4 // ms

// Capture starts capturing every frame that crosses the bridge (AF_PACKET on
// the bridge in the switch namespace). Stopped at cleanup.
//
// The socket is on the bridge in promiscuous mode: the bridge then passes
// every frame that enters any port up to itself exactly once (a socket on
// each port would see a frame once on its way in and again on every port it
// leaves by).
func (l *Lab) Capture() *Capture {
	l.t.Helper()
	return l.capture(captureRing, nil)
}

// CaptureWith is Capture of the lab's bridge and more bridges that the
// caller made in the switch namespace (segments of their own), in one
// stream: one socket on every interface of the switch, with a filter that
// keeps what reaches one of the bridges.
func (l *Lab) CaptureWith(bridges ...string) *Capture {
	l.t.Helper()
	return l.capture(captureRing, bridges)
}

// CaptureSent records every frame the hosts send on the interfaces
// ifnames (each host's), stamped as it leaves its sender: one socket in
// each host's namespace, keeping outgoing frames only. Where the lab's
// forwarding runs on threads of its own (ThreadedRx), a capture in the
// switch would stamp frames when the switch got to them. Stopped at
// cleanup.
func (l *Lab) CaptureSent(hosts []*Host, ifnames ...string) *Capture {
	l.t.Helper()
	var socks []*captureSock
	for _, h := range hosts {
		sock, err := openCapture(h.Do, ifnames, true, captureRing)
		if err != nil {
			for _, s := range socks {
				s.close()
			}
			l.t.Fatalf("netlab: capture of what %s sends on %v: %v", h.Name, ifnames, err)
		}
		socks = append(socks, sock)
	}
	return l.startCapture(socks)
}

func (l *Lab) capture(ring int, more []string) *Capture {
	l.t.Helper()
	sock, err := openCapture(l.Do, append([]string{bridgeName}, more...), false, ring)
	if err != nil {
		l.t.Fatalf("netlab: capture on %s %v in %s: %v", bridgeName, more, l.sw, err)
	}
	return l.startCapture([]*captureSock{sock})
}

func (l *Lab) startCapture(socks []*captureSock) *Capture {
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
// every frame up to itself) or with sent what is sent on them, into a
// ring of about ringSize bytes.
func openCapture(do func(func() error) error, names []string, sent bool, ringSize int) (*captureSock, error) {
	var sock *captureSock
	err := do(func() error {
		var idx []uint32
		for _, name := range names {
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return err
			}
			idx = append(idx, uint32(ifi.Index))
		}
		// Protocol 0 receives nothing until the bind, by which time the
		// filter and the ring are in place: from the first frame on only
		// what is wanted is kept, never a port's copy of it.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		fail := func(what string, err error) error {
			unix.Close(fd)
			return fmt.Errorf("%s: %w", what, err)
		}
		// One bridge: bound to it. More, or what is sent: bound to none
		// (every interface), filtered.
		bindTo := int(idx[0])
		if len(idx) > 1 || sent {
			bindTo = 0
			if err := attachFilter(fd, interfaceFilter(idx, sent)); err != nil {
				return fail("SO_ATTACH_FILTER", err)
			}
		}
		if !sent {
			for _, i := range idx {
				if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP,
					&unix.PacketMreq{Ifindex: int32(i), Type: unix.PACKET_MR_PROMISC}); err != nil {
					return fail("PACKET_ADD_MEMBERSHIP", err)
				}
			}
		}
		ring, blockSize, err := mapRing(fd, ringSize)
		if err != nil {
			return fail("receive ring", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: bindTo}); err != nil {
			unix.Munmap(ring)
			return fail("bind", err)
		}
		f := os.NewFile(uintptr(fd), "netlab-capture")
		raw, err := f.SyscallConn()
		if err != nil {
			unix.Munmap(ring)
			f.Close()
			return err
		}
		sock = &captureSock{f: f, raw: raw, ring: ring, blockSize: blockSize}
		return nil
	})
	return sock, err
}

// mapRing sets up fd's TPACKET_V3 receive ring of about size bytes (at
// least 4 blocks) and maps it.
func mapRing(fd, size int) (ring []byte, blockSize int, err error) {
	blockSize = 128 << 10
	for blockSize > 4<<10 && size/blockSize < 4 {
		blockSize /= 2
	}
	const frameSize = 2048 // V3 packs frames; this only sizes frame_nr
	blocks := max(1, size/blockSize)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, 0, fmt.Errorf("PACKET_VERSION: %w", err)
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &unix.TpacketReq3{
		Block_size: uint32(blockSize), Block_nr: uint32(blocks),
		Frame_size: frameSize, Frame_nr: uint32(blockSize / frameSize * blocks),
		Retire_blk_tov: captureBlockTimeout,
	}); err != nil {
		return nil, 0, fmt.Errorf("PACKET_RX_RING: %w", err)
	}
	ring, err = unix.Mmap(fd, 0, blockSize*blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, 0, fmt.Errorf("mmap: %w", err)
	}
	return ring, blockSize, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// close closes the socket; the ring stays mapped for its reader, which
// unmaps it when it stops.
func (s *captureSock) close() error { return s.f.Close() }

// block is block i of the ring, and its status word.
func (s *captureSock) block(i int) ([]byte, *atomic.Uint32) {
	b := s.ring[i*s.blockSize : (i+1)*s.blockSize]
	return b, (*atomic.Uint32)(unsafe.Pointer(&b[blockStatus]))
}

// drain lets no more frames in and waits, at most a second, until the
// reader has every frame that came in before: the kernel hands over the
// block it was filling within captureBlockTimeout, and closing the socket
// sooner would lose its frames.
func (s *captureSock) drain() {
	var serr error
	if err := s.raw.Control(func(fd uintptr) { serr = attachFilter(int(fd), dropAll) }); err != nil || serr != nil {
		return // closed already
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, status := s.block(int(s.next.Load()))
		num := (*atomic.Uint32)(unsafe.Pointer(&b[blockNumPkts]))
		if status.Load()&unix.TP_STATUS_USER == 0 && num.Load() == 0 {
			return
		}
	}
}

// The offsets in a TPACKET_V3 block (struct tpacket_block_desc with its
// tpacket_hdr_v1) and in a frame's struct tpacket3_hdr.
const (
	blockStatus     = 8
	blockNumPkts    = 12
	blockFirstPkt   = 16
	frameNextOffset = 0
	frameSec        = 4
	frameNsec       = 8
	frameSnaplen    = 12
	frameMac        = 24
)

func (c *Capture) read(s *captureSock) {
	defer unix.Munmap(s.ring)
	blocks := len(s.ring) / s.blockSize
	for blk := 0; ; blk = (blk + 1) % blocks {
		s.next.Store(int64(blk))
		b, status := s.block(blk)
		err := s.raw.Read(func(uintptr) bool { return status.Load()&unix.TP_STATUS_USER != 0 })
		if err != nil {
			c.mu.Lock()
			if !c.stopping.Load() && !errors.Is(err, os.ErrClosed) && c.err == nil {
				c.err = err
			}
			if c.live--; c.live == 0 {
				close(c.notify)
				c.notify = nil
			}
			c.mu.Unlock()
			return
		}
		frames := blockFrames(b)
		// The block goes back to the kernel before the reader waits for
		// the lock.
		status.Store(unix.TP_STATUS_KERNEL)
		c.mu.Lock()
		c.frames = append(c.frames, frames...)
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}
}

// blockFrames copies the frames out of a block the kernel handed over,
// with their kernel time stamps.
func blockFrames(b []byte) []Frame {
	ne := binary.NativeEndian
	n := ne.Uint32(b[blockNumPkts:])
	off := int(ne.Uint32(b[blockFirstPkt:]))
	frames := make([]Frame, 0, n)
	for range n {
		if off < 0 || off+frameMac+2 > len(b) {
			break
		}
		h := b[off:]
		mac, snap := int(ne.Uint16(h[frameMac:])), int(ne.Uint32(h[frameSnaplen:]))
		if mac+snap > len(h) {
			break
		}
		frames = append(frames, Frame{
			Time: time.Unix(int64(ne.Uint32(h[frameSec:])), int64(ne.Uint32(h[frameNsec:]))),
			Data: append([]byte(nil), h[mac:mac+snap]...),
		})
		next := int(ne.Uint32(h[frameNextOffset:]))
		if next == 0 {
			break
		}
		off += next
	}
	return frames
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
		var st *unix.TpacketStatsV3
		var serr error
		err := s.raw.Control(func(fd uintptr) {
			st, serr = unix.GetsockoptTpacketStatsV3(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
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
		for _, s := range c.socks {
			s.drain()
		}
		c.readStatsLocked()
		c.closed = true
		c.stopping.Store(true)
		for _, s := range c.socks {
			s.close()
		}
		c.statsMu.Unlock()
		<-c.done
	})
}
