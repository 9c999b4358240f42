package netlab

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// The labs of different test binaries take turns: `go test ./...` runs
// packages in parallel, and the lab tests assert protocol timing that two
// packages' router processes on a small machine would starve each other
// of. The first lab of a process takes an exclusive lock on a file in the
// temporary directory and keeps it until the process exits (the kernel
// drops it then, however the process ends); labs within one process still
// run side by side.
var labLock struct {
	once sync.Once
	err  error
	f    *os.File
}

// LockName is the lock file's name in os.TempDir().
const LockName = "vrrpkit-netlab.lock"

func holdLabLock() error {
	labLock.once.Do(func() {
		p := filepath.Join(os.TempDir(), LockName)
		f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE, 0o644)
		if err != nil {
			labLock.err = fmt.Errorf("lab lock %s: %w", p, err)
			return
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			f.Close()
			labLock.err = fmt.Errorf("lab lock %s: %w", p, err)
			return
		}
		labLock.f = f // held until the process exits
	})
	return labLock.err
}

// Main runs a test binary's tests (m is its *testing.M) after taking the
// lab lock, when this process may build labs at all. A package whose lab
// tests take long calls it from TestMain, so that the wait for another
// package's labs does not count against its own -timeout (which starts in
// m.Run); other packages take the lock at their first New.
func Main(m interface{ Run() int }) int {
	if missingPrivilege() == "" {
		if err := holdLabLock(); err != nil {
			fmt.Fprintln(os.Stderr, "netlab:", err)
			return 1
		}
	}
	return m.Run()
}
