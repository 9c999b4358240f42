package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// envMain makes the test binary the sidecar (TestMain): the lab runs each
// node's sidecar as a separate process of its own, as the postgres user
// with CAP_NET_ADMIN and CAP_NET_RAW only, so that SIGKILL ends it as a
// crash would.
const envMain = "PGSIDECAR_LABTEST_MAIN"

// labRoot holds what every lab of this test binary shares: a copy of the
// binary that the postgres user can run, and the initdb template.
var labRoot struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	if os.Getenv(envMain) == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	if err := becomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "prctl(PR_SET_CHILD_SUBREAPER):", err)
		os.Exit(1)
	}
	code := m.Run()
	if labRoot.dir != "" {
		os.RemoveAll(labRoot.dir)
	}
	os.Exit(code)
}

// Deadlines of the waits: how long a broken run takes to fail, not
// claims about speed (the benchmark measures that).
const (
	startTimeout    = 60 * time.Second
	failoverTimeout = 30 * time.Second
)

// sidecarProc is one sidecar process in a lab host.
type sidecarProc struct {
	tb     func() testing.TB // where failures go (the subtest that runs now)
	name   string
	cmd    *exec.Cmd
	sock   string // its unix status socket
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
	err    error
}

// startSidecar runs the sidecar in h as the postgres user with only
// CAP_NET_ADMIN and CAP_NET_RAW (ambient), with args.
// Its cleanup belongs to top, the test that owns the lab.
func startSidecar(top testing.TB, tb func() testing.TB, h *netlab.Host, name, sock string, args []string) *sidecarProc {
	t := top
	tb().Helper()
	setpriv := []string{"--reuid=postgres", "--regid=postgres", "--init-groups",
		"--inh-caps=-all,+net_admin,+net_raw", "--ambient-caps=+net_admin,+net_raw", "--", labRoot.bin}
	p := &sidecarProc{tb: tb, name: name, sock: sock, exited: make(chan struct{})}
	p.cmd = h.Command(context.Background(), "setpriv", append(setpriv, args...)...)
	p.cmd.Env = append(os.Environ(), envMain+"=1")
	p.cmd.Stdout = &lockedBuffer{mu: &p.mu, b: &p.log}
	p.cmd.Stderr = &lockedBuffer{mu: &p.mu, b: &p.log}
	if err := p.cmd.Start(); err != nil {
		tb().Fatalf("%s: start sidecar: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.running() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		logText := p.logText()
		if strings.Contains(logText, "DATA RACE") {
			t.Errorf("%s: the race detector reported a race:\n%s", name, logText)
		} else if t.Failed() || os.Getenv("PGSIDECAR_LABTEST_LOGS") == "1" {
			t.Logf("%s log, last lines:\n%s", name, tailLines(logText, 60))
		}
	})
	return p
}

func (p *sidecarProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *sidecarProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill crashes the sidecar (SIGKILL to its process group).
func (p *sidecarProc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// stop ends the sidecar with SIGTERM and checks that it exited cleanly.
func (p *sidecarProc) stop() {
	p.tb().Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.tb().Fatalf("%s: still running 20 s after SIGTERM", p.name)
	}
	if p.err != nil {
		p.tb().Errorf("%s: exit after SIGTERM: %v", p.name, p.err)
	}
}

// status asks the sidecar's unix status socket.
func (p *sidecarProc) status() (statusDoc, error) {
	return fetchUnixStatus(p.sock)
}

func fetchUnixStatus(sock string) (statusDoc, error) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: unixTransport(sock)}
	resp, err := c.Get("http://sidecar" + statusPath)
	if err != nil {
		return statusDoc{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return statusDoc{}, err
	}
	if resp.StatusCode != 200 {
		return statusDoc{}, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	var d statusDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return statusDoc{}, err
	}
	return d, nil
}

func unixTransport(sock string) *http.Transport {
	return &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}
}

// waitStatus polls the sidecar's status until cond holds.
func (p *sidecarProc) waitStatus(timeout time.Duration, what string, cond func(statusDoc) bool) statusDoc {
	p.tb().Helper()
	d, err := waitFor(timeout, func() (statusDoc, bool, error) {
		d, err := p.status()
		return d, err == nil && cond(d), err
	})
	if err != nil {
		p.tb().Fatalf("%s: not %s within %v: %v; last status: %s", p.name, what, timeout, err, describe(d))
	}
	return d
}

func describe(d statusDoc) string {
	return fmt.Sprintf("role %s, vrrp %s prio %d master %v, tl %d, receive %v replay %v paused %v, walrcv %q, standbys %d, fenced %q, decision %s: %s",
		d.Role, d.VRRPState, d.Priority, d.Master, d.Timeline, d.ReceiveLSN, d.ReplayLSN, d.ReplayPaused, d.WALReceiver,
		d.StreamingClients, d.FencedWhy, d.Decision.Action, d.Decision.Reason)
}

// waitFor calls poll every 20 ms until it reports done, or timeout
// passes (then the last value and error, or an error saying so).
func waitFor[T any](timeout time.Duration, poll func() (T, bool, error)) (T, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		v, done, err := poll()
		if done {
			return v, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("timed out")
			}
			return v, err
		}
		<-tick.C
	}
}

// prepareLabRoot makes the shared directory and the binary copy once.
func prepareLabRoot(t testing.TB) {
	t.Helper()
	labRoot.once.Do(func() {
		dir, err := os.MkdirTemp("", "pgsidecar-lab-")
		if err != nil {
			labRoot.err = err
			return
		}
		labRoot.dir = dir
		if err := os.Chmod(dir, 0o755); err != nil {
			labRoot.err = err
			return
		}
		self, err := os.Executable()
		if err != nil {
			labRoot.err = err
			return
		}
		labRoot.bin = filepath.Join(dir, "pgsidecar")
		labRoot.err = copyFile(self, labRoot.bin, 0o755)
	})
	if labRoot.err != nil {
		t.Fatalf("lab root: %v", labRoot.err)
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
