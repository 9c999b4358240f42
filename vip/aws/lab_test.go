package aws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/ec2fake"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Deadlines of the lab's waits: they bound how long a broken run takes
// to fail, and claim nothing about speed.
const (
	labReady = 30 * time.Second
	labWait  = 30 * time.Second
)

// cloudLab is three lab hosts: routers on h1 and h2 (instances i-1 and
// i-2, whose ENIs have the hosts' MAC addresses), and the fake EC2
// endpoint and metadata service on h3, so that all traffic stays in the
// lab.
type cloudLab struct {
	t    testing.TB
	lab  *netlab.Lab
	ec2  *ec2fake.Server
	urls [2]string // EC2, metadata
}

var labVIP = netip.MustParseAddr("10.0.0.100")

func newCloudLab(t testing.TB) *cloudLab {
	t.Helper()
	lab := netlab.New(t, 3)
	f := ec2fake.New(region)
	subnet := netip.MustParsePrefix("10.0.0.0/24")
	for i := 1; i <= 2; i++ {
		h := lab.Host(i)
		f.AddInstance(ec2fake.Instance{ID: fmt.Sprintf("i-%d", i), Source: h.IPv4, Role: "vrrp"},
			ec2fake.ENI{ID: fmt.Sprintf("eni-%d", i), MAC: h.MAC.String(), Subnet: subnet, Primary: h.IPv4, SourceDestCheck: true})
	}
	cl := &cloudLab{t: t, lab: lab, ec2: f}
	for i, hd := range []http.Handler{f.Handler(), f.IMDS()} {
		var ln net.Listener
		err := lab.Host(3).Do(func() (err error) {
			ln, err = net.Listen("tcp", lab.Host(3).IPv4.String()+":0")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: hd}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		cl.urls[i] = "http://" + ln.Addr().String()
	}
	return cl
}

// spec is router i's: VRID 51 on eth0, VIP 10.0.0.100/24, VRRPv3 with
// the given interval.
func (cl *cloudLab) spec(i int, prio int, interval time.Duration) labSpec {
	return labSpec{
		Config: vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Priority: prio, Interval: interval,
			VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}},
		EC2: cl.urls[0], IMDS: cl.urls[1],
		AcquireTimeout: 30 * time.Second, CallTimeout: 10 * time.Second, Reassert: 500 * time.Millisecond,
		RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond,
	}
}

// labProc is one router process in a lab host.
type labProc struct {
	t     testing.TB
	name  string
	proc  *os.Process
	stdin io.WriteCloser

	mu      sync.Mutex
	reports []labReport
	notify  chan struct{}
	stderr  bytes.Buffer
	exited  chan struct{}
}

func (cl *cloudLab) start(i int, s labSpec) *labProc {
	t := cl.t
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	h := cl.lab.Host(i)
	cmd := h.Command(context.Background(), os.Args[0])
	cmd.Env = append(cleanEnv(), envRouter+"="+string(raw),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+cl.urls[1], "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	p := &labProc{t: t, name: h.Name, notify: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stderr = &lockedBuffer{mu: &p.mu, b: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.proc = cmd.Process
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r labReport
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue
			}
			p.mu.Lock()
			p.reports = append(p.reports, r)
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.mu.Lock()
			lines := strings.Split(p.stderr.String(), "\n")
			p.mu.Unlock()
			t.Logf("%s log, last lines:\n%s", p.name, strings.Join(lines[max(0, len(lines)-60):], "\n"))
		}
	})
	p.wait("ready", func(r labReport) bool { return r.Kind == "ready" }, labReady)
	return p
}

// cleanEnv is the environment without AWS settings, so that the router
// finds its credentials and region through the metadata service.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
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

func (p *labProc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, line, err)
	}
}

func (p *labProc) kill() {
	select {
	case <-p.exited:
	default:
		syscall.Kill(-p.proc.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// wait waits for a report that matches, and returns its index.
func (p *labProc) wait(what string, match func(labReport) bool, timeout time.Duration) int {
	p.t.Helper()
	return p.waitFrom(0, what, match, timeout)
}

func (p *labProc) waitFrom(from int, what string, match func(labReport) bool, timeout time.Duration) int {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		reports, notify := p.reports, p.notify
		p.mu.Unlock()
		for i := from; i < len(reports); i++ {
			if match(reports[i]) {
				return i
			}
		}
		select {
		case <-notify:
		case <-p.exited:
			p.t.Fatalf("%s exited before %s", p.name, what)
		case <-deadline.C:
			p.t.Fatalf("%s: no %s within %v", p.name, what, timeout)
		}
	}
}

func (p *labProc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reports)
}

// state is the last state the router reported.
func (p *labProc) state() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.reports) - 1; i >= 0; i-- {
		if p.reports[i].Kind == vrrp.EventState.String() {
			return p.reports[i].To
		}
	}
	return ""
}

