package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/kalab"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// The lab's auth_hmac keys, by id: 32 bytes each, written as hex:.
var hmacLabKeys = map[int]string{
	1: "6b65792d6f6e652d6f662d7468652d6c61622d33322d62797465732d6c6f6e67",
	2: "6b65792d74776f2d6f662d7468652d6c61622d33322d62797465732d6c6f6e67",
	9: "77726f6e672d6b65792d6f662d7468652d6c61622d33322d62797465732d2d21",
}

// hmacLabBlock is an auth_hmac block with the keys ids (all of hmacLabKeys'
// when none) and active key active, and further lines.
func hmacLabBlock(active int, ids ...int) string {
	var b strings.Builder
	b.WriteString("  auth_hmac {\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "    key %d hex:%s\n", id, hmacLabKeys[id])
	}
	fmt.Fprintf(&b, "    active_key %d\n  }\n", active)
	return b.String()
}

// peerKeepalived starts the peer of mode m: keepalived 2.4.3 for auth_hmac,
// Debian's 2.2.7 otherwise.
func (ld *labDaemon) peerKeepalived(m mode, h *netlab.Host, text string) *proc {
	ld.t.Helper()
	if !m.hmac {
		return ld.keepalived(h, text)
	}
	return ld.keepalivedEnv(h, kalab.Binary(ld.t), text, nil)
}

// hmacModes are the wire modes auth_hmac runs in against keepalived
// 2.4.3: VRRPv2 and v3, IPv4 and IPv6, multicast and unicast (VRRPv2 over
// IPv6, which keepalived sends, is refused by the library: RFC 3768 is
// IPv4 only).
var hmacModes = []mode{
	{name: "v2-ipv4-mcast", version: 2, interval: time.Second, hmac: true},
	{name: "v2-ipv4-unicast", version: 2, interval: time.Second, unicast: true, hmac: true},
	{name: "v3-ipv4-mcast", version: 3, interval: 100 * time.Millisecond, hmac: true},
	{name: "v3-ipv4-unicast", version: 3, interval: 100 * time.Millisecond, unicast: true, hmac: true},
	{name: "v3-ipv6-mcast", version: 3, interval: 100 * time.Millisecond, ipv6: true, hmac: true},
	{name: "v3-ipv6-unicast", version: 3, interval: 100 * time.Millisecond, ipv6: true, unicast: true, hmac: true},
}

// TestHMACInteropWithKeepalived243 proves auth_hmac against keepalived
// 2.4.3 in every wire mode, both directions, as TestInteropWithKeepalived
// does against 2.2.7: election, SIGKILL takeover, return and preempt,
// graceful stop (priority 0), with no drop counted by vrrpd and no
// complaint in either daemon's log (keepalived logs "invalid
// authentication HMAC", "unknown authentication key id", ... for the
// adverts it refuses).
func TestHMACInteropWithKeepalived243(t *testing.T) {
	t.Parallel()
	if os.Getenv(kalab.EnvBinary) == "" {
		kalab.Binary(t) // skips with the reason, or fails under VRRPKIT_REQUIRE_NETNS=1
	}
	var cases []labCase
	for _, m := range hmacModes {
		cases = append(cases, labCase{m.name, func(t *testing.T) { testInterop(t, m) }})
	}
	concurrently(t, cases)
}

// vrrpPayload returns the source and the IP payload of a VRRP frame
// (IPv4 or IPv6, without Ethernet padding).
func vrrpPayload(d []byte) (src, dst netip.Addr, payload []byte, ok bool) {
	if len(d) < 14 {
		return src, dst, nil, false
	}
	ip := d[14:]
	switch binary.BigEndian.Uint16(d[12:14]) {
	case 0x0800:
		if len(ip) < 20 || ip[9] != 112 {
			return src, dst, nil, false
		}
		n, ihl := int(binary.BigEndian.Uint16(ip[2:4])), int(ip[0]&0x0f)*4
		if n > len(ip) || ihl > n {
			return src, dst, nil, false
		}
		return netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20])), ip[ihl:n], true
	case 0x86dd:
		if len(ip) < 40 || ip[6] != 112 {
			return src, dst, nil, false
		}
		n := int(binary.BigEndian.Uint16(ip[4:6]))
		if 40+n > len(ip) {
			return src, dst, nil, false
		}
		return netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40])), ip[40 : 40+n], true
	}
	return src, dst, nil, false
}

