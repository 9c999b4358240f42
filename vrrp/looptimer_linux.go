package vrrp

import (
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newLoopTimer returns the Node loop's one timer. With precise (see
// NodeConfig.PreciseWakeups, which implies the system clock) it is a
// timerfd waited on through Go's poller: an idle Go program wakes for a
// runtime timer up to a millisecond late (the poller waits in whole
// milliseconds, rounded up below one), and the loop's timer is what sends
// a backup's first advert when the master is gone. Otherwise it is the
// clock's own timer.
//
// A runtime timer backs the timerfd up: Go's scheduler polls for ready
// descriptors only when it has no goroutine to run, so while backend
// workers keep it busy a timerfd's expiry waits, whereas runtime timers
// are checked at every scheduling point. Whichever fires first ticks.
//
// The loop's timer may fire spuriously (a tick read just before a Reset,
// or the later of the two): the loop checks every deadline it wakes for.
func newLoopTimer(c Clock, precise bool) Timer {
	if precise {
		if t, err := newFDTimer(); err == nil {
			return t
		}
	}
	t := c.NewTimer(time.Hour)
	t.Stop()
	return t
}

// fdTimer is a Timer on a CLOCK_MONOTONIC timerfd (the clock Go's
// monotonic readings come from). A goroutine waits for it to expire and
// ticks c. Its system calls never block, so they go without the
// scheduler's system call bookkeeping (see advert's socket_linux.go).
type fdTimer struct {
	fd       int
	f        *os.File
	rc       syscall.RawConn
	backstop *time.Timer
	c        chan time.Time
	done     chan struct{}
	once     sync.Once
}

func newFDTimer() (*fdTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so os.NewFile registers it with the poller.
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &fdTimer{fd: fd, f: f, rc: rc, c: make(chan time.Time, 1), done: make(chan struct{})}
	t.backstop = time.AfterFunc(time.Hour, t.tick)
	t.backstop.Stop()
	go t.run()
	return t, nil
}

func (t *fdTimer) tick() {
	select {
	case t.c <- SystemClock{}.Now():
	default:
	}
}

func (t *fdTimer) run() {
	defer close(t.done)
	var expirations uint64
	buf := unsafe.Pointer(&expirations)
	for {
		var errno syscall.Errno
		err := t.rc.Read(func(fd uintptr) bool {
			_, _, errno = unix.RawSyscall(unix.SYS_READ, fd, uintptr(buf), 8)
			return errno != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		if errno != 0 {
			continue // EINTR; ECANCELED cannot happen on CLOCK_MONOTONIC
		}
		t.tick()
	}
}

func (t *fdTimer) C() <-chan time.Time { return t.c }

// Reset arms the timer d from now; it reports true (the loop does not
// use the result).
func (t *fdTimer) Reset(d time.Duration) bool {
	t.backstop.Stop()
	t.drain()
	t.set(max(d, 1)) // a zero it_value disarms
	t.backstop.Reset(d)
	return true
}

// Stop disarms the timer; a tick already read may still arrive.
func (t *fdTimer) Stop() bool {
	t.set(0)
	t.backstop.Stop()
	t.drain()
	return true
}

func (t *fdTimer) set(d time.Duration) {
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	// Cannot fail with a valid descriptor and value.
	unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(t.fd), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0)
}

func (t *fdTimer) drain() {
	select {
	case <-t.c:
	default:
	}
}

// Close releases the timerfd and stops its goroutine.
func (t *fdTimer) Close() error {
	t.once.Do(func() {
		t.backstop.Stop()
		t.f.Close()
		<-t.done
	})
	return nil
}