func (p *labProc) entered(st string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.reports {
		if r.Kind == vrrp.EventState.String() && r.To == st {
			n++
		}
	}
	return n
}

func (p *labProc) waitState(from int, st string) int {
	p.t.Helper()
	return p.waitFrom(from, "entry into "+st, func(r labReport) bool { return r.Kind == vrrp.EventState.String() && r.To == st }, labWait)
}

// stats asks for the cloud backend's counters.
func (p *labProc) stats() cloud.Stats {
	p.t.Helper()
	from := p.mark()
	p.send("stats")
	i := p.waitFrom(from, "stats", func(r labReport) bool { return r.Kind == "stats" }, labWait)
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.reports[i].Cloud
}

// waitIdle waits until the backend holds what the router's state says,
// with no call running or coming, and returns its counters.
func (p *labProc) waitIdle() cloud.Stats {
	p.t.Helper()
	deadline := time.Now().Add(2 * labWait)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	quietCalls, quietSince := uint64(0), time.Now()
	for {
		s := p.stats()
		masters, backups := uint64(p.entered("MASTER")), uint64(p.entered("BACKUP"))
		// A Release supersedes the acquisition before it: vrrp cancels an
		// Acquire still running (vip.Multi then undoes what it did, one
		// Release more) and drops one not started. So: at most an
		// Acquire per entry into MASTER, at least a Release per entry into
		// BACKUP, and done once the holder matches the state with nothing
		// running and no call made for a while.
		held := len(s.Holding) > 0
		st := p.state()
		calls := s.Acquires + s.Releases
		if s.Acquires <= masters && s.Releases >= backups && s.InFlight == 0 && st != "" && held == (st == "MASTER") {
			if calls == quietCalls && time.Since(quietSince) >= 300*time.Millisecond {
				return s
			}
			if calls != quietCalls {
				quietCalls, quietSince = calls, time.Now()
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: backend not idle within %v: %d acquires for %d masters, %d releases for %d backups, %d in flight",
				p.name, 2*labWait, s.Acquires, masters, s.Releases, backups, s.InFlight)
		}
		<-poll.C
	}
}

func (cl *cloudLab) waitEC2(what string, cond func([]ec2fake.Request) bool) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), labWait)
	defer cancel()
	if err := cl.ec2.Wait(ctx, cond); err != nil {
		cl.t.Fatalf("not %s within %v; requests:\n%s", what, labWait, cl.describe(0))
	}
}

func (cl *cloudLab) describe(from int) string {
	var b strings.Builder
	for _, r := range cl.ec2.Requests()[from:] {
		fmt.Fprintf(&b, "  %s %s %s %s err=%q canceled=%v\n", r.Arrived.Format("15:04:05.000"), r.Instance, r.Source, call(r), r.Error, r.Canceled)
	}
	return b.String()
}

// assigns returns the assignments received after from, by instance.
func (cl *cloudLab) assigns(from int) map[string]int {
	out := map[string]int{}
	for _, r := range cl.ec2.Requests()[from:] {
		if r.Action == "AssignPrivateIpAddresses" {
			out[r.Instance]++
		}
	}
	return out
}

func (cl *cloudLab) holderIs(eni string) func([]ec2fake.Request) bool {
	return func([]ec2fake.Request) bool { return cl.ec2.Holder(labVIP) == eni }
}

// checksSince counts the DescribeNetworkInterfaces of instance after from.
func checksSince(rs []ec2fake.Request, from int, instance string) int {
	n := 0
	for _, r := range rs[min(from, len(rs)):] {
		if r.Action == "DescribeNetworkInterfaces" && r.Instance == instance {
			n++
		}
	}
	return n
}

func (cl *cloudLab) noViolations() {
	cl.t.Helper()
	if v := cl.ec2.Violations(); len(v) > 0 {
		cl.t.Errorf("a private IP was on two interfaces: %v", v)
	}
}

