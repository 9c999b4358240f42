package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// The test binary re-executes itself as httpvip in lab hosts.
const programEnv = "HTTPVIP_TEST_PROGRAM"

func TestMain(m *testing.M) {
	if os.Getenv(programEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stderr))
	}
	os.Exit(netlab.Main(m))
}

const (
	vipText = "10.0.0.100/24"
	vipAddr = "10.0.0.100"
	port    = "8080"
	wait    = 20 * time.Second
)

// program is httpvip running in a lab host.
type program struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	exited chan struct{}
}

func (p *program) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *program) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func start(t *testing.T, h *netlab.Host, args ...string) *program {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &program{t: t, name: "httpvip@" + h.Name, exited: make(chan struct{})}
	p.cmd = h.Command(context.Background(), exe, append([]string{"-interface", "eth0", "-vip", vipText, "-port", port, "-banner", h.Name}, args...)...)
	p.cmd.Env = append(os.Environ(), programEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		if t.Failed() {
			t.Logf("--- %s logged:\n%s", p.name, p.log())
		}
	})
	return p
}

func (p *program) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(wait):
		p.t.Fatalf("%s did not stop within %v", p.name, wait)
	}
}

// get asks the VIP from client host c: the banner that answered, or the
// error.
func get(c *netlab.Host) (string, error) {
	var body string
	err := c.Do(func() error {
		conn, err := net.DialTimeout("tcp", vipAddr+":"+port, time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
		b, err := io.ReadAll(bufio.NewReader(conn))
		if err != nil {
			return err
		}
		_, after, ok := strings.Cut(string(b), "\r\n\r\n")
		if !strings.HasPrefix(string(b), "HTTP/1.0 200") || !ok {
			return fmt.Errorf("answer %q", b)
		}
		body = strings.TrimSpace(after)
		return nil
	})
	return body, err
}

// awaitAnswer waits until the VIP answers with want ("" means: nothing
// answers).
func awaitAnswer(t *testing.T, c *netlab.Host, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	var got string
	var err error
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		got, err = get(c)
		if (want == "" && err != nil) || (want != "" && err == nil && got == want) {
			return
		}
		<-tick.C
	}
	t.Fatalf("the VIP answers %q (%v), want %q", got, err, want)
}

// listening reports whether host h has a TCP listener on the VIP's port
// bound to the VIP (read off /proc/net/tcp in its namespace).
func listening(t *testing.T, h *netlab.Host) bool {
	t.Helper()
	out, err := h.Run("cat", "/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	// 10.0.0.100:8080 as the kernel writes it: little-endian hex address.
	const local = "6400000A:1F90"
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
			return true
		}
	}
	return false
}

// until waits for cond, checking every 20 ms.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", wait, what)
		}
		<-tick.C
	}
}

func hasVIP(t *testing.T, h *netlab.Host) bool {
	t.Helper()
	out, err := h.Run("ip", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(out, " "+vipText+" ")
}

// TestServesOnTheVIPOnlyAsHealthyMaster: two httpvip hosts; the VIP
// answers from the healthy master only. When the master's health check
// fails it stops listening and gives the address up, and the other host
// answers; when it is healthy again it takes the address back; when it
// stops the other answers again. A host never listens on the VIP without
// holding it.
func TestServesOnTheVIPOnlyAsHealthyMaster(t *testing.T) {
	lab := netlab.New(t, 3)
	h1, h2, client := lab.Host(1), lab.Host(2), lab.Host(3)
	unhealthy := filepath.Join(t.TempDir(), "unhealthy")
	p1 := start(t, h1, "-priority", "150", "-unhealthy-file", unhealthy)
	start(t, h2, "-priority", "100")

	awaitAnswer(t, client, "h1")
	if listening(t, h2) || hasVIP(t, h2) {
		t.Error("the backup listens on or holds the VIP")
	}

	// h1 turns unhealthy.
	if err := os.WriteFile(unhealthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	awaitAnswer(t, client, "h2")
	if listening(t, h1) || hasVIP(t, h1) {
		t.Error("the unhealthy h1 still listens on or holds the VIP")
	}
	stopped := regexp.MustCompile(`Stopped serving on the VIPs`).FindStringIndex(p1.log())
	if stopped == nil {
		t.Fatalf("h1 never said it stopped serving")
	}

	// Healthy again: h1 (150) takes the VIP back.
	if err := os.Remove(unhealthy); err != nil {
		t.Fatal(err)
	}
	awaitAnswer(t, client, "h1")
	if !listening(t, h1) || listening(t, h2) {
		t.Errorf("listeners: h1 %v, h2 %v; want h1 only", listening(t, h1), listening(t, h2))
	}

	// h1 stops: priority 0, h2 answers.
	p1.stop()
	awaitAnswer(t, client, "h2")
	if hasVIP(t, h1) {
		t.Error("h1 left the VIP behind")
	}
}

// TestServesBesideKeepalived: httpvip and keepalived (VRRPv3, as httpvip
// speaks by default) in one group: httpvip answers on the VIP while it is
// master; unhealthy, it hands the VIP to keepalived (which serves
// nothing), and takes it back when healthy again.
func TestServesBesideKeepalived(t *testing.T) {
	ka := netlab.NeedTool(t, "keepalived", "as the other router of the group")
	lab := netlab.New(t, 3)
	h1, h2, client := lab.Host(1), lab.Host(2), lab.Host(3)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(`global_defs {
  vrrp_version 3
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 0.1
  virtual_ipaddress {
    `+vipText+`
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	k := h2.Command(context.Background(), ka, "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	var kout bytes.Buffer
	var kmu sync.Mutex
	k.Stdout = writerFunc(func(b []byte) (int, error) { kmu.Lock(); defer kmu.Unlock(); return kout.Write(b) })
	k.Stderr = k.Stdout
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-k.Process.Pid, syscall.SIGKILL)
		_ = k.Wait()
		if t.Failed() {
			kmu.Lock()
			t.Logf("--- keepalived logged:\n%s", kout.String())
			kmu.Unlock()
		}
	})
	unhealthy := filepath.Join(dir, "unhealthy")
	start(t, h1, "-priority", "150", "-unhealthy-file", unhealthy)
	awaitAnswer(t, client, "h1")
	if hasVIP(t, h2) {
		t.Error("keepalived holds the VIP too")
	}

	if err := os.WriteFile(unhealthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	awaitAnswer(t, client, "") // keepalived has the address, nothing serves on it
	until(t, "keepalived holds the VIP", func() bool { return hasVIP(t, h2) })
	if listening(t, h1) || hasVIP(t, h1) {
		t.Error("the unhealthy httpvip still listens on or holds the VIP")
	}

	if err := os.Remove(unhealthy); err != nil {
		t.Fatal(err)
	}
	awaitAnswer(t, client, "h1")
	if hasVIP(t, h2) {
		t.Error("keepalived kept the VIP after httpvip took it back")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
