package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/kalab"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// unicastAttackConf is attackConf by unicast between self and peer, with
// keepalived's default source rule (no check_unicast_src: any source is
// taken), so that only auth_hmac stands between an attacker and the VIPs.
func unicastAttackConf(self, peer *netlab.Host, prioA, prioB int) string {
	uni := fmt.Sprintf("  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", self.IPv4, peer.IPv4)
	return strings.ReplaceAll(attackConf(self, prioA, prioB), "  auth_hmac {", uni+"  auth_hmac {")
}

// sendTo sends payload from src to dst with the given TTL, as a packet
// routed from another network would arrive.
func (s *rawSender) sendTo(payload []byte, src, dst netip.Addr, ttl uint8) {
	s.t.Helper()
	b := make([]byte, 20+len(payload))
	s.id++
	b[0], b[1] = 0x45, 0xc0
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], s.id|1)
	b[8], b[9] = ttl, advert.ProtocolNumber
	sa, da := src.As4(), dst.As4()
	copy(b[12:16], sa[:])
	copy(b[16:20], da[:])
	copy(b[20:], payload)
	if err := unix.Sendto(s.fd, b, 0, &unix.SockaddrInet4{Addr: da}); err != nil && err != syscall.ENOBUFS {
		s.t.Errorf("raw send: %v", err)
	}
}

// forgeTo is forge for a unicast advert to dst (the VRRPv3 checksum's
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
	if msg, err = h.AppendTrailer(msg, msg, src, auth.SeqAt(at)); err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestHMACUnicastOffLinkAttacksWithKeepalived243: the unicast group of
