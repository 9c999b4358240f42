package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// mode is one of the wire modes the issue proves against keepalived.
type mode struct {
	name     string
	version  int
	interval time.Duration
	auth     string // "", "PASS", "AH"
	unicast  bool
	ipv6     bool
	// hmac signs with auth_hmac (keepalived 2.4), the peer being
	// keepalived 2.4.3.
	hmac bool
}

// interopModes are the seven. VRRPv2 intervals are whole seconds;
// VRRPv3 runs at 100 ms to keep the tests short.
var interopModes = []mode{
	{name: "v2-pass-mcast", version: 2, interval: time.Second, auth: "PASS"},
	{name: "v2-ah-mcast", version: 2, interval: time.Second, auth: "AH"},
	{name: "v2-ah-unicast", version: 2, interval: time.Second, auth: "AH", unicast: true},
	{name: "v3-ipv4-mcast", version: 3, interval: 100 * time.Millisecond},
	{name: "v3-ipv4-unicast", version: 3, interval: 100 * time.Millisecond, unicast: true},
	{name: "v3-ipv6-mcast", version: 3, interval: 100 * time.Millisecond, ipv6: true},
	{name: "v3-ipv6-unicast", version: 3, interval: 100 * time.Millisecond, ipv6: true, unicast: true},
}

const interopVRID = 51

func (m mode) vips() []netip.Prefix {
	if m.ipv6 {
		return []netip.Prefix{netip.MustParsePrefix("fd00::100/64"), netip.MustParsePrefix("fd00::101/64")}
	}
	return []netip.Prefix{netip.MustParsePrefix("10.0.0.100/24"), netip.MustParsePrefix("10.0.0.101/24")}
}

func (m mode) vipAddrs() []netip.Addr {
	var out []netip.Addr
	for _, p := range m.vips() {
		out = append(out, p.Addr())
	}
	return out
}