// checkSigned: every advert the capture saw carries an auth_hmac trailer
// sealed with key id, which verifies, and a checksum that verifies (over
// IPv6 it covers the trailer).
func checkSigned(t *testing.T, c *netlab.Capture, id int) {
	t.Helper()
	k, err := auth.NewKey(id, mustHex(t, hmacLabKeys[id]))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range c.Frames() {
		src, dst, payload, ok := vrrpPayload(f.Data)
		if !ok {
			continue
		}
		n++
		var a advert.Advert
		trailer, _, err := a.DecodePayload(payload, src, dst, advert.ChecksumEither)
		if err != nil || trailer == nil {
			t.Errorf("advert from %v at %v: %v, trailer %x", src, f.Time.Format(time.StampMicro), err, trailer)
			continue
		}
		// Each advert alone: the replay state is not what is checked here.
		h, err := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{k}, ActiveKey: id, AntiReplay: auth.AntiReplayMonotonic})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Verify(payload[:len(payload)-auth.TrailerLen], trailer, src, f.Time); err != nil {
			t.Errorf("advert from %v (priority %d) at %v: %v", src, a.Priority, f.Time.Format(time.StampMicro), err)
		}
	}
	if n == 0 {
		t.Error("no advert captured")
	}
	t.Logf("%d adverts on the wire, each signed with key %d", n, id)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hmacBlock is an auth_hmac block with mode (keepalived's default when
// empty), or nothing for keys none.
func hmacBlock(active int, mode string, ids ...int) string {
	if len(ids) == 0 {
		return ""
	}
	b := hmacLabBlock(active, ids...)
	if mode != "" {
		b = strings.Replace(b, "  }\n", "    mode "+mode+"\n  }\n", 1)
	}
	return b
}

// trailerKey is the key id of an advert's trailer, 0 without one.
func trailerKey(f netlab.Frame) (src netip.Addr, prio uint8, key int, ok bool) {
	src, _, payload, ok := vrrpPayload(f.Data)
	if !ok || len(payload) < 4 {
		return src, 0, 0, false
	}
	_, trailer, err := advert.SplitTrailer(payload, src.Is6())
	if err != nil {
		return src, 0, 0, false
	}
	if trailer != nil {
		key = int(trailer[1])
	}
	return src, payload[2], key, true
}

// awaitKeyAdvert waits for an advert from src after t whose trailer names
// key (0: unsigned): the sender runs its new configuration.
func awaitKeyAdvert(t *testing.T, c *netlab.Capture, src netip.Addr, after time.Time, key int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := c.WaitFor(ctx, func(f netlab.Frame) bool {
		s, prio, k, ok := trailerKey(f)
		return ok && s == src && prio > 0 && k == key && f.Time.After(after)
	}); err != nil {
		t.Fatalf("no advert from %v with key %d after %v: %v", src, key, after.Format(time.StampMicro), err)
	}
}

// hmacGroup is a mixed group in one lab: vrrpd and keepalived 2.4.3
// nodes, reconfigured by SIGHUP.
type hmacGroup struct {
	t       *testing.T
	ld      *labDaemon
	capture *netlab.Capture
	m       mode
	hosts   []*netlab.Host
	procs   []*proc
	keepa   []bool
	prios   []int
	marks   []int
}

func (g *hmacGroup) conf(i int, block string) string {
	return g.m.instanceConf(g.hosts[i], nil, g.prios[i], block)
}

func (g *hmacGroup) start(i int, block string) {
	if g.keepa[i] {
		g.procs[i] = g.ld.keepalivedEnv(g.hosts[i], kalab.Binary(g.t), g.conf(i, block), nil)
	} else {
		g.procs[i] = g.ld.vrrpd(g.hosts[i], g.t.TempDir(), g.conf(i, block))
	}
}

// reload gives node i the block by SIGHUP and waits until it has read
// it.
func (g *hmacGroup) reload(i int, block string) {
	g.t.Helper()
	p := g.procs[i]
	name := "vrrpd.conf"
	if g.keepa[i] {
		name = "keepalived.conf"
	}
	writeConf(g.t, p.dir, name, g.conf(i, block))
	mark := p.log.mark()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		g.t.Fatal(err)
	}
	if g.keepa[i] {
		p.await(mark, `Reload complete`)
	} else {
		p.await(mark, `Reload finished`)
	}
}