// TestHMACAttacksWithKeepalived243 (vrrpd master of VI_A, keepalived 2.4.3
// master of VI_B, each the other's backup, auth_hmac, no source check). The
// attacker sends unicast with TTL 7, as from another network: to each
// backup, the masters' captured priority-0 and ordinary adverts replayed
// from the masters' own addresses; to each master, priority-255 adverts,
// unsigned and sealed with a wrong key — to vrrpd from a stranger's
// address (it takes any source, as keepalived 2.2.7 does), to keepalived
// 2.4.3 from its peer's (it refuses other sources: "not a unicast peer").
// None moves a VIP or changes a state. The control, the same priority 255
// correctly signed, by the same route, makes both masters step down.
func TestHMACUnicastOffLinkAttacksWithKeepalived243(t *testing.T) {
	t.Parallel()
	bin := kalab.Binary(t)
	lab := netlab.New(t, 3)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2, h3 := lab.Host(1), lab.Host(2), lab.Host(3)
	vipA, vipB := []netip.Prefix{netip.MustParsePrefix("10.0.0.161/24")}, []netip.Prefix{netip.MustParsePrefix("10.0.0.162/24")}
	vdir := t.TempDir()
	stranger := netip.MustParseAddr("192.0.2.7")

	k := ld.keepalivedEnv(h2, bin, unicastAttackConf(h2, h1, 100, 200), nil)
	v := ld.vrrpd(h1, vdir, unicastAttackConf(h1, h2, 200, 100))
	v.awaitStatus("VI_A master, VI_B backup", func(st *Status) bool {
		return inState("VI_A", "MASTER")(st) && inState("VI_B", "BACKUP")(st)
	})
	awaitHolders(t, vipA, []string{"h1"}, h1, h2)
	awaitHolders(t, vipB, []string{"h2"}, h1, h2)

	// Each master leaves once (a priority 0 to capture) and comes back.
	v.terminate()
	awaitHolders(t, vipA, []string{"h2"}, h1, h2)
	v = ld.vrrpd(h1, vdir, unicastAttackConf(h1, h2, 200, 100))
	v.awaitStatus("VI_A master again", inState("VI_A", "MASTER"))
	k.terminate()
	v.awaitStatus("VI_B master", inState("VI_B", "MASTER"))
	k = ld.keepalivedEnv(h2, bin, unicastAttackConf(h2, h1, 100, 200), nil)
	k.await(0, `\(VI_B\) Entering MASTER STATE`)
	v.awaitStatus("VI_B backup again", inState("VI_B", "BACKUP"))
	awaitHolders(t, vipA, []string{"h1"}, h1, h2)
	awaitHolders(t, vipB, []string{"h2"}, h1, h2)
	zeroA, _ := captured(t, capture, h1.MAC, 61, 0)
	zeroB, _ := captured(t, capture, h2.MAC, 62, 0)
	advA, _ := captured(t, capture, h1.MAC, 61, 200)
	advB, _ := captured(t, capture, h2.MAC, 62, 200)

	key1, _ := auth.NewKey(1, mustHex(t, hmacLabKeys[1]))
	wrong, _ := auth.NewKey(1, mustHex(t, hmacLabKeys[9]))
	signer := func(k auth.Key) *auth.HMAC {
		h, err := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{k}, ActiveKey: k.ID()})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	good, bad := signer(key1), signer(wrong)
	atk := newRawSender(t, h3)
	marks := []int{v.log.mark(), k.log.mark()}
	st := v.status()
	beforeA, beforeB := instanceStatus(st, "VI_A").Counters.Drops, instanceStatus(st, "VI_B").Counters.Drops

	attack := func(what string, send func()) {
		t.Helper()
		for range 5 {
			send()
			time.Sleep(20 * time.Millisecond) // the attacker's pace, not a wait for the daemons
		}
		// Long enough for a backup that took a priority 0 to take over
		// (Skew_Time, < 0.2 s): 5 adverts of each master later.
		now := time.Now()
		for range 5 {
			awaitFirstAdvert(t, capture, h1.MAC, 61, now)
			awaitFirstAdvert(t, capture, h2.MAC, 62, now)
			now = now.Add(100 * time.Millisecond)
		}
		for i, p := range []*proc{v, k} {
			if l := p.log.grep(marks[i], regexp.MustCompile(`Entering|priority 0`)); len(l) > 0 {
				t.Errorf("%s: %s changed a state:\n%s", what, p.name, strings.Join(l, "\n"))
			}
		}
		awaitHolders(t, vipA, []string{"h1"}, h1, h2)
		awaitHolders(t, vipB, []string{"h2"}, h1, h2)
	}
	const offLink = 7
	attack("replayed adverts, off-link", func() {
		atk.sendTo(advA, h1.IPv4, h2.IPv4, offLink)
		atk.sendTo(advB, h2.IPv4, h1.IPv4, offLink)
	})
	attack("replayed priority 0, off-link", func() {
		atk.sendTo(zeroA, h1.IPv4, h2.IPv4, offLink)
		atk.sendTo(zeroB, h2.IPv4, h1.IPv4, offLink)
	})
	attack("unsigned priority 255, off-link", func() {
		atk.sendTo(forgeTo(t, 61, 255, stranger, h1.IPv4, nil, time.Now()), stranger, h1.IPv4, offLink)
		atk.sendTo(forgeTo(t, 62, 255, h1.IPv4, h2.IPv4, nil, time.Now()), h1.IPv4, h2.IPv4, offLink)
	})
	attack("priority 255 with a wrong key, off-link", func() {
		atk.sendTo(forgeTo(t, 61, 255, stranger, h1.IPv4, bad, time.Now()), stranger, h1.IPv4, offLink)
		atk.sendTo(forgeTo(t, 62, 255, h1.IPv4, h2.IPv4, bad, time.Now()), h1.IPv4, h2.IPv4, offLink)
	})

	// vrrpd is VI_B's backup (the replays of keepalived's adverts) and
	// VI_A's master (the stranger's forgeries).
	st = v.status()
	dropsA, dropsB := instanceStatus(st, "VI_A").Counters.Drops, instanceStatus(st, "VI_B").Counters.Drops
	for _, c := range []struct {
		name          string
		drops, before map[string]uint64
		want          map[string]uint64
	}{
		{"VI_B", dropsB, beforeB, map[string]uint64{"hmac-replay": 10}},
		{"VI_A", dropsA, beforeA, map[string]uint64{"hmac-missing": 5, "hmac": 5}},
	} {
		for r, n := range c.want {
			if got := c.drops[r] - c.before[r]; got != n {
				t.Errorf("vrrpd counted %d %s drops for %s, want %d: %v", got, r, c.name, n, c.drops)
			}
		}
	}
	for _, re := range []string{`invalid authentication HMAC`, `missing authentication trailer`, `replayed authentication trailer`} {
		if len(k.log.grep(marks[1], regexp.MustCompile(re))) == 0 {
			t.Errorf("keepalived logged no %q", re)
		}
	}
	t.Logf("vrrpd's drops: VI_A %v, VI_B %v", dropsA, dropsB)

	// The control: correctly signed, fresh, by the same off-link route.
	for range 3 {
		atk.sendTo(forgeTo(t, 61, 255, stranger, h1.IPv4, good, time.Now()), stranger, h1.IPv4, offLink)
		atk.sendTo(forgeTo(t, 62, 255, h1.IPv4, h2.IPv4, good, time.Now()), h1.IPv4, h2.IPv4, offLink)
	}
	v.await(marks[0], `\(VI_A\) Entering BACKUP STATE`)
	k.await(marks[1], `\(VI_B\) Entering BACKUP STATE`)
	v.terminate()
}
