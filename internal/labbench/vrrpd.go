package labbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// vrrpdPackage is the daemon measured against keepalived.
const vrrpdPackage = "github.com/vrrpkit/vrrpkit/examples/vrrpd"

// Vrrpd is vrrpkit's examples/vrrpd, run with keepalived's command line.
type Vrrpd struct {
	// Bin is the built binary.
	Bin string
}

func (Vrrpd) Name() string { return "vrrpd" }

// Command runs vrrpd exactly as Keepalived runs keepalived: same flags,
// same configuration file.
func (v Vrrpd) Command(ctx context.Context, h *netlab.Host, cfg, dir string) *exec.Cmd {
	return h.Command(ctx, v.Bin, "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"--use-file", cfg,
		"--pid", filepath.Join(dir, "vrrpd.pid"),
		"--vrrp_pid", filepath.Join(dir, "vrrp.pid"),
		// keepalived has no status endpoint, and vrrpd's default one is
		// in the host's /run.
		"--status", "none")
}

// vrrpdBuild is the one build of a test process.
var vrrpdBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// BuildVrrpd builds examples/vrrpd with go build (CGO_ENABLED=0, and
// without the test's flags: -race would measure the race detector), once
// per test process, into a temporary directory that RemoveVrrpdBuild
// deletes.
func BuildVrrpd(tb testing.TB) Vrrpd {
	tb.Helper()
	b := &vrrpdBuild
	b.once.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("labbench: building vrrpd needs the go command: %w", err)
			return
		}
		if b.dir, b.err = os.MkdirTemp("", "labbench-vrrpd-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "vrrpd")
		// Static, as a daemon is deployed: no libc mapped in.
		cmd := exec.Command(gobin, "build", "-o", b.bin, vrrpdPackage)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("labbench: go build %s: %v\n%s", vrrpdPackage, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return Vrrpd{Bin: b.bin}
}

// RemoveVrrpdBuild deletes what BuildVrrpd built (TestMain calls it).
func RemoveVrrpdBuild() {
	if vrrpdBuild.dir != "" {
		os.RemoveAll(vrrpdBuild.dir)
	}
}