// noTransition: since the marks, no node changed state.
func (g *hmacGroup) noTransition() {
	g.t.Helper()
	for i, p := range g.procs {
		if l := p.log.grep(g.marks[i], regexp.MustCompile(`Entering|Stopped|priority 0`)); len(l) > 0 {
			g.t.Errorf("%s changed state:\n%s", p.name, strings.Join(l, "\n"))
		}
	}
}

func newHMACGroup(t *testing.T, keepa []bool, prios []int) *hmacGroup {
	lab := netlab.New(t, len(keepa))
	g := &hmacGroup{t: t, ld: newLabDaemon(t, lab), capture: lab.Capture(), m: mode{version: 3, interval: 100 * time.Millisecond},
		keepa: keepa, prios: prios, procs: make([]*proc, len(keepa)), marks: make([]int, len(keepa))}
	savePcap(t, g.capture)
	for i := range keepa {
		g.hosts = append(g.hosts, lab.Host(i+1))
	}
	return g
}

// TestHMACRotationAndRolloutWithKeepalived243: in a group of vrrpd and
// keepalived 2.4.3 nodes, reconfigured one SIGHUP at a time, a key
// rotation (add key 2 everywhere, make it active node by node, remove key
// 1) and an auth_hmac rollout (unsigned, receive-only everywhere,
// permissive everywhere, enforce everywhere) cause no transition and no
// drop; the master's adverts show each step on the wire.
func TestHMACRotationAndRolloutWithKeepalived243(t *testing.T) {
	t.Parallel()
	kalab.Binary(t)
	concurrently(t, []labCase{
		{"rotation", func(t *testing.T) {
			// vrrpd is master: keepalived verifies our rotation.
			g := newHMACGroup(t, []bool{false, true, false}, []int{200, 150, 100})
			for i := range g.procs {
				g.start(i, hmacBlock(1, "", 1))
			}
			g.procs[0].awaitStatus("master", inState("VI_1", "MASTER"))
			g.procs[1].await(0, `\(VI_1\) Entering BACKUP STATE`)
			g.procs[2].awaitStatus("backup", inState("VI_1", "BACKUP"))
			for i, p := range g.procs {
				g.marks[i] = p.log.mark()
			}
			master := g.hosts[0].IPv4
			for i := range g.procs {
				g.reload(i, hmacBlock(1, "", 1, 2))
			}
			for _, i := range []int{0, 1, 2} {
				g.reload(i, hmacBlock(2, "", 1, 2))
				if i == 0 {
					awaitKeyAdvert(t, g.capture, master, time.Now(), 2)
				}
			}
			for i := range g.procs {
				g.reload(i, hmacBlock(2, "", 2))
			}
			awaitKeyAdvert(t, g.capture, master, time.Now().Add(time.Second), 2)
			g.noTransition()
			awaitHolders(t, g.m.vips(), []string{"h1"}, g.hosts...)
			checkNoDrops(t, g.procs[0])
			checkNoDrops(t, g.procs[2])
			if st := instanceStatus(g.procs[2].status(), "VI_1"); st.AuthHMAC == nil || st.AuthHMAC.ActiveKey != 2 || len(st.AuthHMAC.Keys) != 1 {
				t.Errorf("status auth_hmac %+v, want key 2 alone", st.AuthHMAC)
			}
			g.ld.checkNoComplaints()
		}},
		{"rollout", func(t *testing.T) {
			// keepalived is master: we verify its rollout.
			g := newHMACGroup(t, []bool{true, false, false}, []int{200, 150, 100})
			for i := range g.procs {
				g.start(i, "")
			}
			g.procs[0].await(0, `\(VI_1\) Entering MASTER STATE`)
			g.procs[1].awaitStatus("backup", inState("VI_1", "BACKUP"))
			g.procs[2].awaitStatus("backup", inState("VI_1", "BACKUP"))
			for i, p := range g.procs {
				g.marks[i] = p.log.mark()
			}
			master := g.hosts[0].IPv4
			awaitKeyAdvert(t, g.capture, master, time.Now(), 0)
			for _, mode := range []string{"receive-only", "permissive", "enforce"} {
				for _, i := range []int{1, 0, 2} {
					g.reload(i, hmacBlock(1, mode, 1))
					if i == 0 {
						key := 1
						if mode == "receive-only" {
							key = 0
						}
						awaitKeyAdvert(t, g.capture, master, time.Now(), key)
					}
				}
			}
			awaitKeyAdvert(t, g.capture, master, time.Now().Add(time.Second), 1)
			g.noTransition()
			awaitHolders(t, g.m.vips(), []string{"h1"}, g.hosts...)
			checkNoDrops(t, g.procs[1])
			checkNoDrops(t, g.procs[2])
			if st := instanceStatus(g.procs[1].status(), "VI_1"); st.AuthHMAC == nil || st.AuthHMAC.Mode != "enforce" {
				t.Errorf("status auth_hmac %+v, want mode enforce", st.AuthHMAC)
			}
			g.ld.checkNoComplaints()
		}},
	})
}

