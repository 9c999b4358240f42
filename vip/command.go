//go:build unix

package vip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// CommandConfig says what the command backend runs. Each command is an
// argv run directly, without a shell, unless Shell is set.
//
// The command's environment is the process's, plus (overriding any
// inherited value):
//
//	VRRP_ACTION     acquire, release or announce
//	VRRP_STATE      MASTER on acquire and announce, BACKUP on release
//	                (the backend is not told whether the router is going to
//	                Backup, Fault or stopping; VRRP_ACTION is exact)
//	VRRP_ROUTER     the router's name (keepalived's instance name)
//	VRRP_VRID       the virtual router ID, 1-255
//	VRRP_INTERFACE  the router's interface
//	VRRP_FAMILY     ipv4 or ipv6
//	VRRP_PRIORITY   the router's effective priority, 0-255
//	VRRP_NO_ACCEPT  1 when the router is in RFC 5798 Accept_Mode false
//	                (keepalived's no_accept) and not the address owner:
//	                the host should drop traffic to the VIPs; else 0
//	VRRP_VIPS       every address with its prefix length, space-separated
//	                ("10.0.0.100/24 10.0.0.101/32")
//	VRRP_VIP_COUNT  the number of addresses
//	VRRP_VIP_<i>    address i (from 0): "PREFIX dev IFNAME", then
//	                " label LABEL" and " excluded" when they apply
//
// then Env.
type CommandConfig struct {
	// Name names the backend in errors and logs. Default "command".
	Name string

	// Acquire, Release and Announce are the argv run for each call; nil
	// runs nothing and succeeds.
	Acquire, Release, Announce []string

	// Shell runs a command through /bin/sh: argv[0] is the script and the
	// rest its positional parameters ($1…). Default false: argv runs
	// directly, so addresses and names are never re-parsed by a shell.
	Shell bool

	// Timeout bounds each run. When it passes, the command's whole
	// process group is killed (SIGKILL) and the call fails. Default 30 s.
	Timeout time.Duration

	// Env is appended to the environment (KEY=value).
	Env []string

	// Dir is the working directory. Default: the process's.
	Dir string

	// MaxOutput is how many bytes of combined stdout and stderr are kept
	// for the error (the last ones). Default 4096.
	MaxOutput int

	// Logger receives each run's outcome at Debug. Nil: no logging.
	Logger *zap.Logger
}

// Command is a backend that runs a program on acquire, release and
// announce: how cloud users move an elastic interface or a floating IP
// where gratuitous ARP cannot.
type Command struct {
	cfg CommandConfig
	log *zap.Logger
}

var _ vrrp.Backend = (*Command)(nil)

// After a command exits, how long its leftover children may hold its
// output open before Wait gives up on them.
const commandWaitDelay = time.Second

