package netlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

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

// heldEnv tells the processes a lab holder starts (a test binary
// re-executed as a daemon) that their parent holds the lock for them.
const heldEnv = "VRRPKIT_NETLAB_LOCK_HELD"

// A test binary that links netlab takes the lock before its first test,
// when it may build labs at all: its other tests (simulations, benchmarks
// of the protocol core) load the machine as much as labs do, and the
// wait does not count against its -timeout, which starts in m.Run.
func init() {
	if !testing.Testing() || os.Getenv(heldEnv) != "" || missingPrivilege() != "" {
		return
	}
	if err := holdLabLock(); err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
	}
}

func holdLabLock() error {
	if os.Getenv(heldEnv) != "" && labLock.f == nil && os.Getenv(heldEnv) != strconv.Itoa(os.Getpid()) {
		return nil // started by the holder
	}
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
		os.Setenv(heldEnv, strconv.Itoa(os.Getpid()))
	})
	return labLock.err
}

// Main runs a test binary's tests (m is its *testing.M) after taking the
// lab lock, when this process may build labs at all. The lock is taken
// when the binary starts already; Main says so where a TestMain runs the
// tests.
func Main(m interface{ Run() int }) int {
	if missingPrivilege() == "" {
		if err := holdLabLock(); err != nil {
			fmt.Fprintln(os.Stderr, "netlab:", err)
			return 1
		}
	}
	return m.Run()
}
