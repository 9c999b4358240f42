package health

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
)

// ParamMatch is how a Process's Args are compared with a process's
// arguments (keepalived's "param_match").
type ParamMatch int

const (
	// ParamNone compares no arguments, unless Args are given, which means
	// ParamExact (keepalived's default).
	ParamNone ParamMatch = iota
	// ParamExact: the arguments are exactly Args; with no Args, the
	// process must have no arguments (keepalived's bare "param_match").
	ParamExact
	// ParamPartial: the first len(Args) arguments are exactly Args, more
	// may follow ("param_match partial").
	ParamPartial
	// ParamInitial: like ParamPartial, but the last of Args need only be
	// a prefix of the corresponding argument ("param_match initial").
	ParamInitial
)

func (m ParamMatch) String() string {
	switch m {
	case ParamNone:
		return "none"
	case ParamExact:
		return "exact"
	case ParamPartial:
		return "partial"
	case ParamInitial:
		return "initial"
	}
	return fmt.Sprintf("ParamMatch(%d)", int(m))
}

// Process counts the running processes that match, by reading /proc, and
// passes while the count is within the quorum (keepalived's
// vrrp_track_process). Zombies do not count.
//
// Matching is keepalived's: exact, never a pattern. Without FullCommand and
// Args, Name is compared with the process name (the comm field of
// /proc/PID/stat, at most 15 bytes, as "Name:" in /proc/PID/status shows
// it); "ssh" does not match sshd. With FullCommand, or when Args or a
// ParamMatch are given, Name is compared with the program as it was started
// (argv[0] from /proc/PID/cmdline) and Args with the arguments that
// follow, according to ParamMatch.
//
// keepalived learns of processes from the kernel's process events; Process
// is polled at the tracker's Interval instead, so keepalived's fork_delay
// and terminate_delay become the tracker's Rise and Fall (delay / interval,
// rounded up, plus one).
type Process struct {
	// Name is keepalived's "process" (the first word). A process name
	// has at most 15 bytes, so a longer Name only ever matches with
	// FullCommand.
	Name string
	// Args are the parameters after it ("process NAME ARG...").
	Args []string
	// ParamMatch is keepalived's "param_match".
	ParamMatch ParamMatch
	// FullCommand compares Name with argv[0] instead of the process name
	// (keepalived's "full_command").
	FullCommand bool
	// Quorum is the fewest matching processes for the check to pass
	// (keepalived's "quorum", default 1).
	Quorum int
	// QuorumMax is the most (keepalived's "quorum_max"); 0, or less than
	// Quorum (which keepalived ignores), means no maximum.
	QuorumMax int
	// Absent makes the check pass only while no matching process runs
	// (keepalived's "quorum_max 0"); Quorum and QuorumMax are ignored.
	Absent bool
	// Proc is where procfs is mounted; empty means /proc.
	Proc string
}

// Check counts the matching processes once.
func (p *Process) Check(ctx context.Context) Result {
	n, err := p.Count(ctx)
	if err != nil {
		return Result{Reason: err.Error()}
	}
	lo := max(p.Quorum, 1)
	var up bool
	var quorum string
	switch {
	case p.Absent:
		up, quorum = n == 0, "none"
	case p.QuorumMax >= lo:
		up, quorum = n >= lo && n <= p.QuorumMax, fmt.Sprintf("%d-%d", lo, p.QuorumMax)
	default:
		// keepalived ignores a quorum_max below quorum.
		up, quorum = n >= lo, fmt.Sprintf("at least %d", lo)
	}
	reason := fmt.Sprintf("%d running, quorum %s", n, quorum)
	if n == 0 && len(p.Name) > maxComm && !p.fullCommand() {
		reason += fmt.Sprintf(" (a process name has at most %d bytes: use FullCommand to match %q)", maxComm, p.Name)
	}
	return Result{Up: up, Reason: reason}
}

// maxComm is the longest process name the kernel keeps (TASK_COMM_LEN - 1).
const maxComm = 15

func (p *Process) fullCommand() bool {
	return p.FullCommand || len(p.Args) > 0 || p.ParamMatch != ParamNone
}

// Count returns how many running processes match.
func (p *Process) Count(ctx context.Context) (int, error) {
	proc := p.Proc
	if proc == "" {
		proc = "/proc"
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return 0, fmt.Errorf("process %s: %w", p.Name, err)
	}
	full := p.fullCommand()
	mode := p.ParamMatch
	if mode == ParamNone && len(p.Args) > 0 {
		mode = ParamExact
	}
	var want []byte
	for _, a := range p.Args {
		want = append(want, a...)
		want = append(want, 0)
	}
	name := []byte(p.Name)
	var buf, path []byte
	n := 0
	for i, ent := range ents {
		if i%256 == 0 && ctx.Err() != nil {
			return 0, fmt.Errorf("process %s: %w", p.Name, context.Cause(ctx))
		}
		if !isPID(ent.Name()) {
			continue
		}
		// A process may exit at any point here: it just does not count.
		path = append(append(append(path[:0], proc...), '/'), ent.Name()...)
		dir := len(path)
		if !full {
			// comm is cheap to read; stat (for the zombie check) only
			// for the few that match.
			buf, err = readInto(buf[:0], string(append(path, "/comm"...)))
			if err != nil || !bytes.Equal(bytes.TrimSuffix(buf, []byte{'\n'}), name) {
				continue
			}
			buf, err = readInto(buf[:0], string(append(path[:dir], "/stat"...)))
			if err != nil {
				continue
			}
			if _, state, ok := parseStat(buf); !ok || state == 'Z' || state == 'X' {
				continue
			}
			n++
			continue
		}
		// A zombie's (and a kernel thread's) cmdline is empty.
		buf, err = readInto(buf[:0], string(append(path, "/cmdline"...)))
		if err != nil || len(buf) == 0 {
			continue
		}
		argv0, params, _ := bytes.Cut(buf, []byte{0})
		if !bytes.Equal(argv0, name) {
			continue
		}
		if mode != ParamNone && !paramsMatch(mode, want, params) {
			continue
		}
		n++
	}
	return n, nil
}

// paramsMatch is keepalived's check_params (track_process.c). want and got
// are NUL-terminated arguments laid end to end, as in /proc/PID/cmdline
// after argv[0].
func paramsMatch(mode ParamMatch, want, got []byte) bool {
	if mode == ParamExact && len(want) == 0 && len(got) == 0 {
		return true
	}
	if len(got) < len(want) {
		return false
	}
	switch {
	case mode == ParamExact:
		return bytes.Equal(got, want)
	case len(want) == 0:
		return true
	case mode == ParamPartial:
		return bytes.Equal(got[:len(want)], want)
	default: // ParamInitial: all but the last argument's terminator
		return bytes.Equal(got[:len(want)-1], want[:len(want)-1])
	}
}

// parseStat finds the process name and state in /proc/PID/stat:
// "PID (comm) S ...". The name may itself contain parentheses and spaces,
// so it ends at the last ')'.
func parseStat(b []byte) (comm []byte, state byte, ok bool) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open || closing+2 >= len(b) {
		return nil, 0, false
	}
	return b[open+1 : closing], b[closing+2], true
}

func isPID(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// readInto reads a whole (proc) file into buf.
func readInto(buf []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
