package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// The lab tests run vrrpd as a process in a lab host, next to Debian's
// keepalived: the test binary re-executes itself as the daemon (daemonEnv
// set), so the daemon under test is this package's code, built with the
// test's flags (-race included).

const daemonEnv = "VRRPD_TEST_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	if os.Getenv(pidHelperEnv) == "1" {
		_, _ = os.Stdin.Read(make([]byte, 1))
		os.Exit(0)
	}
	// The labs here assert takeover timing: they wait for other
	// packages' labs before the test timeout starts.
	os.Exit(netlab.Main(m))
}

// labCase is one lab scenario.
type labCase struct {
	name string
	fn   func(t *testing.T)
}

// concurrently runs the cases as subtests at the same time, each in its
// own lab. They mostly wait on protocol timers, so they do not contend for
// the machine's two cores; t.Parallel would run only -parallel (GOMAXPROCS)
// of them at once.
func concurrently(t *testing.T, cases []labCase) {
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(c.name, c.fn)
		}()
	}
	wg.Wait()
}

// needKeepalived skips a test that runs Debian's keepalived (2.2.7) when it
// is not installed, and fails it under VRRPKIT_REQUIRE_NETNS=1.
func needKeepalived(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		reason := "keepalived is not installed (Debian's package keepalived)"
		if os.Getenv(netlab.RequireEnv) == "1" {
			t.Fatalf("%s, and %s=1 forbids skipping", reason, netlab.RequireEnv)
		}
		t.Skip(reason + "; skipping")
	}
}

// waitTimeout bounds every wait for something observable in the lab.
const waitTimeout = 20 * time.Second

