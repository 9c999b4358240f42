package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Exec runs a program (keepalived's vrrp_script): exit status 0 is up,
// anything else is down, and a program that cannot be started is down with
// the reason, never up. No shell is involved unless asked for (Shell).
//
// The program runs in a process group of its own. When the run's context is
// done (the tracker's timeout, or the tracker stopping) the whole group is
// killed with SIGKILL, so children the program left behind die with it.
// A program that exits by itself may leave children running, as keepalived
// allows. (Outside Unix there are no process groups: only the program is
// killed, and User and Group are not supported.)
type Exec struct {
	// Path is the program: a path, or a name looked up in $PATH
	// (keepalived's "script", its first word). Required.
	Path string
	// Args are its arguments, without the program name (the rest of
	// keepalived's "script").
	Args []string
	// Env is its environment; nil inherits this process's.
	Env []string
	// Dir is its working directory; empty means this process's.
	Dir string
	// User and Group run it under another identity (keepalived's
	// "user USERNAME [GROUPNAME]"): names or numeric IDs. Group defaults
	// to User's primary group. Supplementary groups are dropped. Both
	// empty: this process's identity.
	User, Group string
	// Credential, when set, runs it under these numeric ids instead, with
	// no supplementary groups, and User and Group are ignored: a caller
	// that has vetted the program for an identity runs it as exactly that
	// one, with no name looked up again in between.
	Credential *Credential
	// OutputLimit bounds how much of its combined stdout and stderr is
	// kept for the log (the last bytes win). 0 means 4096; negative keeps
	// nothing.
	OutputLimit int
}

// Credential is a numeric user and group id.
type Credential struct {
	UID, GID uint32
}

// Shell returns an Exec that runs command with /bin/sh -c, for the
// commands keepalived users write as one string with pipes or globs.
func Shell(command string) *Exec {
	return &Exec{Path: "/bin/sh", Args: []string{"-c", command}}
}

// pipeGrace bounds how long a run waits, once the program has exited, for
// children it left behind to close its output.
const pipeGrace = 250 * time.Millisecond

// Check runs the program once.
func (e *Exec) Check(ctx context.Context) Result {
	if err := context.Cause(ctx); err != nil {
		return Result{Reason: "not started: " + err.Error()}
	}
	out := &tailBuffer{limit: e.OutputLimit}
	if out.limit == 0 {
		out.limit = 4096
	}
	cmd := exec.Command(e.Path, e.Args...)
	cmd.Env = e.Env
	cmd.Dir = e.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = pipeGrace
	if err := e.prepare(cmd); err != nil {
		return Result{Reason: "not started: " + err.Error()}
	}
	if err := cmd.Start(); err != nil {
		return Result{Reason: "not started: " + err.Error()}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		killGroup(cmd)
		<-done
		return Result{Reason: "killed: " + context.Cause(ctx).Error(), Output: out.String()}
	}
	res := Result{Output: out.String()}
	if ps := cmd.ProcessState; ps != nil {
		ws, _ := ps.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			res.Reason = "killed by signal " + ws.Signal().String()
		case ps.ExitCode() == 0:
			res.Up, res.Reason = true, "exit status 0"
		default:
			res.Reason = "exit status " + strconv.Itoa(ps.ExitCode())
		}
		return res
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	res.Reason = fmt.Sprintf("wait: %v", err)
	return res
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu        sync.Mutex
	limit     int
	buf       []byte
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit <= 0 {
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		// Trim in large steps so long outputs do not copy on every write.
		if len(b.buf) >= 2*b.limit || len(p) >= b.limit {
			b.buf = append(b.buf[:0], b.buf[over:]...)
			b.truncated = true
		}
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit <= 0 {
		return ""
	}
	s := b.buf
	truncated := b.truncated
	if over := len(s) - b.limit; over > 0 {
		s = s[over:]
		truncated = true
	}
	if truncated {
		return "…" + string(s)
	}
	return string(s)
}