func TestLabCrashedMasterIsReplacedWithOneAssignment(t *testing.T) {
	cl := newCloudLab(t)
	p1 := cl.start(1, cl.spec(1, 150, 100*time.Millisecond))
	p2 := cl.start(2, cl.spec(2, 100, 100*time.Millisecond))
	p1.send("go")
	p2.send("go")
	p1.waitState(0, "MASTER")
	cl.waitEC2("10.0.0.100 on eni-1", cl.holderIs("eni-1"))
	p2.waitState(0, "BACKUP")

	n := len(cl.ec2.Requests())
	m2 := p2.mark()
	p1.kill()
	p2.waitState(m2, "MASTER")
	cl.waitEC2("10.0.0.100 on eni-2", cl.holderIs("eni-2"))
	// Two re-assertions later, still one assignment: they only look.
	cl.waitEC2("two re-assertions by i-2", func(rs []ec2fake.Request) bool { return checksSince(rs, n, "i-2") >= 3 })
	if a := cl.assigns(n); a["i-2"] != 1 || len(a) != 1 {
		t.Errorf("assignments after the crash %v, want exactly one from i-2; requests:\n%s", a, cl.describe(n))
	}
	for _, r := range cl.ec2.Requests()[n:] {
		if r.Action == "AssignPrivateIpAddresses" && (r.Source != cl.lab.Host(2).IPv4 || r.Params.Get("NetworkInterfaceId") != "eni-2" ||
			r.Params.Get("AllowReassignment") != "true" || r.Error != "") {
			t.Errorf("assignment %s from %s answered %q", call(r), r.Source, r.Error)
		}
	}
	if o := cl.ec2.Owners(labVIP); strings.Join(o, " ") != "eni-1 eni-2" {
		t.Errorf("owners in turn %v, want eni-1 then eni-2", o)
	}
	cl.noViolations()
	if s := p2.stats(); s.AcquireErrors != 0 || s.Acquires != 1 || strings.Join(s.Holding, ",") != "VI_1" {
		t.Errorf("h2 stats %+v", s)
	}
	if out, _ := cl.lab.Host(2).Run("ip", "-4", "addr", "show", "dev", "eth0"); !strings.Contains(out, "10.0.0.100/24") {
		t.Errorf("the VIP is not on h2's eth0:\n%s", out)
	}
}

// TestLabConfirmWithMetadata: with ConfirmWithMetadata the assignment is
// confirmed in the metadata service (local-ipv4s of eth0's MAC), so the
// only EC2 request of a takeover is the assignment itself.
func TestLabConfirmWithMetadata(t *testing.T) {
	cl := newCloudLab(t)
	s := cl.spec(1, 150, 100*time.Millisecond)
	s.ConfirmMetadata = true
	s.Reassert = time.Hour
	p1 := cl.start(1, s)
	p1.send("go")
	p1.waitState(0, "MASTER")
	cl.waitEC2("10.0.0.100 on eni-1", cl.holderIs("eni-1"))
	st := p1.waitIdle()
	if len(st.Holding) != 1 || st.AcquireErrors != 0 {
		t.Errorf("stats %+v", st)
	}
	var ec2Calls []string
	for _, r := range cl.ec2.Requests() {
		ec2Calls = append(ec2Calls, r.Action)
	}
	if strings.Join(ec2Calls, " ") != "AssignPrivateIpAddresses" {
		t.Errorf("EC2 requests %v, want the assignment only", ec2Calls)
	}
}

func TestLabFlappingEndsOnTheFinalMasterWithNoCallRunning(t *testing.T) {
	cl := newCloudLab(t)
	// Every EC2 request takes 150 ms: transitions every ~100 ms cancel
	// calls in flight.
	cl.ec2.SetFault(func(*ec2fake.Request) ec2fake.Fault { return ec2fake.Fault{Delay: 150 * time.Millisecond} })
	interval := 20 * time.Millisecond
	p1 := cl.start(1, cl.spec(1, 150, interval))
	p2 := cl.start(2, cl.spec(2, 100, interval))
	p1.send("go")
	p2.send("go")
	p1.waitState(0, "MASTER")
	cl.waitEC2("10.0.0.100 on eni-1", cl.holderIs("eni-1"))

	tick := time.NewTicker(100 * time.Millisecond)
	for i := range 40 {
		<-tick.C
		p1.send(fmt.Sprintf("prio %d", []int{50, 150}[i%2]))
	}
	tick.Stop()
	// The last change left h1 at 150: it is the final master.
	m1 := p1.mark()
	if p1.state() != "MASTER" {
		p1.waitState(m1, "MASTER")
	}
	if n := p1.entered("MASTER"); n < 4 {
		t.Fatalf("h1 became master %d times: not a flapping master", n)
	}
	// vrrp runs each router's backend calls in order, one at a time, and a
	// Release supersedes the acquisition before it: the flapping queued
	// calls faster than they run. Done when each router's backend holds
	// what its state says, with no call running or coming.
	s1 := p1.waitIdle()
	s2 := p2.waitIdle()
	if strings.Join(s1.Holding, ",") != "VI_1" || len(s2.Holding) != 0 {
		t.Errorf("holding: h1 %v, h2 %v", s1.Holding, s2.Holding)
	}
	// Then the final master's claim (or its re-assertion, if a stale
	// assignment of h2's landed after it) leaves the address on eni-1, and
	// no request runs.
	cl.waitEC2("10.0.0.100 on eni-1 with nothing in flight", func([]ec2fake.Request) bool {
		return cl.ec2.Holder(labVIP) == "eni-1" && cl.ec2.InFlight() == 0
	})
	n := len(cl.ec2.Requests())
	cl.waitEC2("two re-assertions by i-1", func(rs []ec2fake.Request) bool { return checksSince(rs, n, "i-1") >= 2 })
	if h := cl.ec2.Holder(labVIP); h != "eni-1" {
		t.Errorf("10.0.0.100 on %q after the flapping, want eni-1 (h1 is master); requests:\n%s", h, cl.describe(n))
	}
	if a := cl.assigns(n); a["i-2"] != 0 {
		t.Errorf("h2, a backup with no call left, still assigned: %v", a)
	}
	if p2.state() != "BACKUP" {
		t.Errorf("h2 is %s", p2.state())
	}
	cl.noViolations()
	t.Logf("h1 became master %d times; cancelled calls: h1 %d, h2 %d; reclaims: h1 %d; assignments %v; slowest acquire h1 %v, h2 %v",
		p1.entered("MASTER"), s1.Cancelled, s2.Cancelled, s1.Reclaims, cl.assigns(0), s1.MaxAcquire, s2.MaxAcquire)
}