// TestHMACDumpsMatchKeepalived243: keepalived.data's auth_hmac lines of
// vrrpd are keepalived 2.4.3's for the same configuration, word for word
// and in order; keepalived.json's data object of 2.4.3 has no auth_hmac
// field that vrrpd leaves out.
func TestHMACDumpsMatchKeepalived243(t *testing.T) {
	t.Parallel()
	bin := kalab.Binary(t)
	lab := netlab.New(t, 2)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	// Two keys and every setting away from its default.
	conf := strings.Replace(attackConf(h1, 100, 100), hmacLabBlock(1, 1),
		strings.Replace(hmacLabBlock(2, 1, 2), "  }\n", "    time_window 7\n    mode permissive\n  }\n", 1), 1)
	conf = strings.Replace(conf, "    time_window 7\n", "    anti_replay monotonic\n", 1) // VI_B: monotonic
	vtmp, ktmp := t.TempDir(), t.TempDir()
	v := ld.vrrpdEnv(h1, t.TempDir(), conf, []string{"TMPDIR=" + vtmp})
	k := ld.keepalivedEnv(h2, bin, conf, []string{"TMPDIR=" + ktmp})
	v.awaitStatus("started", func(st *Status) bool { return inState("VI_A", "MASTER")(st) || inState("VI_A", "BACKUP")(st) })
	k.await(0, `\(VI_B\) Entering (BACKUP|MASTER) STATE`)
	ours, theirs := signalDumps(t, v, vtmp), signalDumps(t, k, ktmp)
	hmacLines := regexp.MustCompile(`^ *(VRRP Instance = |Authentication extension|Keys = |Anti replay|Mode = )`)
	pick := func(b []byte) []string {
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if hmacLines.MatchString(l) {
				out = append(out, l)
			}
		}
		return out
	}
	o, th := pick(ours[dataFile]), pick(theirs[dataFile])
	if strings.Join(o, "\n") != strings.Join(th, "\n") {
		t.Errorf("keepalived.data auth_hmac lines:\nours:\n%s\nkeepalived 2.4.3's:\n%s", strings.Join(o, "\n"), strings.Join(th, "\n"))
	}
	oj, tj := jsonShape(t, ours[jsonFile]), jsonShape(t, theirs[jsonFile])
	for name, shape := range tj {
		for _, key := range shape.dataKeys {
			if strings.Contains(key, "auth") || strings.Contains(key, "hmac") || strings.Contains(key, "key") {
				if !slices.Contains(oj[name].dataKeys, key) {
					t.Errorf("keepalived.json %s: 2.4.3 writes %q, vrrpd does not", name, key)
				}
			}
		}
	}
}
