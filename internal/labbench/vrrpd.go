package labbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// Args are appended to the command line (--cpuprofile ... of a
	// -tags pprof build), with {host} replaced by the host's name; Env
	// to the environment (GOGC=...).
	Args, Env []string
}

func (Vrrpd) Name() string { return "vrrpd" }

// Command runs vrrpd exactly as Keepalived runs keepalived: same flags,
// same configuration file.
func (v Vrrpd) Command(ctx context.Context, h *netlab.Host, cfg, dir string) *exec.Cmd {
	cmd := h.Command(ctx, v.Bin, "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"--use-file", cfg,
		"--pid", filepath.Join(dir, "vrrpd.pid"),
		"--vrrp_pid", filepath.Join(dir, "vrrp.pid"),
		// keepalived has no status endpoint, and vrrpd's default one is
		// in the host's /run.
		"--status", "none")
	for _, a := range v.Args {
		cmd.Args = append(cmd.Args, strings.ReplaceAll(a, "{host}", h.Name))
	}
	if len(v.Env) > 0 {
		cmd.Env = append(os.Environ(), v.Env...)
	}
	return cmd
}

// vrrpdBuilds are the builds of a test process, by build tags.
var vrrpdBuilds struct {
	mu     sync.Mutex
	dir    string
	byTags map[string]vrrpdBuild
}

type vrrpdBuild struct {
	bin string
	err error
}

// BuildVrrpd builds examples/vrrpd with go build (CGO_ENABLED=0, and
// without the test's flags: -race would measure the race detector), once
// per test process, into a temporary directory that RemoveVrrpdBuild
// deletes.
func BuildVrrpd(tb testing.TB) Vrrpd { return BuildVrrpdTags(tb, "") }

// BuildVrrpdTags is BuildVrrpd with build tags (-tags pprof), once per
// test process and tags.
func BuildVrrpdTags(tb testing.TB, tags string) Vrrpd {
	tb.Helper()
	b := &vrrpdBuilds
	b.mu.Lock()
	defer b.mu.Unlock()
	got, ok := b.byTags[tags]
	if !ok {
		got = buildVrrpd(tags)
		if b.byTags == nil {
			b.byTags = map[string]vrrpdBuild{}
		}
		b.byTags[tags] = got
	}
	if got.err != nil {
		tb.Fatal(got.err)
	}
	return Vrrpd{Bin: got.bin}
}

// buildVrrpd runs go build; vrrpdBuilds.mu is held.
func buildVrrpd(tags string) vrrpdBuild {
	b := &vrrpdBuilds
	gobin, err := exec.LookPath("go")
	if err != nil {
		return vrrpdBuild{err: fmt.Errorf("labbench: building vrrpd needs the go command: %w", err)}
	}
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "labbench-vrrpd-"); err != nil {
			return vrrpdBuild{err: err}
		}
	}
	bin := filepath.Join(b.dir, "vrrpd"+strings.ReplaceAll(tags, ",", "-"))
	// Static, as a daemon is deployed: no libc mapped in.
	cmd := exec.Command(gobin, "build", "-tags", tags, "-o", bin, vrrpdPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return vrrpdBuild{err: fmt.Errorf("labbench: go build -tags %q %s: %v\n%s", tags, vrrpdPackage, err, out)}
	}
	return vrrpdBuild{bin: bin}
}

// RemoveVrrpdBuild deletes what BuildVrrpd built (TestMain calls it).
func RemoveVrrpdBuild() {
	if vrrpdBuilds.dir != "" {
		os.RemoveAll(vrrpdBuilds.dir)
	}
}
