package labtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Deadlines of the waits. They bound how long a broken run takes to fail;
// none of them is a claim about speed (the takeover bounds are asserted on
// the capture's time stamps).
const (
	readyTimeout = 30 * time.Second // a -race test binary starting on a busy machine
	exitTimeout  = 15 * time.Second // NodeConfig.ShutdownTimeout is 10 s
)

// proc is one router process running in a lab host.
type proc struct {
	t    *testing.T
	h    *netlab.Host
	name string // "h1", or "h1#2" for the second run on h1
	spec spec

	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	reports []report
	notify  chan struct{} // closed and replaced at each report
	stderr  bytes.Buffer  // the router's log
	exited  chan struct{} // closed when the process has been waited for
	waitErr error
	junk    []string // stdout lines that are not reports
}

// launch starts a router process in h; it runs until started with go_.
func launch(t *testing.T, h *netlab.Host, name string, s spec) *proc {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, h: h, name: name, spec: s, notify: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = h.Command(context.Background(), os.Args[0])
	p.cmd.Env = append(os.Environ(), envSpec+"="+string(raw))
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start router: %v", name, err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		if p.running() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s (%s) log, last lines:\n%s", p.name, p.spec.Config.Name, tailLines(p.stderr.String(), 80))
			p.mu.Unlock()
		}
	})
	return p
}

func (p *proc) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r report
		err := json.Unmarshal(sc.Bytes(), &r)
		p.mu.Lock()
		if err != nil || r.Kind == "" {
			p.junk = append(p.junk, sc.Text())
		} else {
			p.reports = append(p.reports, r)
		}
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.waitErr = err
	close(p.notify)
	p.notify = nil
	p.mu.Unlock()
	close(p.exited)
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// mark is a position in the process's reports: waits from a mark look only
// at what was reported after it.
func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reports)
}

// waitReport waits until a report at or after from matches, and returns
// it with its index.
func (p *proc) waitReport(from int, timeout time.Duration, what string, match func(report) bool) (report, int) {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		reports, notify, waitErr := p.reports, p.notify, p.waitErr
		p.mu.Unlock()
		for i := from; i < len(reports); i++ {
			if match(reports[i]) {
				return reports[i], i
			}
		}
		from = max(from, len(reports))
		if notify == nil {
			p.t.Fatalf("%s: exited (%v) before %s; reports: %s", p.name, waitErr, what, p.describe())
		}
		select {
		case <-notify:
		case <-deadline.C:
			p.t.Fatalf("%s: no %s within %v; reports: %s", p.name, what, timeout, p.describe())
		}
	}
}

// waitCond waits until cond holds, checking it at each report.
func (p *proc) waitCond(timeout time.Duration, what string, cond func() bool) {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		notify, waitErr := p.notify, p.waitErr
		p.mu.Unlock()
		if cond() {
			return
		}
		if notify == nil {
			p.t.Fatalf("%s: exited (%v) before %s; reports: %s", p.name, waitErr, what, p.describe())
		}
		select {
		case <-notify:
		case <-deadline.C:
			p.t.Fatalf("%s: not %s within %v; reports: %s", p.name, what, timeout, p.describe())
		}
	}
}

// reached reports whether p ever entered st.
func (p *proc) reached(st vrrp.State) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.reports {
		if r.Kind == vrrp.EventState.String() && r.To == st.String() {
			return true
		}
	}
	return false
}

// waitState waits for a transition to st reported after from.
func (p *proc) waitState(from int, st vrrp.State, timeout time.Duration) (report, int) {
	p.t.Helper()
	return p.waitReport(from, timeout, "entry into "+st.String(), func(r report) bool {
		return r.Kind == vrrp.EventState.String() && r.To == st.String()
	})
}

// state is the state the process last reported ("" before any).
func (p *proc) state() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.reports) - 1; i >= 0; i-- {
		if p.reports[i].Kind == vrrp.EventState.String() {
			return p.reports[i].To
		}
	}
	return ""
}

// transitions lists the state changes reported after from, e.g.
// "BACKUP→MASTER (master down)".
func (p *proc) transitions(from int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.reports[min(from, len(p.reports)):] {
		if r.Kind == vrrp.EventState.String() {
			out = append(out, r.From+"→"+r.To+" ("+r.Reason+")")
		}
	}
	return out
}

func (p *proc) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, r := range p.reports {
		switch r.Kind {
		case vrrp.EventState.String():
			fmt.Fprintf(&b, "\n  %s %s→%s (%s) %s", r.Time.Format("15:04:05.000"), r.From, r.To, r.Reason, r.Detail)
		case vrrp.EventBackendError.String(), "exit":
			fmt.Fprintf(&b, "\n  %s %s %s %s", r.Time.Format("15:04:05.000"), r.Kind, r.Detail, r.Err)
		}
	}
	for _, j := range p.junk {
		fmt.Fprintf(&b, "\n  stdout: %s", j)
	}
	return b.String()
}

// start lets the router run (it waits for this after "ready").
func (p *proc) start() {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
		p.t.Fatalf("%s: start: %v", p.name, err)
	}
}

// kill crashes the router: SIGKILL to its process group, as a power cut
// or an OOM kill would end it, with no chance to send priority 0 or remove
// its addresses.
func (p *proc) kill() {
	p.t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		p.t.Fatalf("%s: kill: %v", p.name, err)
	}
	<-p.exited
}

// stop ends the router gracefully (SIGTERM) and checks that it shut down
// cleanly: exit status 0 (which also means the race detector found
// nothing) and an "exit" report without error.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		p.t.Fatalf("%s: still running %v after SIGTERM", p.name, exitTimeout)
	}
	p.checkExit()
}

func (p *proc) checkExit() {
	p.t.Helper()
	p.mu.Lock()
	waitErr := p.waitErr
	var last report
	if n := len(p.reports); n > 0 {
		last = p.reports[n-1]
	}
	p.mu.Unlock()
	if waitErr != nil || last.Kind != "exit" || last.Err != "" {
		p.t.Errorf("%s: did not shut down cleanly: %v, last report %+v", p.name, waitErr, last)
	}
}

// stats returns the counters reported at a clean exit.
func (p *proc) stats() *vrrp.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.reports) - 1; i >= 0; i-- {
		if p.reports[i].Kind == "stats" {
			return p.reports[i].Stats
		}
	}
	return nil
}

// backendErrors lists the backend errors reported.
func (p *proc) backendErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.reports {
		if r.Kind == vrrp.EventBackendError.String() {
			out = append(out, r.Detail+": "+r.Err)
		}
	}
	return out
}

// waitReady waits for the process to have built its stack.
func (p *proc) waitReady() {
	p.t.Helper()
	p.waitReport(0, readyTimeout, "ready report", func(r report) bool { return r.Kind == "ready" })
}

// startAll launches routers and starts them together once all are ready.
func startAll(ps ...*proc) {
	for _, p := range ps {
		p.waitReady()
	}
	for _, p := range ps {
		p.start()
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
