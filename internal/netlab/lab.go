package netlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// RequireEnv is the environment variable that turns a missing privilege
// into a test failure instead of a skip (CI sets it).
const RequireEnv = "VRRPKIT_REQUIRE_NETNS"

// Names of the bridge and its ports in the switch namespace, and of the
// hosts' interface. Interface names live inside their namespaces, so they
// are the same in every lab.
const (
	bridgeName = "br0"
	hostIfname = "eth0"
)

// readyTimeout bounds how long New waits for every host's addresses to
// become usable.
const readyTimeout = 10 * time.Second

// labSeq makes namespace names unique within the process; the pid makes
// them unique between processes.
var labSeq atomic.Uint64

// TB is the part of testing.TB a lab uses. Tests pass their *testing.T or
// *testing.B; a program (examples/demo) passes its own, whose Fatalf runs
// the cleanups before it exits.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
}

// Lab is a switch namespace with a bridge and hosts attached to it.
type Lab struct {
	t      TB
	prefix string // unique per lab: "vk<pid>-<seq>"
	sw     string // switch namespace
	hosts  []*Host

	mu       sync.Mutex
	cmds     []*exec.Cmd
	captures []*Capture
	created  []string // namespaces created so far, deleted at cleanup
}

// Host is one namespace of a lab with eth0 on the bridge.
type Host struct {
	Index     int
	Name      string           // "h1"
	Namespace string           // the netns name (for `ip netns exec`)
	Ifname    string           // "eth0"
	IPv4      netip.Addr       // 10.0.0.i
	IPv6      netip.Addr       // fd00::i
	LinkLocal netip.Addr       // fe80::... of eth0
	MAC       net.HardwareAddr // eth0's MAC

	lab  *Lab
	port string // the bridge-side end of the host's veth, in the switch namespace
}

// New builds a lab: a switch namespace with a bridge, and n hosts (1..n), each a
// namespace with eth0 = one end of a veth pair whose other end is a port of the
// bridge. Host i has 10.0.0.i/24, fd00::i/64 (nodad) and its link-local address,
// lo up, eth0 up; IPv6 DAD off on eth0 so addresses are usable at once.
// Without root (CAP_NET_ADMIN/CAP_NET_RAW) it calls t.Skip with the reason, unless
// VRRPKIT_REQUIRE_NETNS=1, where it calls t.Fatal. Everything it creates (namespaces,
// links, processes started through Host.Command, captures) is torn down in t.Cleanup,
// also when the test fails. Namespace names carry a unique prefix so labs in
// parallel tests and processes never collide. The first lab of a process waits
// for the labs of other processes to finish (see Main).
func New(t TB, n int) *Lab {
	t.Helper()
	if n < 1 || n > 250 {
		t.Fatalf("netlab: %d hosts: want 1..250", n)
	}
	if reason := missingPrivilege(); reason != "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("netlab: %s (and %s=1 forbids skipping)", reason, RequireEnv)
		}
		t.Skipf("netlab: %s; skipping (set %s=1 to fail instead)", reason, RequireEnv)
	}
	if err := holdLabLock(); err != nil {
		t.Fatalf("netlab: %v", err)
	}
	l := &Lab{
		t:      t,
		prefix: fmt.Sprintf("vk%d-%d", os.Getpid(), labSeq.Add(1)),
	}
	l.sw = l.prefix + "-sw"
	t.Cleanup(l.teardown)
	if err := l.build(n); err != nil {
		t.Fatalf("netlab: %v", err)
	}
	return l
}

// Host returns host i (1-based).
func (l *Lab) Host(i int) *Host {
	if i < 1 || i > len(l.hosts) {
		l.t.Fatalf("netlab: no host %d in a lab of %d", i, len(l.hosts))
	}
	return l.hosts[i-1]
}

// Hosts returns all hosts, host 1 first.
func (l *Lab) Hosts() []*Host { return append([]*Host(nil), l.hosts...) }