// lineLog collects a process's output as lines and lets a test wait for a
// line.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{}
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// mark is the number of lines so far: wait from there for what comes next.
func (l *lineLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// grep returns the lines from index from on that match re.
func (l *lineLog) grep(from int, re *regexp.Regexp) []string {
	var out []string
	for i, line := range l.all() {
		if i >= from && re.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// waitFor waits for a line from index from on matching re.
func (l *lineLog) waitFor(from int, re *regexp.Regexp) (string, error) {
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if re.MatchString(l.lines[i]) {
				line := l.lines[i]
				l.mu.Unlock()
				return line, nil
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return "", fmt.Errorf("no line matching %q within %v", re, waitTimeout)
		}
	}
}

// proc is a daemon running in a lab host.
type proc struct {
	t      *testing.T
	name   string // "vrrpd@h1"
	host   *netlab.Host
	cmd    *exec.Cmd
	log    *lineLog
	dir    string
	exited chan struct{}
	state  *os.ProcessState
}

// labDaemon starts daemons in a lab and keeps their logs for the test's
// failure report.
type labDaemon struct {
	t    *testing.T
	lab  *netlab.Lab
	mu   sync.Mutex
	logs []*proc
}

func newLabDaemon(t *testing.T, lab *netlab.Lab) *labDaemon {
	ld := &labDaemon{t: t, lab: lab}
	t.Cleanup(func() {
		ld.mu.Lock()
		defer ld.mu.Unlock()
		for _, p := range ld.logs {
			select {
			case <-p.exited:
			default:
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.exited
			}
			lines := p.log.all()
			for _, line := range lines {
				if strings.Contains(line, "DATA RACE") {
					t.Errorf("%s: the race detector reported a data race", p.name)
					break
				}
			}
			if t.Failed() {
				t.Logf("--- %s logged (adverts sent and received left out):\n%s", p.name, tailLines(withoutPackets(lines), 120))
			}
		}
	})
	return ld
}

var packetLine = regexp.MustCompile(`\) (sent|received) from `)

func withoutPackets(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !packetLine.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

func tailLines(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeConf writes a configuration file in dir.
func writeConf(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (ld *labDaemon) start(name string, h *netlab.Host, dir string, cmd *exec.Cmd) *proc {
	ld.t.Helper()
	p := &proc{t: ld.t, name: name, host: h, cmd: cmd, log: newLineLog(), dir: dir, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		ld.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	ld.mu.Lock()
	ld.logs = append(ld.logs, p)
	ld.mu.Unlock()
	return p
}

// vrrpd starts this package's daemon in h with configuration text, with
// -D (so that every dropped packet would be logged) and a status socket.
func (ld *labDaemon) vrrpd(h *netlab.Host, dir, text string, extra ...string) *proc {
	ld.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		ld.t.Fatal(err)
	}
	cfg := writeConf(ld.t, dir, "vrrpd.conf", text)
	args := append([]string{"-n", "-l", "-D", "-f", cfg, "-p", filepath.Join(dir, "vrrpd.pid"),
		"--status", "unix:" + filepath.Join(dir, "status.sock"), "--notify-timeout", "5s"}, extra...)
	cmd := h.Command(context.Background(), exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	return ld.start("vrrpd@"+h.Name, h, dir, cmd)
}

// keepalived starts Debian's keepalived in h with configuration text, as
// the issue runs it. Each start gets a directory of its own: keepalived
// refuses to start over the pid files of a killed run.
func (ld *labDaemon) keepalived(h *netlab.Host, text string) *proc {
	ld.t.Helper()
	netlab.NeedTool(ld.t, "keepalived", "as the peer vrrpd runs beside")
	dir := ld.t.TempDir()
	cfg := writeConf(ld.t, dir, "keepalived.conf", text)
	cmd := h.Command(context.Background(), "keepalived", "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"-f", cfg, "-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	return ld.start("keepalived@"+h.Name, h, dir, cmd)
}

// kill sends SIGKILL to the daemon's process group (keepalived's VRRP child
// too) and waits for it to die.
func (p *proc) kill() time.Time {
	p.t.Helper()
	at := time.Now()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.exited
	return at
}

// terminate sends SIGTERM and waits for a clean exit.
func (p *proc) terminate() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(waitTimeout):
		p.t.Fatalf("%s did not exit within %v of SIGTERM", p.name, waitTimeout)
	}
	if !p.state.Success() {
		p.t.Errorf("%s exited with %v after SIGTERM", p.name, p.state)
	}
}

// await waits for a log line from mark on.
func (p *proc) await(mark int, pattern string) string {
	p.t.Helper()
	line, err := p.log.waitFor(mark, regexp.MustCompile(pattern))
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return line
}

// status asks a vrrpd for its status.
func (p *proc) status() *Status {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := fetchStatus(ctx, "unix:"+filepath.Join(p.dir, "status.sock"))
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return st
}

// awaitStatus waits until cond holds for the vrrpd's status.
func (p *proc) awaitStatus(what string, cond func(*Status) bool) *Status {
	p.t.Helper()
	var last *Status
	err := poll(func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := fetchStatus(ctx, "unix:"+filepath.Join(p.dir, "status.sock"))
		if err != nil {
			return false
		}
		last = st
		return cond(st)
	})
	if err != nil {
		p.t.Fatalf("%s: %s: %v; last status %+v", p.name, what, err, last)
	}
	return last
}

// instanceStatus finds an instance in a status.
func instanceStatus(st *Status, name string) *InstanceStatus {
	for i := range st.Instances {
		if st.Instances[i].Name == name {
			return &st.Instances[i]
		}
	}
	return nil
}

func inState(name, state string) func(*Status) bool {
	return func(st *Status) bool {
		in := instanceStatus(st, name)
		return in != nil && in.State == state
	}
}

// poll checks cond every 10 ms until it holds or waitTimeout passes.
func poll(cond func() bool) error {
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", waitTimeout)
		}
		<-tick.C
	}
	return nil
}

// holders returns which of hosts have vip on their eth0.
func holders(t *testing.T, vip netip.Prefix, hosts ...*netlab.Host) []string {
	t.Helper()
	var out []string
	for _, h := range hosts {
		o, err := h.Run("ip", "-o", "addr", "show", "dev", h.Ifname)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(o, " "+vip.String()+" ") {
			out = append(out, h.Name)
		}
	}
	return out
}

// awaitHolders waits until exactly the hosts named in want (among hosts)
// have every one of vips.
func awaitHolders(t *testing.T, vips []netip.Prefix, want []string, hosts ...*netlab.Host) {
	t.Helper()
	var got map[netip.Prefix][]string
	err := poll(func() bool {
		got = make(map[netip.Prefix][]string)
		ok := true
		for _, v := range vips {
			got[v] = holders(t, v, hosts...)
			if !slices.Equal(got[v], want) {
				ok = false
			}
		}
		return ok
	})
	if err != nil {
		t.Fatalf("VIPs held by %v, want each on exactly %v: %v", got, want, err)
	}
}

// wire is what the tests read off captured frames.
type wireFrame struct {
	time   time.Time
	srcMAC net.HardwareAddr

	// A VRRP advert (plain, or inside IPsec AH).
	vrrp     bool
	ah       bool
	src      netip.Addr
	vrid     uint8
	priority uint8
	naddr    int // the advert's address count

	// A gratuitous ARP (sender = target) or an unsolicited neighbour
	// advertisement: the address announced.
	announced netip.Addr
}

// parseWire reads what the tests need from an Ethernet frame.
func parseWire(f netlab.Frame) (wireFrame, bool) {
	d := f.Data
	if len(d) < 14 {
		return wireFrame{}, false
	}
	w := wireFrame{time: f.Time, srcMAC: net.HardwareAddr(d[6:12])}
	switch binary.BigEndian.Uint16(d[12:14]) {
	case 0x0806: // ARP
		a := d[14:]
		if len(a) < 28 || binary.BigEndian.Uint16(a[6:8]) != 1 {
			return wireFrame{}, false
		}
		spa, tpa := netip.AddrFrom4([4]byte(a[14:18])), netip.AddrFrom4([4]byte(a[24:28]))
		if spa != tpa {
			return wireFrame{}, false
		}
		w.announced = spa
		return w, true
	case 0x0800:
		ip := d[14:]
		if len(ip) < 20 {
			return wireFrame{}, false
		}
		ihl := int(ip[0]&0x0f) * 4
		w.src = netip.AddrFrom4([4]byte(ip[12:16]))
		proto, payload := ip[9], ip[min(ihl, len(ip)):]
		if proto == 51 && len(payload) >= 24 {
			w.ah = true
			proto, payload = payload[0], payload[(int(payload[1])+2)*4:]
		}
		if proto != 112 || len(payload) < 4 {
			return wireFrame{}, false
		}
		w.vrrp, w.vrid, w.priority, w.naddr = true, payload[1], payload[2], int(payload[3])
		return w, true
	case 0x86dd:
		ip := d[14:]
		if len(ip) < 40 {
			return wireFrame{}, false
		}
		w.src = netip.AddrFrom16([16]byte(ip[8:24]))
		payload := ip[40:]
		switch ip[6] {
		case 112:
			if len(payload) < 4 {
				return wireFrame{}, false
			}
			w.vrrp, w.vrid, w.priority, w.naddr = true, payload[1], payload[2], int(payload[3])
			return w, true
		case 58: // ICMPv6: a neighbour advertisement
			if len(payload) < 24 || payload[0] != 136 {
				return wireFrame{}, false
			}
			w.announced = netip.AddrFrom16([16]byte(payload[8:24]))
			return w, true
		}
	}
	return wireFrame{}, false
}

func wireFrames(c *netlab.Capture) []wireFrame {
	var out []wireFrame
	for _, f := range c.Frames() {
		if w, ok := parseWire(f); ok {
			out = append(out, w)
		}
	}
	return out
}

// lastAdvert is the last advert from mac for vrid (with priority > 0
// unless zero is true) before t.
func lastAdvert(ws []wireFrame, mac net.HardwareAddr, vrid uint8, before time.Time, zero bool) (wireFrame, bool) {
	var last wireFrame
	found := false
	for _, w := range ws {
		if w.vrrp && w.vrid == vrid && bytes.Equal(w.srcMAC, mac) && (w.priority == 0) == zero && w.time.Before(before) {
			last, found = w, true
		}
	}
	return last, found
}

// awaitAdvert waits for a captured VRRP advert that match accepts and
// returns it; what names it in the failure.
func awaitAdvert(t *testing.T, c *netlab.Capture, what string, match func(w wireFrame) bool) wireFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f, err := c.WaitFor(ctx, func(f netlab.Frame) bool {
		w, ok := parseWire(f)
		return ok && w.vrrp && match(w)
	})
	if err != nil {
		t.Fatalf("no %s: %v", what, err)
	}
	w, _ := parseWire(f)
	return w
}

// awaitFirstAdvert waits for the first advert with priority > 0 from mac
// for vrid after t.
func awaitFirstAdvert(t *testing.T, c *netlab.Capture, mac net.HardwareAddr, vrid uint8, after time.Time) wireFrame {
	t.Helper()
	return awaitAdvert(t, c, fmt.Sprintf("advert for VRID %d from %s after %s", vrid, mac, after.Format(time.StampMicro)), func(w wireFrame) bool {
		return w.vrid == vrid && w.priority > 0 && bytes.Equal(w.srcMAC, mac) && w.time.After(after)
	})
}

// awaitZeroAdvert waits for a priority-0 advert from mac for vrid after t.
func awaitZeroAdvert(t *testing.T, c *netlab.Capture, mac net.HardwareAddr, vrid uint8, after time.Time) wireFrame {
	t.Helper()
	return awaitAdvert(t, c, fmt.Sprintf("priority-0 advert for VRID %d from %s after %s", vrid, mac, after.Format(time.StampMicro)), func(w wireFrame) bool {
		return w.vrid == vrid && w.priority == 0 && bytes.Equal(w.srcMAC, mac) && w.time.After(after)
	})
}

// awaitAnnounced waits until mac announced every one of addrs (gratuitous
// ARP or unsolicited NA) after t.
func awaitAnnounced(t *testing.T, c *netlab.Capture, mac net.HardwareAddr, addrs []netip.Addr, after time.Time) {
	t.Helper()
	for _, a := range addrs {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		_, err := c.WaitFor(ctx, func(f netlab.Frame) bool {
			w, ok := parseWire(f)
			return ok && w.announced == a && bytes.Equal(w.srcMAC, mac) && !w.time.Before(after)
		})
		cancel()
		if err != nil {
			t.Fatalf("%s never announced %s after %s: %v", mac, a, after.Format(time.StampMicro), err)
		}
	}
}

// savePcap keeps the capture of a failed test.
func savePcap(t *testing.T, c *netlab.Capture) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dir := os.Getenv("VRRPD_TEST_ARTIFACTS")
		if dir == "" {
			dir = os.TempDir()
		}
		p := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".pcap")
		if err := c.WritePcap(p); err == nil {
			t.Logf("capture saved to %s", p)
		}
	})
}
