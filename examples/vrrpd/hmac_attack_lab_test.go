package main

import (
	"bytes"
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

// rawSender sends IPv4 packets with any source from a lab host.
type rawSender struct {
	t  *testing.T
	fd int
	id uint16
}

func newRawSender(t *testing.T, h *netlab.Host) *rawSender {
	t.Helper()
	s := &rawSender{t: t, fd: -1}
	if err := h.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		s.fd = fd
		return unix.BindToDevice(fd, h.Ifname)
	}); err != nil {
		t.Fatalf("raw socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(s.fd) })
	return s
}

// send sends payload (a VRRP message, trailer included) from src to the
// VRRP group with TTL 255.
func (s *rawSender) send(payload []byte, src netip.Addr) {
	s.t.Helper()
	b := make([]byte, 20+len(payload))
	s.id++
	b[0], b[1] = 0x45, 0xc0
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], s.id|1)
	b[8], b[9] = 255, advert.ProtocolNumber
	sa, da := src.As4(), advert.GroupIPv4.As4()
	copy(b[12:16], sa[:])
	copy(b[16:20], da[:])
	copy(b[20:], payload)
	if err := unix.Sendto(s.fd, b, 0, &unix.SockaddrInet4{Addr: da}); err != nil && err != syscall.ENOBUFS {
		s.t.Errorf("raw send: %v", err)
	}
}