// instanceConf is "vrrp_instance VI_1" for self, advertising to peers in
// unicast mode, plus extra lines.
func (m mode) instanceConf(self *netlab.Host, peers []*netlab.Host, prio int, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_version %d\n}\n", self.Name, m.version)
	fmt.Fprintf(&b, "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  advert_int %s\n",
		interopVRID, prio, strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", m.interval.Seconds()), "0"), "."))
	if m.auth != "" {
		fmt.Fprintf(&b, "  authentication {\n    auth_type %s\n    auth_pass s3cret\n  }\n", m.auth)
	}
	if m.hmac {
		b.WriteString(hmacLabBlock(1, 1))
	}
	if m.unicast {
		src := self.IPv4
		if m.ipv6 {
			src = self.IPv6
		}
		fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n", src)
		for _, p := range peers {
			a := p.IPv4
			if m.ipv6 {
				a = p.IPv6
			}
			fmt.Fprintf(&b, "    %s\n", a)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("  virtual_ipaddress {\n")
	for _, v := range m.vips() {
		fmt.Fprintf(&b, "    %s\n", v)
	}
	b.WriteString("  }\n")
	b.WriteString(extra)
	b.WriteString("}\n")
	return b.String()
}

// notifyLines makes notify scripts that append to dir/notify.log: the
// generic one with its four arguments, notify_master and notify_stop with
// a word of their own.
func notifyLines(t *testing.T, dir string) string {
	t.Helper()
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+filepath.Join(dir, "notify.log")+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("  notify %q\n  notify_master \"%s master\"\n  notify_stop \"%s stop\"\n", script, script, script)
}

func readNotifyLog(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "notify.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

// Complaints: keepalived's about our packets, ours about its.
var (
	keepalivedComplaint = regexp.MustCompile(`(?i)checksum|invalid|auth|ipsec|bad |wrong|mismatch|unknown vrid|dropping|discard.*packet`)
	vrrpdComplaint      = regexp.MustCompile(`"drop":|(?i)checksum|invalid|IPSEC-AH:|mismatch`)
	// FRR's debug log names every advert's checksum: only its drops count.
	frrComplaint = regexp.MustCompile(`(?i)discard|invalid|mismatch|malformed|bad |wrong|drop`)
)

// checkNoComplaints looks through every daemon's log.
func (ld *labDaemon) checkNoComplaints() {
	ld.t.Helper()
	ld.mu.Lock()
	defer ld.mu.Unlock()
	for _, p := range ld.logs {
		re := keepalivedComplaint
		switch {
		case strings.HasPrefix(p.name, "vrrpd"):
			re = vrrpdComplaint
		case strings.HasPrefix(p.name, "frr-"):
			re = frrComplaint
		}
		var lines []string
		for _, l := range p.log.grep(0, re) {
			// A priority 0 from a master the instance did not follow yet
			// (it had just left Fault) is refused by design, not for
			// anything wrong with the packet.
			if !strings.Contains(l, `"drop": "not-master"`) {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			ld.t.Errorf("%s complained about the other's packets:\n%s", p.name, strings.Join(lines, "\n"))
		}
	}
}

// checkNoDrops asks a running vrrpd for its counters: no packet of the
// peer's was dropped.
func checkNoDrops(t *testing.T, p *proc) {
	t.Helper()
	st := p.status()
	for _, in := range st.Instances {
		// Adverts that arrive while an instance is in FAULT are not
		// looked at, and a priority 0 from a master it did not follow
		// yet is refused by design: no complaint about them.
		delete(in.Counters.Drops, vrrp.DropNotRunning.String())
		delete(in.Counters.Drops, vrrp.DropNotMaster.String())
		if len(in.Counters.Drops) > 0 {
			t.Errorf("%s: %s dropped packets: %v", p.name, in.Name, in.Counters.Drops)
		}
		if in.Counters.AdvertsReceived == 0 && in.State == "BACKUP" {
			t.Errorf("%s: %s is backup without having received an advert", p.name, in.Name)
		}
	}
}

// checkLag checks a takeover seen on the wire: the new master's first
// advert came at most bound after the old master's last one.
func checkLag(t *testing.T, what string, last, first wireFrame, bound time.Duration) {
	t.Helper()
	lag := first.time.Sub(last.time)
	t.Logf("%s: %v (bound %v)", what, lag.Round(100*time.Microsecond), bound)
	if lag > bound {
		t.Errorf("%s took %v, more than %v", what, lag, bound)
	}
	if lag <= 0 {
		t.Errorf("%s: the new master advertised %v before the old one's last advert", what, -lag)
	}
}

// TestInteropWithKeepalived proves every wire mode against keepalived
// 2.2.7: each side is master when it has the higher priority, takes over
// when the other is killed (within Master_Down_Interval + 100 ms on the
// wire) or stopped (Skew_Time + 100 ms), the VIPs end on one live host and
// are announced, the returning higher priority preempts, and neither side
// complains about the other's packets.
func TestInteropWithKeepalived(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	var cases []labCase
	for _, m := range interopModes {
		cases = append(cases, labCase{m.name, func(t *testing.T) { testInterop(t, m) }})
	}
	cases = append(cases, labCase{"v3-ipv4-mcast-nopreempt", testInteropNoPreempt})
	concurrently(t, cases)
}

// testInteropNoPreempt: with nopreempt, a returning node with the higher
// priority leaves the running master alone, on either side.
func testInteropNoPreempt(t *testing.T) {
	netlab.NeedTool(t, "ping", "to check that no_accept drops packets to the VIP")
	m := mode{version: 3, interval: 100 * time.Millisecond}
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	vdir := t.TempDir()
	const nopreempt = "  nopreempt\n"
	mdi := func(prio int) time.Duration { return vrrp.MasterDownInterval(3, prio, m.interval) }
	both := []*netlab.Host{h1, h2}

	// keepalived (100) is master; vrrpd (200) comes later and must not
	// preempt it.
	k := ld.keepalived(h2, m.instanceConf(h2, nil, 100, nopreempt))
	k.await(0, `\(VI_1\) Entering MASTER STATE`)
	kFirst := awaitFirstAdvert(t, capture, h2.MAC, interopVRID, time.Time{})
	// vrrpd also runs in Accept_Mode false: checked once it is master.
	v := ld.vrrpd(h1, vdir, m.instanceConf(h1, nil, 200, nopreempt+"  no_accept\n"))
	v.await(0, `\(VI_1\) Entering BACKUP STATE`)
	vStart := time.Now()
	// Two of vrrpd's Master_Down_Intervals of keepalived adverts.
	awaitFirstAdvert(t, capture, h2.MAC, interopVRID, vStart.Add(2*mdi(200)))
	if w, ok := lastAdvert(wireFrames(capture), h1.MAC, interopVRID, time.Now(), false); ok {
		t.Fatalf("vrrpd (nopreempt) advertised at %s while keepalived was master", w.time.Format(time.StampMicro))
	}
	if st := v.status(); instanceStatus(st, "VI_1").State != "BACKUP" {
		t.Fatalf("vrrpd is %s, want BACKUP", instanceStatus(st, "VI_1").State)
	}
	awaitHolders(t, m.vips(), []string{"h2"}, both...)

	// keepalived leaves; vrrpd takes over.
	vmark := v.log.mark()
	k.terminate()
	v.await(vmark, `\(VI_1\) Entering MASTER STATE`)
	vFirst := awaitFirstAdvert(t, capture, h1.MAC, interopVRID, kFirst.time)

	// keepalived returns with 250 and nopreempt: it must not preempt.
	k = ld.keepalived(h2, m.instanceConf(h2, nil, 250, nopreempt))
	k.await(0, `\(VI_1\) Entering BACKUP STATE`)
	kStart := time.Now()
	awaitFirstAdvert(t, capture, h1.MAC, interopVRID, kStart.Add(2*mdi(250)))
	if lines := k.log.grep(0, regexp.MustCompile(`Entering MASTER STATE`)); len(lines) > 0 {
		t.Fatalf("keepalived (nopreempt) preempted vrrpd: %s", lines[0])
	}
	if w, ok := lastAdvert(wireFrames(capture), h2.MAC, interopVRID, time.Now(), false); ok && w.time.After(vFirst.time) {
		t.Fatalf("keepalived (nopreempt) advertised at %s while vrrpd was master", w.time.Format(time.StampMicro))
	}
	awaitHolders(t, m.vips(), []string{"h1"}, both...)
	checkNoDrops(t, v)

	// no_accept (RFC 5798 §6.4.3): h1 holds the VIP and drops what is
	// addressed to it, while its own address answers; nothing of it is
	// left after vrrpd stops.
	if out, err := h2.Run("ping", "-c", "1", "-W", "2", h1.IPv4.String()); err != nil {
		t.Fatalf("ping %s from h2: %v\n%s", h1.IPv4, err, out)
	}
	vip := m.vipAddrs()[0].String()
	if out, err := h2.Run("ping", "-c", "1", "-W", "1", vip); err == nil {
		t.Errorf("vrrpd's master with no_accept answered a ping to the VIP %s:\n%s", vip, out)
	}
	v.terminate()
	if tables, err := h1.NFTables(); err != nil || slices.ContainsFunc(tables, isVrrpkitTable) {
		t.Errorf("vrrpd's no_accept table after it stopped: tables %v, %v", tables, err)
	}
	k.terminate()
	ld.checkNoComplaints()
}

func testInterop(t *testing.T, m mode) {
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	vdir := t.TempDir()
	notify := notifyLines(t, vdir)
	vconf := func(prio int) string { return m.instanceConf(h1, []*netlab.Host{h2}, prio, notify) }
	kconf := func(prio int) string { return m.instanceConf(h2, []*netlab.Host{h1}, prio, "") }
	mdi := func(prio int) time.Duration {
		return vrrp.MasterDownInterval(m.version, prio, m.interval)
	}
	skew := func(prio int) time.Duration { return vrrp.SkewTime(m.version, prio, m.interval) }
	const slack = 100 * time.Millisecond
	vips := m.vips()
	both := []*netlab.Host{h1, h2}

	// 1. vrrpd (200) is master, keepalived (100) backup.
	k := ld.peerKeepalived(m, h2, kconf(100))
	v := ld.vrrpd(h1, vdir, vconf(200))
	v.await(0, `\(VI_1\) Entering MASTER STATE`)
	k.await(0, `\(VI_1\) Entering BACKUP STATE`)
	v.awaitStatus("master", inState("VI_1", "MASTER"))
	awaitHolders(t, vips, []string{"h1"}, both...)
	awaitAnnounced(t, capture, h1.MAC, m.vipAddrs(), time.Time{})
	kmark := k.log.mark()

	// 2. vrrpd is killed: keepalived takes over within its
	// Master_Down_Interval (+100 ms), holds and announces the VIPs.
	killed := v.kill()
	k.await(kmark, `\(VI_1\) Entering MASTER STATE`)
	last, ok := lastAdvert(wireFrames(capture), h1.MAC, interopVRID, killed.Add(time.Second), false)
	if !ok {
		t.Fatal("no advert from vrrpd before it was killed")
	}
	first := awaitFirstAdvert(t, capture, h2.MAC, interopVRID, last.time)
	checkLag(t, "keepalived took over from killed vrrpd", last, first, mdi(100)+slack)
	awaitHolders(t, vips, []string{"h2"}, h2) // h1's stale VIPs: nobody runs there
	awaitAnnounced(t, capture, h2.MAC, m.vipAddrs(), first.time)

	// 3. vrrpd returns with the higher priority: it removes what the
	// killed run left, preempts, and keepalived goes back to backup.
	kmark = k.log.mark()
	v = ld.vrrpd(h1, vdir, vconf(200))
	v.await(0, `\(VI_1\) Entering BACKUP STATE`)
	back := awaitFirstAdvert(t, capture, h1.MAC, interopVRID, first.time)
	v.await(0, `\(VI_1\) Entering MASTER STATE`)
	k.await(kmark, `\(VI_1\) Entering BACKUP STATE`)
	awaitHolders(t, vips, []string{"h1"}, both...)
	awaitAnnounced(t, capture, h1.MAC, m.vipAddrs(), back.time)
	checkNoDrops(t, v)

	// 4. vrrpd stops gracefully: priority 0, VIPs released, and keepalived
	// takes over within Skew_Time (+100 ms).
	kmark = k.log.mark()
	v.terminate()
	v.await(0, `^.*Stopped$`)
	zero := awaitZeroAdvert(t, capture, h1.MAC, interopVRID, back.time)
	first = awaitFirstAdvert(t, capture, h2.MAC, interopVRID, zero.time)
	checkLag(t, "keepalived took over from stopped vrrpd", zero, first, skew(100)+slack)
	k.await(kmark, `\(VI_1\) Entering MASTER STATE`)
	awaitHolders(t, vips, []string{"h2"}, both...)
	wantNotify := []string{
		// First run (killed): no STOP.
		"INSTANCE_VI_1_BACKUP_200", "master", "INSTANCE_VI_1_MASTER_200",
		// Second run (stopped).
		"INSTANCE_VI_1_BACKUP_200", "master", "INSTANCE_VI_1_MASTER_200", "stop", "INSTANCE_VI_1_STOP_200",
	}
	if got := readNotifyLog(t, vdir); !slices.Equal(got, wantNotify) {
		t.Errorf("notify scripts ran as %q, want %q", got, wantNotify)
	}

	// 5. The reverse: keepalived (100) is master, vrrpd (50) backup.
	v = ld.vrrpd(h1, vdir, vconf(50))
	v.await(0, `\(VI_1\) Entering BACKUP STATE`)
	kaddr := h2.IPv4
	if m.ipv6 {
		kaddr = h2.LinkLocal
		if m.unicast {
			kaddr = h2.IPv6
		}
	}
	v.awaitStatus("backup following keepalived", func(st *Status) bool {
		in := instanceStatus(st, "VI_1")
		return in != nil && in.State == "BACKUP" && in.Master == kaddr.String()
	})
	vmark := v.log.mark()

	// 6. keepalived is killed: vrrpd takes over.
	killed = k.kill()
	v.await(vmark, `\(VI_1\) Entering MASTER STATE`)
	last, ok = lastAdvert(wireFrames(capture), h2.MAC, interopVRID, killed.Add(time.Second), false)
	if !ok {
		t.Fatal("no advert from keepalived before it was killed")
	}
	first = awaitFirstAdvert(t, capture, h1.MAC, interopVRID, last.time)
	checkLag(t, "vrrpd took over from killed keepalived", last, first, mdi(50)+slack)
	awaitHolders(t, vips, []string{"h1"}, h1)
	awaitAnnounced(t, capture, h1.MAC, m.vipAddrs(), first.time)

	// 7. keepalived returns with the higher priority and preempts.
	vmark = v.log.mark()
	k = ld.peerKeepalived(m, h2, kconf(100))
	k.await(0, `\(VI_1\) Entering MASTER STATE`)
	v.await(vmark, `\(VI_1\) Entering BACKUP STATE`)
	awaitHolders(t, vips, []string{"h2"}, both...)

	// 8. keepalived stops gracefully: vrrpd takes over within Skew_Time.
	vmark = v.log.mark()
	k.terminate()
	zero = awaitZeroAdvert(t, capture, h2.MAC, interopVRID, first.time)
	first = awaitFirstAdvert(t, capture, h1.MAC, interopVRID, zero.time)
	checkLag(t, "vrrpd took over from stopped keepalived", zero, first, skew(50)+slack)
	v.await(vmark, `\(VI_1\) Entering MASTER STATE`)
	awaitHolders(t, vips, []string{"h1"}, both...)
	checkNoDrops(t, v)
	v.terminate()
	ld.checkNoComplaints()
	if m.hmac {
		checkSigned(t, capture, 1)
	}
}