// adverts returns the kernel time stamps of the VRRP adverts from src.
func adverts(frames []netlab.Frame, src netip.Addr) []time.Time {
	var out []time.Time
	for _, f := range frames {
		d := f.Data
		if len(d) < 34 || binary.BigEndian.Uint16(d[12:14]) != 0x0800 || d[23] != 112 {
			continue
		}
		if netip.AddrFrom4([4]byte(d[26:30])) == src {
			out = append(out, f.Time)
		}
	}
	return out
}

func maxGap(ts []time.Time) time.Duration {
	var g time.Duration
	for i := 1; i < len(ts); i++ {
		g = max(g, ts[i].Sub(ts[i-1]))
	}
	return g
}

func TestLabSlowOrFailingEndpointDoesNotBlockAdverts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(since time.Time) func(*ec2fake.Request) ec2fake.Fault
	}{
		{"slow 5 s", func(time.Time) func(*ec2fake.Request) ec2fake.Fault {
			return func(r *ec2fake.Request) ec2fake.Fault {
				if r.Instance == "i-2" && r.Action == "AssignPrivateIpAddresses" {
					return ec2fake.Fault{Delay: 5 * time.Second}
				}
				return ec2fake.Fault{}
			}
		}},
		{"failing 5 s", func(since time.Time) func(*ec2fake.Request) ec2fake.Fault {
			return func(r *ec2fake.Request) ec2fake.Fault {
				if r.Instance == "i-2" && time.Since(since) < 5*time.Second {
					return ec2fake.Fault{Status: 503, Code: "Unavailable", Message: "The service is unavailable"}
				}
				return ec2fake.Fault{}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCloudLab(t)
			interval := 100 * time.Millisecond
			p1 := cl.start(1, cl.spec(1, 150, interval))
			p2 := cl.start(2, cl.spec(2, 100, interval))
			p1.send("go")
			p2.send("go")
			p1.waitState(0, "MASTER")
			cl.waitEC2("10.0.0.100 on eni-1", cl.holderIs("eni-1"))
			p2.waitState(0, "BACKUP")
			capture := cl.lab.Capture()

			cl.ec2.SetFault(tc.fault(time.Now()))
			m2 := p2.mark()
			p1.kill()
			p2.waitState(m2, "MASTER")
			from := time.Now()
			cl.waitEC2("10.0.0.100 on eni-2", cl.holderIs("eni-2"))
			took := time.Since(from)
			if took < 4*time.Second {
				t.Fatalf("the address moved after %v: the fault did not hold it back", took)
			}
			ads := adverts(capture.Frames(), cl.lab.Host(2).IPv4)
			var during []time.Time
			for _, a := range ads {
				if a.After(from) && a.Before(from.Add(took)) {
					during = append(during, a)
				}
			}
			// RFC 5798 §6.4.3: a master sends an advert every interval; a
			// gap of Master_Down_Interval (3 intervals and skew) would let
			// a backup take over.
			if g := maxGap(during); len(during) < 2 || g >= 3*interval {
				t.Errorf("h2's adverts while its claim was held back: %d, largest gap %v (want < %v)", len(during), g, 3*interval)
			}
			if p2.state() != "MASTER" {
				t.Errorf("h2 is %s", p2.state())
			}
			s := p2.waitIdle()
			if s.AcquireErrors != 0 || strings.Join(s.Holding, ",") != "VI_1" {
				t.Errorf("h2 stats %+v", s)
			}
			cl.noViolations()
			t.Logf("claim held back %v; %d adverts meanwhile, largest gap %v; h2 provider errors %d, retries %d",
				took.Round(time.Millisecond), len(during), maxGap(during), s.ProviderErrors, s.Retries)
		})
	}
}
