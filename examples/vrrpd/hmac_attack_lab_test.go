package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/kalab"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// attackConf is two signed VRRPv3 instances at 100 ms: VI_A (VRID 61,
// 10.0.0.161) at prioA and VI_B (VRID 62, 10.0.0.162) at prioB.
func attackConf(h *netlab.Host, prioA, prioB int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_version 3\n}\n", h.Name)
	for _, in := range []struct {
		name string
		vrid int
		prio int
	}{{"VI_A", 61, prioA}, {"VI_B", 62, prioB}} {
		fmt.Fprintf(&b, "vrrp_instance %s {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  advert_int 0.1\n"+
			"  virtual_ipaddress {\n    10.0.0.%d/24\n  }\n%s}\n", in.name, in.vrid, in.prio, in.vrid+100, hmacLabBlock(1, 1))
	}
	return b.String()
}

// rawSender sends VRRP packets with any source from a lab host.
type rawSender struct {
	t   *testing.T
	raw *netlab.RawIPv4
}

func newRawSender(t *testing.T, h *netlab.Host) *rawSender {
	t.Helper()
	raw, err := h.RawIPv4()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &rawSender{t: t, raw: raw}
}

// send sends payload (a VRRP message, trailer included) from src to the
// VRRP group with TTL 255.
func (s *rawSender) send(payload []byte, src netip.Addr) {
	s.t.Helper()
	s.sendTo(payload, src, advert.GroupIPv4, 255)
}

// sendTo sends payload from src to dst with the given TTL (below 255: as a
// packet routed from another network would arrive).
func (s *rawSender) sendTo(payload []byte, src, dst netip.Addr, ttl uint8) {
	s.t.Helper()
	if err := s.raw.Send(src, dst, ttl, advert.ProtocolNumber, payload); err != nil {
		s.t.Errorf("raw send: %v", err)
	}
}

// forge is a VRRPv3 advert to the VRRP group for vrid at prio from src,
// signed by h at the sequence of time at (h nil: unsigned).
func forge(t *testing.T, vrid int, prio uint8, src netip.Addr, h *auth.HMAC, at time.Time) []byte {
	t.Helper()
	return forgeTo(t, vrid, prio, src, advert.GroupIPv4, h, at)
}

// forgeTo is forge for an advert to dst (the VRRPv3 checksum's
// pseudo-header names the destination).
func forgeTo(t *testing.T, vrid int, prio uint8, src, dst netip.Addr, h *auth.HMAC, at time.Time) []byte {
	t.Helper()
	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: uint8(vrid), Priority: prio,
		Interval: 100 * time.Millisecond, Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, byte(vrid + 100)})}}
	msg, err := a.Append(nil, src, dst, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		return msg
	}
	// The checksum over IPv4 covers the message alone: Append wrote it.
	if msg, err = h.AppendTrailer(msg, msg, src, auth.SeqAt(at)); err != nil {
		t.Fatal(err)
	}
	return msg
}

