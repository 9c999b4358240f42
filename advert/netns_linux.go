package advert

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// A socket stays in the network namespace it was opened in, but a new
// socket lands in the namespace of the calling OS thread. Listen therefore
// opens every socket of a Conn inside the namespace it was given.

// currentNetns opens the network namespace of the calling thread.
func currentNetns() (*os.File, error) {
	f, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("advert: open network namespace: %w", err)
	}
	return f, nil
}

// sameNetns reports whether two handles name the same namespace.
func sameNetns(a, b *os.File) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(int(a.Fd()), &sa) != nil || unix.Fstat(int(b.Fd()), &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// inNetns runs fn on a fresh goroutine locked to a thread in namespace ns.
// When the thread already is in ns (the usual case) it does not switch, so
// a process with CAP_NET_RAW but without CAP_SYS_ADMIN can still open and
// reopen sockets in its own namespace. A thread that cannot switch back
// stays locked, so the runtime retires it instead of reusing it.
func inNetns(ns *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := currentNetns()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if sameNetns(orig, ns) {
			err := fn()
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("advert: enter network namespace: %w", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("advert: leave network namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
