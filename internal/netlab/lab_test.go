package netlab

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestHostsReachEachOther(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	l := New(t, 3)
	capt := l.Capture()
	h1, h2 := l.Host(1), l.Host(2)
	if !h1.LinkLocal.IsLinkLocalUnicast() || h1.LinkLocal == h2.LinkLocal {
		t.Fatalf("link-local addresses %v, %v", h1.LinkLocal, h2.LinkLocal)
	}
	for _, dst := range []string{h2.IPv4.String(), h2.IPv6.String(), h2.LinkLocal.String() + "%eth0"} {
		if out, err := h1.Run("ping", "-c", "1", "-W", "2", dst); err != nil {
			t.Fatalf("h1 ping %s: %v", dst, err)
		} else if !strings.Contains(out, "1 received") {
			t.Fatalf("h1 ping %s: %s", dst, out)
		}
	}

	// The capture sees each frame exactly once: one echo request from h1
	// to h2's IPv4 address, one reply.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	isICMP := func(f Frame, src, dst net.HardwareAddr, typ byte) bool {
		d := f.Data
		return len(d) >= 14+20+1 && bytes.Equal(d[0:6], dst) && bytes.Equal(d[6:12], src) &&
			binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[14+9] == 1 && d[14+20] == typ
	}
	if _, err := capt.WaitFor(ctx, func(f Frame) bool { return isICMP(f, h2.MAC, h1.MAC, 0) }); err != nil {
		t.Fatalf("echo reply: %v", err)
	}
	var requests int
	for _, f := range capt.Frames() {
		if isICMP(f, h1.MAC, h2.MAC, 8) {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("captured the echo request %d times, want once", requests)
	}

	path := filepath.Join(t.TempDir(), "lab.pcap")
	if err := capt.WritePcap(path); err != nil {
		t.Fatal(err)
	}
	if tshark, ok := HaveTool(t, "tshark", "to read the pcap back with Wireshark"); ok {
		out, err := exec.Command(tshark, "-r", path, "-Y", "icmp.type == 8 && ip.src == 10.0.0.1").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "10.0.0.1 → 10.0.0.2") {
			t.Errorf("tshark -r %s: %v\n%s", path, err, out)
		}
	}
}