// hmacSigner seals adverts with k alone.
func hmacSigner(t *testing.T, k auth.Key) *auth.HMAC {
	t.Helper()
	h, err := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{k}, ActiveKey: k.ID()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// captured returns the IP payload of the last advert for vrid from mac
// with priority prio (0 included), and when it was seen.
func captured(t *testing.T, c *netlab.Capture, mac []byte, vrid int, prio uint8) ([]byte, time.Time) {
	t.Helper()
	var out []byte
	var at time.Time
	for _, f := range c.Frames() {
		if len(f.Data) < 14 || !bytes.Equal(f.Data[6:12], mac) {
			continue
		}
		_, _, p, ok := vrrpPayload(f.Data)
		if ok && len(p) > 3 && int(p[1]) == vrid && p[2] == prio {
			out, at = append([]byte(nil), p...), f.Time
		}
	}
	if out == nil {
		t.Fatalf("no advert for VRID %d at priority %d captured", vrid, prio)
	}
	return out, at
}

// hmacAttackLab is vrrpd on h1 (master of VI_A) and keepalived 2.4.3 on
// h2 (master of VI_B), each the other's backup, and an attacker on h3.
type hmacAttackLab struct {
	t            *testing.T
	capture      *netlab.Capture
	h1, h2, h3   *netlab.Host
	vipA, vipB   []netip.Prefix
	v, k         *proc
	atk          *rawSender
	marks        []int // the daemons' logs when the attacks began
	zeroA, zeroB []byte
	zeroAt       time.Time // when keepalived's priority 0 was captured
	advA, advB   []byte
	good, bad    *auth.HMAC // key id 1 with the right key, with a wrong one
}

// startHMACAttackLab starts the pair with conf(self, peer, prioA, prioB)
// and has each master leave once and come back, so that each one's
// priority 0 and ordinary adverts are captured for replays.
func startHMACAttackLab(t *testing.T, conf func(self, peer *netlab.Host, prioA, prioB int) string) *hmacAttackLab {
	t.Helper()
	bin := kalab.Binary(t)
	lab := netlab.New(t, 3)
	a := &hmacAttackLab{t: t, capture: lab.Capture(), h1: lab.Host(1), h2: lab.Host(2), h3: lab.Host(3),
		vipA: []netip.Prefix{netip.MustParsePrefix("10.0.0.161/24")}, vipB: []netip.Prefix{netip.MustParsePrefix("10.0.0.162/24")}}
	savePcap(t, a.capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := a.h1, a.h2
	vdir := t.TempDir()

	a.k = ld.keepalivedEnv(h2, bin, conf(h2, h1, 100, 200), nil)
	a.v = ld.vrrpd(h1, vdir, conf(h1, h2, 200, 100))
	a.v.awaitStatus("VI_A master, VI_B backup", func(st *Status) bool {
		return inState("VI_A", "MASTER")(st) && inState("VI_B", "BACKUP")(st)
	})
	a.awaitHolders()

	a.v.terminate()
	awaitHolders(t, a.vipA, []string{"h2"}, h1, h2)
	a.v = ld.vrrpd(h1, vdir, conf(h1, h2, 200, 100))
	a.v.awaitStatus("VI_A master again", inState("VI_A", "MASTER"))
	a.k.terminate()
	a.v.awaitStatus("VI_B master", inState("VI_B", "MASTER"))
	a.k = ld.keepalivedEnv(h2, bin, conf(h2, h1, 100, 200), nil)
	a.k.await(0, `\(VI_B\) Entering MASTER STATE`)
	a.v.awaitStatus("VI_B backup again", inState("VI_B", "BACKUP"))
	a.awaitHolders()
	a.zeroA, _ = captured(t, a.capture, h1.MAC, 61, 0)
	a.zeroB, a.zeroAt = captured(t, a.capture, h2.MAC, 62, 0)
	a.advA, _ = captured(t, a.capture, h1.MAC, 61, 200)
	a.advB, _ = captured(t, a.capture, h2.MAC, 62, 200)

	key1, _ := auth.NewKey(1, mustHex(t, hmacLabKeys[1]))
	wrong, _ := auth.NewKey(1, mustHex(t, hmacLabKeys[9]))
	a.good, a.bad = hmacSigner(t, key1), hmacSigner(t, wrong)
	a.atk = newRawSender(t, a.h3)
	a.marks = []int{a.v.log.mark(), a.k.log.mark()}
	return a
}

// awaitHolders waits for VI_A's address on h1 alone and VI_B's on h2 alone.
func (a *hmacAttackLab) awaitHolders() {
	a.t.Helper()
	awaitHolders(a.t, a.vipA, []string{"h1"}, a.h1, a.h2)
	awaitHolders(a.t, a.vipB, []string{"h2"}, a.h1, a.h2)
}

// attack runs send five times, then checks that neither daemon changed a
// state and that the addresses stayed where they were.
func (a *hmacAttackLab) attack(what string, send func()) {
	a.t.Helper()
	for range 5 {
		send()
	}
	// Long enough for a backup that took a priority 0 to take over
	// (Skew_Time, < 0.2 s): 5 adverts of each master later.
	now := time.Now()
	for range 5 {
		awaitFirstAdvert(a.t, a.capture, a.h1.MAC, 61, now)
		awaitFirstAdvert(a.t, a.capture, a.h2.MAC, 62, now)
		now = now.Add(100 * time.Millisecond)
	}
	for i, p := range []*proc{a.v, a.k} {
		if l := p.log.grep(a.marks[i], regexp.MustCompile(`Entering|priority 0`)); len(l) > 0 {
			a.t.Errorf("%s: %s changed a state:\n%s", what, p.name, strings.Join(l, "\n"))
		}
	}
	a.awaitHolders()
}

// control sends a correctly signed priority 255 for each VRID (built by
// forge at the time of sending) and waits for both masters to step down.
func (a *hmacAttackLab) control(forge func(vrid int) func()) {
	a.t.Helper()
	for range 3 {
		forge(61)()
		forge(62)()
	}
	a.v.await(a.marks[0], `\(VI_A\) Entering BACKUP STATE`)
	a.k.await(a.marks[1], `\(VI_B\) Entering BACKUP STATE`)
	a.v.terminate()
}

// TestHMACAttacksWithKeepalived243: vrrpd (master of VI_A) and keepalived
// 2.4.3 (master of VI_B) side by side, each the other's backup, signed
// with auth_hmac; an attacker on the LAN sends, at priority 255 where it
// chooses the priority: adverts sealed with a wrong key for key id 1,
// adverts with an unknown key id, unsigned ones, captured signed adverts
// of the masters replayed, the masters' captured priority-0 adverts
// replayed while they are back as masters (within the freshness window)
// and again after it, and correctly signed adverts stamped 60 s ago.
// None moves a VIP or changes a state; vrrpd counts each kind of drop.
// Then the control: a correctly signed priority 255 makes both masters
// step down.
func TestHMACAttacksWithKeepalived243(t *testing.T) {
	t.Parallel()
	a := startHMACAttackLab(t, func(self, _ *netlab.Host, prioA, prioB int) string { return attackConf(self, prioA, prioB) })
	h1, h2, h3, atk := a.h1, a.h2, a.h3, a.atk
	key9, _ := auth.NewKey(9, mustHex(t, hmacLabKeys[9]))
	unknown := hmacSigner(t, key9)
	before := instanceStatus(a.v.status(), "VI_B").Counters.Drops
	if len(before) > 0 {
		t.Logf("drops before the attacks: %v", before)
	}

	// Replays first, while the priority 0s are within the freshness
	// window (5 s at 100 ms): refused as replays.
	a.attack("replayed adverts", func() { atk.send(a.advA, h1.IPv4); atk.send(a.advB, h2.IPv4) })
	a.attack("replayed priority 0, within the window", func() { atk.send(a.zeroA, h1.IPv4); atk.send(a.zeroB, h2.IPv4) })
	if d := time.Since(a.zeroAt); d > 4*time.Second {
		t.Errorf("the replays came %v after the priority 0: not within the window any more", d)
	}
	for _, vrid := range []int{61, 62} {
		a.attack(fmt.Sprintf("VRID %d, wrong key", vrid), func() { atk.send(forge(t, vrid, 255, h3.IPv4, a.bad, time.Now()), h3.IPv4) })
		a.attack(fmt.Sprintf("VRID %d, unknown key id", vrid), func() { atk.send(forge(t, vrid, 255, h3.IPv4, unknown, time.Now()), h3.IPv4) })
		a.attack(fmt.Sprintf("VRID %d, unsigned", vrid), func() { atk.send(forge(t, vrid, 255, h3.IPv4, nil, time.Now()), h3.IPv4) })
		a.attack(fmt.Sprintf("VRID %d, 60 s old", vrid), func() {
			atk.send(forge(t, vrid, 255, h3.IPv4, a.good, time.Now().Add(-time.Minute)), h3.IPv4)
		})
	}
	// The captured priority 0s once more, outside the window: once both
	// masters have advertised 6 s after keepalived's priority 0, the
	// capture is older than the window on both hosts' clocks.
	awaitFirstAdvert(t, a.capture, h1.MAC, 61, a.zeroAt.Add(6*time.Second))
	awaitFirstAdvert(t, a.capture, h2.MAC, 62, a.zeroAt.Add(6*time.Second))
	a.attack("replayed priority 0, outside the window", func() { atk.send(a.zeroA, h1.IPv4); atk.send(a.zeroB, h2.IPv4) })

	dropsB := instanceStatus(a.v.status(), "VI_B").Counters.Drops
	// Five of each kind for VI_B, whose master is keepalived: each one
	// counted, none taken.
	for r, n := range map[string]uint64{"hmac": 5, "hmac-key-id": 5, "hmac-missing": 5,
		"hmac-replay": 10, // the replayed advert and priority 0
		"hmac-stale":  10, // the 60 s old advert and the aged priority 0
	} {
		if dropsB[r]-before[r] != n {
			t.Errorf("vrrpd counted %d %s drops for VI_B, want %d: %v", dropsB[r]-before[r], r, n, dropsB)
		}
	}
	for _, re := range []string{`invalid authentication HMAC`, `unknown authentication key id`} {
		if len(a.k.log.grep(a.marks[1], regexp.MustCompile(re))) == 0 {
			t.Errorf("keepalived logged no %q", re)
		}
	}
	t.Logf("vrrpd's VI_B drops: %v", dropsB)

	// The control: a correctly signed higher priority, fresh.
	a.control(func(vrid int) func() {
		return func() { atk.send(forge(t, vrid, 255, h3.IPv4, a.good, time.Now()), h3.IPv4) }
	})
}
