package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// Frame is one captured Ethernet frame.
type Frame struct {
	Time time.Time
	Data []byte // the Ethernet frame
}

// Capture records every frame that crosses the lab's bridge.
type Capture struct {
	conn *packet.Conn
	done chan struct{} // closed when the reader stops

	mu     sync.Mutex
	frames []Frame
	notify chan struct{} // closed and replaced at each new frame
	err    error         // why the reader stopped, if not Stop
	once   sync.Once
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
	var conn *packet.Conn
	err := l.Do(func() error {
		ifi, err := net.InterfaceByName(bridgeName)
		if err != nil {
			return err
		}
		conn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		if err != nil {
			return err
		}
		if err := conn.SetPromiscuous(true); err != nil {
			conn.Close()
			return err
		}
		return nil
	})
	if err != nil {
		l.t.Fatalf("netlab: capture on %s in %s: %v", bridgeName, l.sw, err)
	}
	c := &Capture{conn: conn, done: make(chan struct{}), notify: make(chan struct{})}
	l.mu.Lock()
	l.captures = append(l.captures, c)
	l.mu.Unlock()
	go c.read()
	return c
}

func (c *Capture) read() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			c.mu.Lock()
			if !errors.Is(err, net.ErrClosed) {
				c.err = err
			}
			close(c.notify)
			c.notify = nil
			c.mu.Unlock()
			return
		}
		f := Frame{Time: time.Now(), Data: append([]byte(nil), buf[:n]...)}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}
}

// Frames returns a copy of what was captured so far.
func (c *Capture) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
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
		c.conn.Close()
		<-c.done
	})
}
