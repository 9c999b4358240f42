package kalab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// EnvBinary names the environment variable holding the path of the
// keepalived 2.4.3 binary.
const EnvBinary = "VRRPKIT_KEEPALIVED_NEW"

// stopTimeout bounds how long Stop waits for keepalived to exit after
// SIGTERM (it sends its priority-0 adverts and removes its VIPs first).
const stopTimeout = 10 * time.Second

// TB is what the helpers need of a test: netlab's, plus Logf and Failed
// for the daemon's log on failure, and TempDir.
type TB interface {
	netlab.TB
	Logf(format string, args ...any)
	Failed() bool
	TempDir() string
}

// Binary returns the path of keepalived 2.4.3 from VRRPKIT_KEEPALIVED_NEW.
// Unset, it skips the test with the reason (fails when
// VRRPKIT_REQUIRE_NETNS=1); set to something that is not an executable
// file, it fails.
func Binary(t TB) string {
	t.Helper()
	path := os.Getenv(EnvBinary)
	if path == "" {
		reason := fmt.Sprintf("keepalived 2.4.3 not configured: set %s to its binary (.ci/run unpacks ../shared/peers/keepalived-2.4.3-debian12-amd64.tar.gz)", EnvBinary)
		if os.Getenv(netlab.RequireEnv) == "1" {
			t.Fatalf("kalab: %s (and %s=1 forbids skipping)", reason, netlab.RequireEnv)
		} else {
			t.Skipf("kalab: %s; skipping", reason)
		}
		return ""
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		t.Fatalf("kalab: %s=%s: %v", EnvBinary, path, err)
		return ""
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		t.Fatalf("kalab: %s=%s is not an executable file (mode %v)", EnvBinary, path, st.Mode())
		return ""
	}
	return path
}

// Spec is what one keepalived runs.
type Spec struct {
	// Conf is the text of keepalived.conf.
	Conf string
	// Files are further files written next to the configuration before
	// keepalived starts (key files for auth_hmac's file: keys), by name,
	// with mode 0600: keepalived refuses a key file readable by group or
	// others.
	Files map[string]string
	// Env is added to keepalived's environment (for ${_ENV NAME}).
	Env []string
}

// Daemon is a keepalived running in a lab host.
type Daemon struct {
	Host *netlab.Host
	// Dir holds keepalived.conf, the Files, and the pid files.
	Dir string

	t      TB
	cmd    *exec.Cmd
	log    *lineLog
	exited chan struct{}
	state  *os.ProcessState
}

// Start runs keepalived 2.4.3 (found by Binary) in h with spec, in the
// foreground (-n), logging to the console (-l) in detail (-D). It is
// killed at cleanup if still running, and its log is shown if the test
// failed.
func Start(t TB, h *netlab.Host, spec Spec) *Daemon {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(spec.Conf), 0o644); err != nil {
		t.Fatalf("kalab: %v", err)
	}
	for name, text := range spec.Files {
		if filepath.Base(name) != name {
			t.Fatalf("kalab: file name %q is not a plain name", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatalf("kalab: %v", err)
		}
	}
	// No -P/--vrrp: this build has no checker, and the option ends
	// keepalived's option parsing there, silently dropping what follows.
	cmd := h.Command(context.Background(), bin, "-n", "-l", "-D", "--no-syslog",
		"-f", conf, "-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), spec.Env...)
	d := &Daemon{Host: h, Dir: dir, t: t, cmd: cmd, log: &lineLog{changed: make(chan struct{})}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("kalab: start keepalived in %s: %v", h.Name, err)
	}
	go func() {
		_ = cmd.Wait()
		d.state = cmd.ProcessState
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			t.Logf("--- keepalived@%s logged:\n%s", h.Name, strings.Join(d.log.lines(0), "\n"))
		}
	})
	return d
}

// Log returns the lines keepalived logged so far.
func (d *Daemon) Log() []string { return d.log.lines(0) }

// Mark is the number of lines logged so far, for WaitLog.
func (d *Daemon) Mark() int { return len(d.log.lines(0)) }

// WaitLog waits until a line from line number mark on matches re, and
// returns it.
func (d *Daemon) WaitLog(ctx context.Context, mark int, re *regexp.Regexp) (string, error) {
	for {
		lines, changed := d.log.since(mark)
		for _, l := range lines {
			if re.MatchString(l) {
				return l, nil
			}
		}
		mark += len(lines)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("kalab: keepalived@%s logged no line matching %q: %w", d.Host.Name, re, ctx.Err())
		case <-d.exited:
			if lines, _ := d.log.since(mark); len(lines) > 0 {
				continue
			}
			return "", fmt.Errorf("kalab: keepalived@%s exited (%v) without logging a line matching %q", d.Host.Name, d.state, re)
		case <-changed:
		}
	}
}

// Signal sends sig to keepalived's parent process.
func (d *Daemon) Signal(sig syscall.Signal) error { return d.cmd.Process.Signal(sig) }

// Stop sends SIGTERM and waits for keepalived to exit cleanly: it sends
// its priority-0 adverts and removes its VIPs first.
func (d *Daemon) Stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kalab: SIGTERM keepalived@%s: %w", d.Host.Name, err)
	}
	select {
	case <-d.exited:
	case <-time.After(stopTimeout):
		return fmt.Errorf("kalab: keepalived@%s did not exit within %v of SIGTERM", d.Host.Name, stopTimeout)
	}
	if !d.state.Success() {
		return fmt.Errorf("kalab: keepalived@%s exited with %v after SIGTERM", d.Host.Name, d.state)
	}
	return nil
}

// Kill sends SIGKILL to keepalived's process group (its VRRP child too),
// as a crash would end it, and waits for it to exit.
func (d *Daemon) Kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.exited
}

// Exited is closed when keepalived has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// lineLog collects a process's output as lines.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	all     []string
	changed chan struct{} // closed and replaced at each new line
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	n := 0
	for {
		i := bytes.IndexByte(l.partial[n:], '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, string(l.partial[n:n+i]))
		n += i + 1
	}
	if n > 0 {
		l.partial = append(l.partial[:0], l.partial[n:]...)
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

func (l *lineLog) lines(from int) []string {
	ls, _ := l.since(from)
	return ls
}

func (l *lineLog) since(from int) ([]string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from = max(0, min(from, len(l.all)))
	return append([]string(nil), l.all[from:]...), l.changed
}