// forge is a VRRPv3 advert for vrid at prio from src, signed by h at the
// sequence of time at (h nil: unsigned).
func forge(t *testing.T, vrid int, prio uint8, src netip.Addr, h *auth.HMAC, at time.Time) []byte {
	t.Helper()
	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: uint8(vrid), Priority: prio,
		Interval: 100 * time.Millisecond, Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, byte(vrid + 100)})}}
	msg, err := a.Append(nil, src, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		return msg
	}
	msg, err = h.AppendTrailer(msg, msg, src, auth.SeqAt(at))
	if err != nil {
		t.Fatal(err)
	}
	// The checksum over IPv4 covers the message alone: Append wrote it.
	return msg
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
	bin := kalab.Binary(t)
	lab := netlab.New(t, 3)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2, h3 := lab.Host(1), lab.Host(2), lab.Host(3)
	vipA, vipB := []netip.Prefix{netip.MustParsePrefix("10.0.0.161/24")}, []netip.Prefix{netip.MustParsePrefix("10.0.0.162/24")}
	vdir := t.TempDir()

	k := ld.keepalivedEnv(h2, bin, attackConf(h2, 100, 200), nil)
	v := ld.vrrpd(h1, vdir, attackConf(h1, 200, 100))
	v.awaitStatus("VI_A master, VI_B backup", func(st *Status) bool {
		return inState("VI_A", "MASTER")(st) && inState("VI_B", "BACKUP")(st)
	})
	awaitHolders(t, vipA, []string{"h1"}, h1, h2)
	awaitHolders(t, vipB, []string{"h2"}, h1, h2)

	// Each master leaves once (a priority 0 to capture) and comes back.
	v.terminate()
	awaitHolders(t, vipA, []string{"h2"}, h1, h2)
	v = ld.vrrpd(h1, vdir, attackConf(h1, 200, 100))
	v.awaitStatus("VI_A master again", inState("VI_A", "MASTER"))
	k.terminate()
	v.awaitStatus("VI_B master", inState("VI_B", "MASTER"))
	k = ld.keepalivedEnv(h2, bin, attackConf(h2, 100, 200), nil)
	k.await(0, `\(VI_B\) Entering MASTER STATE`)
	v.awaitStatus("VI_B backup again", inState("VI_B", "BACKUP"))
	awaitHolders(t, vipA, []string{"h1"}, h1, h2)
	awaitHolders(t, vipB, []string{"h2"}, h1, h2)
	zeroA, _ := captured(t, capture, h1.MAC, 61, 0)
	zeroB, zeroAt := captured(t, capture, h2.MAC, 62, 0)
	advA, _ := captured(t, capture, h1.MAC, 61, 200)
	advB, _ := captured(t, capture, h2.MAC, 62, 200)

	key1, _ := auth.NewKey(1, mustHex(t, hmacLabKeys[1]))
	wrong, _ := auth.NewKey(1, mustHex(t, hmacLabKeys[9]))
	key9, _ := auth.NewKey(9, mustHex(t, hmacLabKeys[9]))
	signer := func(k auth.Key) *auth.HMAC {
		h, err := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{k}, ActiveKey: k.ID()})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	good, bad, unknown := signer(key1), signer(wrong), signer(key9)
	atk := newRawSender(t, h3)
	marks := []int{v.log.mark(), k.log.mark()}
	before := instanceStatus(v.status(), "VI_B").Counters.Drops
	if len(before) > 0 {
		t.Logf("drops before the attacks: %v", before)
	}

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
	// Replays first, while the priority 0s are within the freshness
	// window (5 s at 100 ms): refused as replays.
	attack("replayed adverts", func() { atk.send(advA, h1.IPv4); atk.send(advB, h2.IPv4) })
	attack("replayed priority 0, within the window", func() { atk.send(zeroA, h1.IPv4); atk.send(zeroB, h2.IPv4) })
	if d := time.Since(zeroAt); d > 4*time.Second {
		t.Errorf("the replays came %v after the priority 0: not within the window any more", d)
	}
	for _, vrid := range []int{61, 62} {
		attack(fmt.Sprintf("VRID %d, wrong key", vrid), func() { atk.send(forge(t, vrid, 255, h3.IPv4, bad, time.Now()), h3.IPv4) })
		attack(fmt.Sprintf("VRID %d, unknown key id", vrid), func() { atk.send(forge(t, vrid, 255, h3.IPv4, unknown, time.Now()), h3.IPv4) })
		attack(fmt.Sprintf("VRID %d, unsigned", vrid), func() { atk.send(forge(t, vrid, 255, h3.IPv4, nil, time.Now()), h3.IPv4) })
		attack(fmt.Sprintf("VRID %d, 60 s old", vrid), func() {
			atk.send(forge(t, vrid, 255, h3.IPv4, good, time.Now().Add(-time.Minute)), h3.IPv4)
		})
	}
	// Long after its sender went silent about it: the captured priority
	// 0s once more, now outside the window (the point of the wait: the
	// capture must age, nothing is settling).
	time.Sleep(time.Until(zeroAt.Add(6 * time.Second)))
	attack("replayed priority 0, outside the window", func() { atk.send(zeroA, h1.IPv4); atk.send(zeroB, h2.IPv4) })

	st := v.status()
	dropsB := instanceStatus(st, "VI_B").Counters.Drops
	// Five of each kind for VI_B, whose master is keepalived: each one
	// counted, none taken.
	for r, n := range map[string]uint64{"hmac": 5, "hmac-key-id": 5, "hmac-missing": 5,
		"hmac-replay": 10, // the replayed advert and priority 0
		"hmac-stale":  10, // the 60 s old advert and the aged priority 0
	} {
		if dropsB[r] != n {
			t.Errorf("vrrpd counted %d %s drops for VI_B, want %d: %v", dropsB[r], r, n, dropsB)
		}
	}
	for _, re := range []string{`invalid authentication HMAC`, `unknown authentication key id`} {
		if len(k.log.grep(marks[1], regexp.MustCompile(re))) == 0 {
			t.Errorf("keepalived logged no %q", re)
		}
	}
	t.Logf("vrrpd's VI_B drops: %v", dropsB)

	// The control: a correctly signed higher priority, fresh.
	for range 3 {
		atk.send(forge(t, 61, 255, h3.IPv4, good, time.Now()), h3.IPv4)
		atk.send(forge(t, 62, 255, h3.IPv4, good, time.Now()), h3.IPv4)
	}
	v.await(marks[0], `\(VI_A\) Entering BACKUP STATE`)
	k.await(marks[1], `\(VI_B\) Entering BACKUP STATE`)
	v.terminate()
}