// SwitchNamespace is the name of the namespace holding the bridge.
func (l *Lab) SwitchNamespace() string { return l.sw }

// Prefix is the unique prefix of every namespace name of the lab.
func (l *Lab) Prefix() string { return l.prefix }

// missingPrivilege says what is missing to build a lab, or "".
func missingPrivilege() string {
	if runtime.GOOS != "linux" {
		return "network namespaces need Linux"
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Sprintf("cannot read capabilities: %v", err)
	}
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_NET_RAW, "CAP_NET_RAW"}, {unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}} {
		if data[c.bit/32].Effective&(1<<(c.bit%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("needs root (missing %s)", strings.Join(missing, ", "))
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "needs the ip command (iproute2)"
	}
	return ""
}

func (l *Lab) build(n int) error {
	names := []string{l.sw}
	for i := 1; i <= n; i++ {
		h := &Host{
			Index:     i,
			Name:      fmt.Sprintf("h%d", i),
			Namespace: fmt.Sprintf("%s-h%d", l.prefix, i),
			Ifname:    hostIfname,
			IPv4:      netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}),
			IPv6:      netip.AddrFrom16([16]byte{0xfd, 15: byte(i)}),
			MAC:       net.HardwareAddr{0x02, 0, 0, 0, 0, byte(i)},
			lab:       l,
			port:      fmt.Sprintf("p%d", i),
		}
		l.hosts = append(l.hosts, h)
		names = append(names, h.Namespace)
	}
	for _, ns := range names {
		if err := l.addNamespace(ns); err != nil {
			return err
		}
	}

	// The switch forwards frames and nothing else: no IPv6 on the bridge
	// or its ports, so captures hold only what the hosts send.
	if err := setSysctls(l.sw, map[string]string{
		"net/ipv6/conf/all/disable_ipv6":     "1",
		"net/ipv6/conf/default/disable_ipv6": "1",
	}); err != nil {
		return err
	}
	// A switch does not run the IP firewall on the frames it forwards:
	// with br_netfilter in the kernel, a new namespace's bridge would, and
	// the hooks cost more per frame than the bridge itself, paid inside
	// every sender's system call. Without br_netfilter there is nothing
	// to turn off.
	if err := setSysctlsIfPresent(l.sw, map[string]string{
		"net/bridge/bridge-nf-call-iptables":  "0",
		"net/bridge/bridge-nf-call-ip6tables": "0",
		"net/bridge/bridge-nf-call-arptables": "0",
	}); err != nil {
		return err
	}
	for _, h := range l.hosts {
		// Set before eth0 exists, so that it is born with them: the kernel
		// skips DAD only when both "all" and the interface say so.
		if err := setSysctls(h.Namespace, map[string]string{
			"net/ipv6/conf/all/accept_dad":               "0",
			"net/ipv6/conf/default/accept_dad":           "0",
			"net/ipv6/conf/default/router_solicitations": "0",
		}); err != nil {
			return err
		}
	}

	// Multicast snooping off: VRRP's groups must reach every port even
	// though nobody sends IGMP/MLD queries. STP off: ports forward at once.
	var sw bytes.Buffer
	fmt.Fprintf(&sw, "link add %s type bridge mcast_snooping 0 stp_state 0\n", bridgeName)
	fmt.Fprintf(&sw, "link set %s up\n", bridgeName)
	for _, h := range l.hosts {
		// Both ends are created directly in their namespaces: nothing ever
		// appears in the namespace the test runs in.
		fmt.Fprintf(&sw, "link add %s type veth peer name %s netns %s\n", h.port, h.Ifname, h.Namespace)
		fmt.Fprintf(&sw, "link set %s master %s\n", h.port, bridgeName)
		fmt.Fprintf(&sw, "link set %s up\n", h.port)
	}
	if err := ipBatch(l.sw, sw.String()); err != nil {
		return err
	}
	for _, h := range l.hosts {
		var b bytes.Buffer
		fmt.Fprintf(&b, "link set lo up\n")
		fmt.Fprintf(&b, "link set %s address %s\n", h.Ifname, h.MAC)
		fmt.Fprintf(&b, "addr add %s/24 dev %s\n", h.IPv4, h.Ifname)
		fmt.Fprintf(&b, "addr add %s/64 dev %s nodad\n", h.IPv6, h.Ifname)
		fmt.Fprintf(&b, "link set %s up\n", h.Ifname)
		if err := ipBatch(h.Namespace, b.String()); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for _, h := range l.hosts {
		if err := h.waitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// addNamespace creates a namespace. A namespace of that name can only be
// left over from a crashed process that had our pid (the pid is part of the
// name, and this process never used the name): it is removed first.
func (l *Lab) addNamespace(ns string) error {
	if _, err := os.Stat("/run/netns/" + ns); err == nil {
		_, _ = run("ip", "netns", "delete", ns)
	}
	if _, err := run("ip", "netns", "add", ns); err != nil {
		return err
	}
	l.mu.Lock()
	l.created = append(l.created, ns)
	l.mu.Unlock()
	return nil
}

// waitReady waits until eth0 has carrier and its link-local and fd00::i
// addresses are usable (not tentative).
func (h *Host) waitReady(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		st, err := h.ifState()
		if err == nil {
			if st.ready(h.IPv6) {
				h.LinkLocal = st.linkLocal
				return nil
			}
			last = st.String()
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s not ready: %s", h.Name, h.Ifname, last)
		case <-tick.C:
		}
	}
}

type ifState struct {
	operstate string
	linkLocal netip.Addr
	tentative []netip.Addr
	global    []netip.Addr
}

func (s ifState) ready(global netip.Addr) bool {
	if s.operstate != "UP" || !s.linkLocal.IsValid() || len(s.tentative) > 0 {
		return false
	}
	for _, a := range s.global {
		if a == global {
			return true
		}
	}
	return false
}

func (s ifState) String() string {
	return fmt.Sprintf("operstate %s, link-local %v, tentative %v, global %v", s.operstate, s.linkLocal, s.tentative, s.global)
}

func (h *Host) ifState() (ifState, error) {
	out, err := run("ip", "-n", h.Namespace, "-j", "addr", "show", "dev", h.Ifname)
	if err != nil {
		return ifState{}, err
	}
	var links []struct {
		Operstate string `json:"operstate"`
		AddrInfo  []struct {
			Family    string `json:"family"`
			Local     string `json:"local"`
			Scope     string `json:"scope"`
			Tentative bool   `json:"tentative"`
			DADFailed bool   `json:"dadfailed"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return ifState{}, fmt.Errorf("ip -j addr: %w", err)
	}
	if len(links) != 1 {
		return ifState{}, fmt.Errorf("ip -j addr: %d links", len(links))
	}
	var st ifState
	st.operstate = links[0].Operstate
	for _, ai := range links[0].AddrInfo {
		if ai.Family != "inet6" {
			continue
		}
		a, err := netip.ParseAddr(ai.Local)
		if err != nil {
			return ifState{}, err
		}
		switch {
		case ai.Tentative || ai.DADFailed:
			st.tentative = append(st.tentative, a)
		case a.IsLinkLocalUnicast():
			st.linkLocal = a
		default:
			st.global = append(st.global, a)
		}
	}
	return st, nil
}

// Do runs fn on a goroutine locked to an OS thread that is in the host's
// namespace, and returns fn's error. Sockets and netlink connections opened in fn
// stay in the namespace afterwards; goroutines started by fn do NOT run in it.
func (h *Host) Do(fn func() error) error { return inNamespace(h.Namespace, fn) }

// Do runs fn in the switch namespace, like Host.Do.
func (l *Lab) Do(fn func() error) error { return inNamespace(l.sw, fn) }

// Command returns an exec.Cmd that runs name with args inside the host's
// namespace (`ip netns exec <ns> name args...`). If started, the lab kills it
// (SIGKILL to its process group) at cleanup if it still runs. Cancelling ctx
// kills the process group too.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Namespace, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	h.lab.mu.Lock()
	h.lab.cmds = append(h.lab.cmds, cmd)
	h.lab.mu.Unlock()
	return cmd
}

// Run runs a command in the host's namespace and returns its combined output;
// the error includes the output.
func (h *Host) Run(name string, args ...string) (string, error) {
	return run("ip", append([]string{"netns", "exec", h.Namespace, name}, args...)...)
}

// LinkDown cuts the host off the bridge (the bridge-side veth goes down, so the
// host's eth0 loses carrier); LinkUp restores it.
func (h *Host) LinkDown() error {
	_, err := run("ip", "-n", h.lab.sw, "link", "set", h.port, "down")
	return err
}

// LinkUp restores a link cut by LinkDown.
func (h *Host) LinkUp() error {
	_, err := run("ip", "-n", h.lab.sw, "link", "set", h.port, "up")
	return err
}

func (l *Lab) teardown() {
	l.mu.Lock()
	caps, cmds, created := l.captures, l.cmds, l.created
	l.captures, l.cmds, l.created = nil, nil, nil
	l.mu.Unlock()
	for _, c := range caps {
		c.Stop()
	}
	for _, cmd := range cmds {
		if cmd.Process != nil && cmd.ProcessState == nil {
			// The group: keepalived and friends fork children.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	if len(created) == 0 {
		return
	}
	var b bytes.Buffer
	for _, ns := range created {
		fmt.Fprintf(&b, "netns delete %s\n", ns)
	}
	if err := ipBatchForce(b.String()); err != nil {
		l.t.Errorf("netlab: cleanup: %v", err)
	}
}

// run runs a command and returns its combined output; the error includes it.
func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// ipBatch runs ip commands (one per line) in namespace ns, stopping at the
// first failure.
func ipBatch(ns, cmds string) error {
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(cmds)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %w: %s\ncommands:\n%s", ns, err, bytes.TrimSpace(out), cmds)
	}
	return nil
}

// ipBatchForce runs every line even when some fail.
func ipBatchForce(cmds string) error {
	cmd := exec.Command("ip", "-force", "-batch", "-")
	cmd.Stdin = strings.NewReader(cmds)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -batch: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// setSysctls writes sysctls (paths below /proc/sys) in namespace ns. The
// files under /proc/sys/net belong to the namespace of the thread that
// opens them.
func setSysctls(ns string, kv map[string]string) error {
	return writeSysctls(ns, kv, false)
}

// setSysctlsIfPresent is setSysctls for keys that exist only with some
// kernel module loaded: a key that is not there is skipped.
func setSysctlsIfPresent(ns string, kv map[string]string) error {
	return writeSysctls(ns, kv, true)
}

func writeSysctls(ns string, kv map[string]string, skipMissing bool) error {
	return inNamespace(ns, func() error {
		for k, v := range kv {
			err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644)
			if err != nil && !(skipMissing && errors.Is(err, fs.ErrNotExist)) {
				return fmt.Errorf("netlab: sysctl %s=%s in %s: %w", k, v, ns, err)
			}
		}
		return nil
	})
}

// inNamespace runs fn on a fresh goroutine locked to a thread that has
// entered the named namespace, and moves the thread back afterwards. A
// thread that cannot move back stays locked, so the runtime retires it
// with its goroutine instead of reusing it elsewhere.
func inNamespace(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netlab: open namespace %s: %w", ns, err)
			return
		}
		defer target.Close()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netlab: open current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netlab: enter namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netlab: leave namespace %s: %w", ns, err))
			return // thread stays locked: it dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
