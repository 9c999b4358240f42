package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/labbench"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// nodeEnv carries "name,priority,interval" to a router process: the demo
// re-executes itself in each lab host (the test binary does the same in
// tests).
const nodeEnv = "VRRPKIT_DEMO_NODE"

func nodeMode() bool { return os.Getenv(nodeEnv) != "" }

// runNodeFromEnv runs the router nodeEnv describes until ctx ends.
func runNodeFromEnv(ctx context.Context) {
	name, rest, _ := strings.Cut(os.Getenv(nodeEnv), ",")
	prio, ival, _ := strings.Cut(rest, ",")
	p, err := strconv.ParseUint(prio, 10, 8)
	var d time.Duration
	if err == nil {
		d, err = time.ParseDuration(ival)
	}
	if err == nil {
		err = runNode(ctx, name, int(p), d)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// labCluster runs each router as its own process (this binary with -node)
// in its own network namespace, on a bridge, with the VIP on a real eth0.
type labCluster struct {
	lab      *netlab.Lab
	capture  *netlab.Capture
	tb       *programTB
	exe      string
	interval time.Duration
	events   chan stateChange

	mu     sync.Mutex
	procs  [3]*exec.Cmd
	dead   [3]bool
	wg     sync.WaitGroup
	closed sync.Once
}

func newLabCluster(interval time.Duration) (c *labCluster, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tb := &programTB{}
	defer func() {
		// netlab reports through Skipf / Fatalf, which unwind to here.
		switch r := recover().(type) {
		case nil:
		case skipped:
			tb.cleanup()
			reason, _, _ := strings.Cut(strings.TrimPrefix(string(r), "netlab: "), ";")
			c, err = nil, fmt.Errorf("%w: %s", errNoLab, reason)
		case failed:
			tb.cleanup()
			c, err = nil, errors.New(string(r))
		default:
			tb.cleanup()
			panic(r)
		}
	}()
	lab := netlab.New(tb, len(priorities))
	return &labCluster{lab: lab, capture: lab.Capture(), tb: tb, exe: exe, interval: interval, events: make(chan stateChange, 64)}, nil
}

func (c *labCluster) Describe() string {
	return "a lab of network namespaces h1, h2, h3 on a bridge, one router process per host on raw sockets"
}

func (c *labCluster) VIP() string { return vipAddr }

func (c *labCluster) Interval() time.Duration { return c.interval }

func (c *labCluster) Start(i int) error {
	h := c.lab.Host(i + 1)
	cmd := h.Command(context.Background(), c.exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%v", nodeEnv, h.Name, priorities[i], c.interval))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start router on %s: %w", h.Name, err)
	}
	c.mu.Lock()
	c.procs[i], c.dead[i] = cmd, false
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e stateChange
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				c.events <- e
			}
		}
		_ = cmd.Wait()
	}()
	return nil
}

func (c *labCluster) Kill(i int) error {
	c.mu.Lock()
	cmd := c.procs[i]
	c.dead[i] = true
	c.mu.Unlock()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return err
	}
	return c.lab.Host(i + 1).LinkDown()
}

func (c *labCluster) Revive(i int) error {
	if err := c.lab.Host(i + 1).LinkUp(); err != nil {
		return err
	}
	return c.Start(i)
}

// Holders reads every live host's eth0 addresses. A killed host may still
// have the VIP in its kernel, but its link is down: nobody reaches it.
func (c *labCluster) Holders() ([]string, error) {
	var holders []string
	for i, h := range c.lab.Hosts() {
		c.mu.Lock()
		dead := c.dead[i]
		c.mu.Unlock()
		if dead {
			continue
		}
		out, err := h.Run("ip", "-o", "addr", "show", "dev", h.Ifname)
		if err != nil {
			return nil, err
		}
		if strings.Contains(out, " "+vipAddr+"/") {
			holders = append(holders, h.Name)
		}
	}
	return sortedHolders(holders), nil
}

func (c *labCluster) Events() <-chan stateChange { return c.events }

func (c *labCluster) WireTakeover(old, new int) (time.Duration, bool) {
	o, n := c.lab.Host(old+1).IPv4, c.lab.Host(new+1).IPv4
	var last time.Time
	for _, s := range labbench.Adverts(c.capture.Frames()) {
		if s.Src == o && s.VRID == vrid && s.Priority > 0 {
			last = s.Time
		}
	}
	if last.IsZero() {
		return 0, false
	}
	// The capture reads on its own goroutine: the new master's first
	// advert may not be in it yet.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f, err := c.capture.WaitFor(ctx, func(f netlab.Frame) bool {
		s := labbench.Adverts([]netlab.Frame{f})
		return len(s) == 1 && s[0].Src == n && s[0].VRID == vrid && s[0].Priority > 0 && s[0].Time.After(last)
	})
	if err != nil {
		return 0, false
	}
	return f.Time.Sub(last), true
}

// Close stops the routers gracefully (SIGTERM: priority 0, VIPs removed),
// then tears the lab down.
func (c *labCluster) Close() {
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	for _, p := range procs {
		if p != nil && p.Process != nil {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
	}
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		c.closed.Do(func() { close(c.events) })
	case <-time.After(5 * time.Second):
	}
	c.tb.cleanup()
}

// runNode is a lab host's router process: one router in this namespace,
// its state changes printed as JSON lines for the parent to tell.
func runNode(ctx context.Context, name string, prio int, interval time.Duration) error {
	backend, err := vip.NewLinux(vip.LinuxConfig{})
	if err != nil {
		return err
	}
	defer backend.Close()
	network, err := vrrp.NewSocketNetwork()
	if err != nil {
		return err
	}
	defer network.Close()
	r, err := vrrp.NewRouter(vrrp.Config{
		Name:      name,
		VRID:      vrid,
		Interface: "eth0",
		Priority:  prio,
		Interval:  interval,
		VIPs:      []vrrp.VIP{{Prefix: netip.MustParsePrefix(vipAddr + "/24")}},
		Backend:   backend,
	}, vrrp.NodeConfig{Network: network})
	if err != nil {
		return err
	}
	go func() {
		enc := json.NewEncoder(os.Stdout)
		for e := range r.Events() {
			if e.Kind == vrrp.EventState {
				_ = enc.Encode(stateChange{Host: name, Time: e.Time, State: e.To.String(), Reason: e.Reason.String()})
			}
		}
	}()
	return r.Run(ctx)
}

// programTB lets a program build a netlab lab: Skipf and Fatalf unwind to
// newLabCluster, cleanups run when the demo ends.
type programTB struct {
	mu       sync.Mutex
	cleanups []func()
}

type (
	skipped string
	failed  string
)

func (*programTB) Helper()                           {}
func (*programTB) Skipf(format string, args ...any)  { panic(skipped(fmt.Sprintf(format, args...))) }
func (*programTB) Fatalf(format string, args ...any) { panic(failed(fmt.Sprintf(format, args...))) }
func (*programTB) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "demo: "+format+"\n", args...)
}
func (t *programTB) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *programTB) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