// TestCaptureWithSeesEveryBridgeOnce: a capture of the lab's bridge and a
// segment bridge the test adds gets an echo request across each exactly
// once, though its socket is on every interface of the switch.
func TestCaptureWithSeesEveryBridgeOnce(t *testing.T) {
	NeedTool(t, "ping", "to send across the bridges")
	l := New(t, 2)
	h1, h2 := l.Host(1), l.Host(2)
	if err := ipBatch(l.sw, "link add segx type bridge mcast_snooping 0 stp_state 0\nlink set segx up\n"+
		"link add xs1 type veth peer name ex netns "+h1.Namespace+"\nlink set xs1 master segx\nlink set xs1 up\n"+
		"link add xs2 type veth peer name ex netns "+h2.Namespace+"\nlink set xs2 master segx\nlink set xs2 up\n"); err != nil {
		t.Fatal(err)
	}
	for i, h := range []*Host{h1, h2} {
		if err := ipBatch(h.Namespace, fmt.Sprintf("addr add 10.9.0.%d/24 dev ex\nlink set ex up\n", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	capt := l.CaptureWith("segx")
	for _, dst := range []string{"10.0.0.2", "10.9.0.2"} {
		if out, err := h1.Run("ping", "-c", "1", "-W", "2", dst); err != nil {
			t.Fatalf("h1 ping %s: %v %s", dst, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	isRequest := func(f Frame, src string) bool {
		d := f.Data
		return len(d) >= 14+20+1 && binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[14+9] == 1 && d[14+20] == 8 &&
			net.IP(d[14+12:14+16]).String() == src
	}
	isReply := func(f Frame) bool {
		d := f.Data
		return len(d) >= 14+20+1 && binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[14+9] == 1 && d[14+20] == 0 &&
			net.IP(d[14+12:14+16]).String() == "10.9.0.2"
	}
	if _, err := capt.WaitFor(ctx, isReply); err != nil {
		t.Fatalf("echo reply on segx: %v", err)
	}
	for _, src := range []string{"10.0.0.1", "10.9.0.1"} {
		n := 0
		for _, f := range capt.Frames() {
			if isRequest(f, src) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("captured the echo request from %s %d times, want once", src, n)
		}
	}
}

func TestMulticastReachesEveryHost(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	l := New(t, 3)
	// All-nodes ping: h2 and h3 answer only if the bridge floods multicast.
	out, err := l.Host(1).Run("ping", "-6", "-c", "3", "-i", "0.2", "-w", "5", "ff02::1%eth0")
	if err != nil {
		t.Fatalf("ping ff02::1: %v", err)
	}
	for _, h := range l.Hosts()[1:] {
		if !strings.Contains(out, h.LinkLocal.String()) {
			t.Errorf("no answer from %s (%s) to ff02::1:\n%s", h.Name, h.LinkLocal, out)
		}
	}
}

// TestSwitchRunsNoIPFirewall: where the kernel has br_netfilter, the
// switch's bridge hands no frame to the IP, IPv6 or ARP firewall.
func TestSwitchRunsNoIPFirewall(t *testing.T) {
	l := New(t, 1)
	if err := l.Do(func() error {
		for _, k := range []string{"iptables", "ip6tables", "arptables"} {
			b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-" + k)
			if errors.Is(err, fs.ErrNotExist) {
				t.Logf("no br_netfilter in this kernel: nothing to check for %s", k)
				continue
			}
			if err != nil {
				return err
			}
			if got := strings.TrimSpace(string(b)); got != "0" {
				t.Errorf("bridge-nf-call-%s = %s in the switch, want 0", k, got)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestDoRunsInHostNamespace(t *testing.T) {
	l := New(t, 2)
	h := l.Host(2)
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		if !bytes.Equal(ifi.HardwareAddr, h.MAC) {
			return fmt.Errorf("eth0 MAC %s, want %s", ifi.HardwareAddr, h.MAC)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The test's own thread is not moved: no eth0 with h's MAC here.
	if ifi, err := net.InterfaceByName("eth0"); err == nil && bytes.Equal(ifi.HardwareAddr, h.MAC) {
		t.Fatal("Do left the calling thread in the host namespace")
	}
}

func TestLinkDownUp(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	l := New(t, 2)
	h1, h2 := l.Host(1), l.Host(2)
	if err := h2.LinkDown(); err != nil {
		t.Fatal(err)
	}
	waitOperstate(t, h2, "DOWN")
	if _, err := h1.Run("ping", "-c", "1", "-W", "1", h2.IPv4.String()); err == nil {
		t.Fatal("ping across a cut link succeeded")
	}
	if err := h2.LinkUp(); err != nil {
		t.Fatal(err)
	}
	waitOperstate(t, h2, "UP")
	if _, err := h1.Run("ping", "-c", "1", "-W", "2", h2.IPv4.String()); err != nil {
		t.Fatalf("ping after LinkUp: %v", err)
	}
}

func waitOperstate(t *testing.T, h *Host, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := h.ifState()
		if err == nil && st.operstate == want {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("%s eth0: operstate %q (%v), want %s", h.Name, st.operstate, err, want)
		case <-tick.C:
		}
	}
}

func TestCleanupRemovesEverything(t *testing.T) {
	var prefix string
	var cmd *exec.Cmd
	t.Run("lab", func(t *testing.T) {
		l := New(t, 2)
		prefix = l.Prefix()
		cmd = l.Host(1).Command(context.Background(), "sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	})
	if prefix == "" {
		t.Skip("lab was not built")
	}
	out, err := run("ip", "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, prefix+"-") {
		t.Errorf("namespaces left behind:\n%s", out)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("sleep ended with %v, want killed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("process started with Command still runs after cleanup")
	}
}

func TestStaleNamespaceOfSamePidIsReplaced(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	if missingPrivilege() != "" {
		New(t, 1) // skips or fails with the reason
	}
	// A crashed earlier process with our pid left the name we use next.
	stale := fmt.Sprintf("vk%d-%d-h1", os.Getpid(), labSeq.Load()+1)
	if _, err := run("ip", "netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = run("ip", "netns", "delete", stale) })
	l := New(t, 1)
	if l.Host(1).Namespace != stale {
		t.Fatalf("lab uses %s, test expected %s", l.Host(1).Namespace, stale)
	}
	if _, err := l.Host(1).Run("ping", "-c", "1", "-W", "2", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

func TestIsolateKeepsCarrierAndBlocksFrames(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	l := New(t, 2)
	h1, h2 := l.Host(1), l.Host(2)
	capt := l.Capture()
	if err := h2.Isolate(); err != nil {
		t.Fatal(err)
	}
	// What h2 sent before (an MLD report after its link came up, say)
	// may be on the capture: only later frames count.
	isolated := time.Now()
	if _, err := h2.Run("ping", "-c", "1", "-W", "1", h1.IPv4.String()); err == nil {
		t.Fatal("ping from an isolated host succeeded")
	}
	// Unlike LinkDown, the host's link is up and running all along.
	if st, err := h2.ifState(); err != nil || st.operstate != "UP" {
		t.Fatalf("isolated host's eth0: operstate %q (%v), want UP", st.operstate, err)
	}
	// Nothing the isolated host sent crossed the bridge.
	for _, f := range capt.Frames() {
		if f.Time.After(isolated) && bytes.Equal(f.Data[6:12], h2.MAC) {
			t.Fatalf("frame from the isolated host captured on the bridge: % x", f.Data)
		}
	}
	if err := h2.Rejoin(); err != nil {
		t.Fatal(err)
	}
	if _, err := h2.Run("ping", "-c", "1", "-W", "2", h1.IPv4.String()); err != nil {
		t.Fatalf("ping after Rejoin: %v", err)
	}
}

func TestCaptureTimesAreKernelStamps(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	l := New(t, 2)
	capt := l.Capture()
	// Stall the capture's reader (it takes c.mu after each frame) while
	// ping sends three echo requests 200 ms apart: frames wait in the
	// socket, and only stamps taken by the kernel on arrival still show
	// the sender's spacing.
	capt.mu.Lock()
	before := time.Now()
	_, err := l.Host(1).Run("ping", "-c", "3", "-i", "0.2", "-W", "2", l.Host(2).IPv4.String())
	after := time.Now()
	capt.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	isRequest := func(f Frame) bool {
		d := f.Data
		return len(d) >= 14+20+1 && bytes.Equal(d[6:12], l.Host(1).MAC) &&
			binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[14+9] == 1 && d[14+20] == 8
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seen := 0
	if _, err := capt.WaitFor(ctx, func(f Frame) bool {
		if isRequest(f) {
			seen++
		}
		return seen == 3
	}); err != nil {
		t.Fatal(err)
	}
	var stamps []time.Time
	for _, f := range capt.Frames() {
		if isRequest(f) {
			stamps = append(stamps, f.Time)
		}
	}
	if len(stamps) != 3 {
		t.Fatalf("captured %d echo requests, want 3", len(stamps))
	}
	for i, s := range stamps {
		if s.Before(before) || s.After(after) {
			t.Errorf("stamp %d = %v, outside the ping run %v .. %v", i, s, before, after)
		}
		if i > 0 {
			if gap := s.Sub(stamps[i-1]); gap < 190*time.Millisecond || gap > 400*time.Millisecond {
				t.Errorf("gap %d = %v, want about 200ms (ping's interval)", i, gap)
			}
		}
	}
}

func TestCaptureCountsDroppedFrames(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	l := New(t, 2)
	// A ring of four 16 KiB blocks, and a reader stalled (it takes c.mu
	// after each block) while ping floods: most frames find no room.
	capt := l.capture(64<<10, nil)
	capt.mu.Lock()
	out, err := l.Host(1).Run("ping", "-f", "-c", "300", "-s", "1000", "-W", "1", l.Host(2).IPv4.String())
	capt.mu.Unlock()
	if err != nil {
		t.Fatalf("ping -f: %v\n%s", err, out)
	}
	dropped, err := capt.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Fatal("Dropped = 0 after a flood into a stalled 64 KiB ring")
	}
	// Every echo frame is either captured or counted as dropped.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	isEcho := func(f Frame) bool {
		d := f.Data
		return len(d) >= 14+20+1 && binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[14+9] == 1
	}
	// Wait for the reader to drain the socket: the last frame queued is
	// an echo frame too, so count until the count stops moving.
	var echoes, next int
	for quiet := 0; quiet < 3; {
		var fs []Frame
		fs, next = capt.Since(next)
		if len(fs) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		for _, f := range fs {
			if isEcho(f) {
				echoes++
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("capture did not drain")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if got := uint64(echoes) + dropped; got < 600 {
		t.Errorf("captured %d echo frames + %d dropped = %d, want at least the 600 that crossed the bridge", echoes, dropped, got)
	}
	capt.Stop()
	if after, err := capt.Dropped(); err != nil || after < dropped {
		t.Errorf("Dropped after Stop = %d, %v; want at least %d, nil", after, err, dropped)
	}
}

func TestCaptureSinceReturnsEachFrameOnce(t *testing.T) {
	NeedTool(t, "ping", "to check reachability in the lab")
	l := New(t, 2)
	capt := l.Capture()
	if _, err := l.Host(1).Run("ping", "-c", "2", "-i", "0.2", "-W", "2", l.Host(2).IPv4.String()); err != nil {
		t.Fatal(err)
	}
	capt.Stop()
	all := capt.Frames()
	first, next := capt.Since(0)
	rest, end := capt.Since(2)
	if len(first) != len(all) || next != len(all) || end != len(all) || len(rest) != max(0, len(all)-2) {
		t.Fatalf("Since(0) = %d frames, next %d; Since(2) = %d, next %d; Frames = %d",
			len(first), next, len(rest), end, len(all))
	}
	if more, n := capt.Since(next); len(more) != 0 || n != next {
		t.Errorf("Since(%d) = %d frames, next %d; want none", next, len(more), n)
	}
	if dropped, err := capt.Dropped(); err != nil || dropped != 0 {
		t.Errorf("Dropped = %d, %v; want 0", dropped, err)
	}
}

// TestLabHoldsTheLockAgainstOtherProcesses: once a process has built a
// lab, another process's attempt to take the lab lock waits (here: a
// second open file description, which flock treats as another owner).
func TestLabHoldsTheLockAgainstOtherProcesses(t *testing.T) {
	New(t, 1)
	f, err := os.Open(filepath.Join(os.TempDir(), LockName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Fatalf("flock of the lab lock by another owner: %v, want EWOULDBLOCK", err)
	}
}

func TestThreadedRxKeepsTheLinkWorking(t *testing.T) {
	NeedTool(t, "ping", "to send across the bridge")
	NeedTool(t, "ethtool", "to set the veths' features")
	l := New(t, 2)
	h1, h2 := l.Host(1), l.Host(2)
	for _, h := range []*Host{h1, h2} {
		if err := ThreadedRx(h.Namespace, h.Ifname); err != nil {
			t.Fatal(err)
		}
		if err := ThreadedRx(l.sw, h.SwitchPort()); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ ns, dev string }{{h2.Namespace, h2.Ifname}, {l.sw, h1.SwitchPort()}} {
		out, err := run("ip", "netns", "exec", c.ns, "cat", "/sys/class/net/"+c.dev+"/threaded")
		if err != nil || strings.TrimSpace(out) != "1" {
			t.Errorf("%s in %s: threaded = %q (%v), want 1", c.dev, c.ns, out, err)
		}
	}
	if out, err := h1.Run("ping", "-c", "1", "-W", "2", h2.IPv4.String()); err != nil {
		t.Fatalf("h1 ping h2 through the threaded veths: %v %s", err, out)
	}
	if err := ThreadedRx(h1.Namespace, "nosuchdev"); err == nil || !strings.Contains(err.Error(), "nosuchdev") {
		t.Errorf("ThreadedRx of a missing device: %v, want an error naming it", err)
	}
}

func TestCaptureSentSeesEachFrameOnceAsItLeaves(t *testing.T) {
	NeedTool(t, "ping", "to send between the hosts")
	l := New(t, 2)
	h1, h2 := l.Host(1), l.Host(2)
	capt := l.CaptureSent([]*Host{h1, h2}, "eth0")
	if out, err := h1.Run("ping", "-c", "1", "-W", "2", h2.IPv4.String()); err != nil {
		t.Fatalf("h1 ping h2: %v %s", err, out)
	}
	echo := func(f Frame, typ byte, src netip.Addr) bool {
		d := f.Data
		return len(d) >= 14+20+1 && binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[14+9] == 1 && d[14+20] == typ &&
			netip.AddrFrom4([4]byte(d[14+12:14+16])) == src
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := capt.WaitFor(ctx, func(f Frame) bool { return echo(f, 0, h2.IPv4) }); err != nil {
		t.Fatalf("echo reply: %v", err)
	}
	capt.Stop()
	for _, c := range []struct {
		typ  byte
		from *Host
	}{{8, h1}, {0, h2}} {
		n := 0
		for _, f := range capt.Frames() {
			if echo(f, c.typ, c.from.IPv4) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("captured the ICMP type %d from %s %d times, want once (as it left)", c.typ, c.from.Name, n)
		}
	}
}
