package main

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// unicastAttackConf is attackConf by unicast between self and peer, with
// keepalived's default source rule (no check_unicast_src: any source is
// taken), so that only auth_hmac stands between an attacker and the VIPs.
func unicastAttackConf(self, peer *netlab.Host, prioA, prioB int) string {
	uni := fmt.Sprintf("  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", self.IPv4, peer.IPv4)
	return strings.ReplaceAll(attackConf(self, prioA, prioB), "  auth_hmac {", uni+"  auth_hmac {")
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
	a := startHMACAttackLab(t, unicastAttackConf)
	h1, h2, atk := a.h1, a.h2, a.atk
	stranger := netip.MustParseAddr("192.0.2.7")
	st := a.v.status()
	beforeA, beforeB := instanceStatus(st, "VI_A").Counters.Drops, instanceStatus(st, "VI_B").Counters.Drops

	const offLink = 7
	// forged is a priority 255 sealed by h (nil: unsigned), at now, for
	// VRID 61 from the stranger to vrrpd or for VRID 62 from vrrpd's
	// address to keepalived.
	forged := func(vrid int, h *auth.HMAC) func() {
		src, dst := stranger, h1.IPv4
		if vrid == 62 {
			src, dst = h1.IPv4, h2.IPv4
		}
		return func() { atk.sendTo(forgeTo(t, vrid, 255, src, dst, h, time.Now()), src, dst, offLink) }
	}
	a.attack("replayed adverts, off-link", func() {
		atk.sendTo(a.advA, h1.IPv4, h2.IPv4, offLink)
		atk.sendTo(a.advB, h2.IPv4, h1.IPv4, offLink)
	})
	a.attack("replayed priority 0, off-link", func() {
		atk.sendTo(a.zeroA, h1.IPv4, h2.IPv4, offLink)
		atk.sendTo(a.zeroB, h2.IPv4, h1.IPv4, offLink)
	})
	a.attack("unsigned priority 255, off-link", func() { forged(61, nil)(); forged(62, nil)() })
	a.attack("priority 255 with a wrong key, off-link", func() { forged(61, a.bad)(); forged(62, a.bad)() })

	// vrrpd is VI_B's backup (the replays of keepalived's adverts) and
	// VI_A's master (the stranger's forgeries).
	st = a.v.status()
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
		if len(a.k.log.grep(a.marks[1], regexp.MustCompile(re))) == 0 {
			t.Errorf("keepalived logged no %q", re)
		}
	}
	t.Logf("vrrpd's drops: VI_A %v, VI_B %v", dropsA, dropsB)

	// The control: correctly signed, fresh, by the same off-link route.
	a.control(func(vrid int) func() { return forged(vrid, a.good) })
}