// NewCommand checks cfg and returns the backend.
func NewCommand(cfg CommandConfig) (*Command, error) {
	if cfg.Name == "" {
		cfg.Name = "command"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxOutput == 0 {
		cfg.MaxOutput = 4096
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("vip: %s: negative Timeout %v", cfg.Name, cfg.Timeout)
	case cfg.MaxOutput < 0:
		return nil, fmt.Errorf("vip: %s: negative MaxOutput %d", cfg.Name, cfg.MaxOutput)
	}
	for _, c := range []struct {
		name string
		argv []string
	}{{"Acquire", cfg.Acquire}, {"Release", cfg.Release}, {"Announce", cfg.Announce}} {
		if c.argv != nil && (len(c.argv) == 0 || c.argv[0] == "") {
			return nil, fmt.Errorf("vip: %s: %s: empty command", cfg.Name, c.name)
		}
	}
	c := &Command{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	return c, nil
}

// Name is the configured name, for Multi's errors.
func (c *Command) Name() string { return c.cfg.Name }

// Acquire runs the Acquire command.
func (c *Command) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	return c.run(ctx, "acquire", c.cfg.Acquire, set)
}

// Release runs the Release command.
func (c *Command) Release(ctx context.Context, set vrrp.AddressSet) error {
	return c.run(ctx, "release", c.cfg.Release, set)
}

// Announce runs the Announce command.
func (c *Command) Announce(ctx context.Context, set vrrp.AddressSet) error {
	return c.run(ctx, "announce", c.cfg.Announce, set)
}

// errTimeout is the cause of a run's context when its Timeout passes.
var errTimeout = errors.New("timed out")

func (c *Command) run(ctx context.Context, action string, argv []string, set vrrp.AddressSet) error {
	if argv == nil {
		return nil
	}
	fail := func(err error, out *tailBuffer) error {
		msg := fmt.Errorf("vip: %s %s for %s: %s: %w", c.cfg.Name, action, set.Router, argv[0], err)
		if s := out.String(); s != "" {
			msg = fmt.Errorf("%w; output: %q", msg, s)
		}
		return msg
	}
	out := &tailBuffer{max: c.cfg.MaxOutput}
	if err := ctx.Err(); err != nil {
		return fail(err, out)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, errTimeout)
	defer cancel()

	name, args := argv[0], argv[1:]
	if c.cfg.Shell {
		name, args = "/bin/sh", append([]string{"-c", argv[0], c.cfg.Name}, argv[1:]...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.cfg.Dir
	cmd.Env = append(append(os.Environ(), commandEnv(action, set)...), c.cfg.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a timeout kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay

	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if cause := context.Cause(ctx); cause != nil && cmd.ProcessState != nil && !cmd.ProcessState.Success() {
		if errors.Is(cause, errTimeout) {
			err = fmt.Errorf("timed out after %v, process group killed", c.cfg.Timeout)
		} else {
			err = fmt.Errorf("%w, process group killed", cause)
		}
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		// It succeeded; something it left running kept its output open.
		c.log.Warn("command exited but left processes holding its output",
			zap.String("backend", c.cfg.Name), zap.String("action", action), zap.String("router", set.Router))
		err = nil
	}
	if err != nil {
		return fail(err, out)
	}
	c.log.Debug("command ran", zap.String("backend", c.cfg.Name), zap.String("action", action),
		zap.String("router", set.Router), zap.Duration("took", took), zap.String("output", out.String()))
	return nil
}

// commandEnv is the router's details as VRRP_* variables.
func commandEnv(action string, set vrrp.AddressSet) []string {
	state := "MASTER"
	if action == "release" {
		state = "BACKUP"
	}
	noAccept := "0"
	if set.NoAccept {
		noAccept = "1"
	}
	family := "ipv4"
	if set.IPv6 {
		family = "ipv6"
	}
	env := []string{
		"VRRP_ACTION=" + action,
		"VRRP_STATE=" + state,
		"VRRP_ROUTER=" + set.Router,
		"VRRP_VRID=" + strconv.Itoa(int(set.VRID)),
		"VRRP_INTERFACE=" + set.Interface,
		"VRRP_FAMILY=" + family,
		"VRRP_PRIORITY=" + strconv.Itoa(int(set.Priority)),
		"VRRP_NO_ACCEPT=" + noAccept,
		"VRRP_VIP_COUNT=" + strconv.Itoa(len(set.VIPs)),
	}
	prefixes := make([]string, len(set.VIPs))
	for i, v := range set.VIPs {
		prefixes[i] = v.Prefix.String()
		ifname := v.Interface
		if ifname == "" {
			ifname = set.Interface
		}
		d := v.Prefix.String() + " dev " + ifname
		if v.Label != "" {
			d += " label " + v.Label
		}
		if v.Excluded {
			d += " excluded"
		}
		env = append(env, "VRRP_VIP_"+strconv.Itoa(i)+"="+d)
	}
	return append(env, "VRRP_VIPS="+strings.Join(prefixes, " "))
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) > b.max {
		b.dropped += int64(len(b.buf) + len(p) - b.max)
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.dropped += int64(over)
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// String is the kept output, trimmed, with a note of what was dropped.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(string(b.buf))
	if b.dropped > 0 {
		s = fmt.Sprintf("[%d bytes dropped] …%s", b.dropped, s)
	}
	return s
}
