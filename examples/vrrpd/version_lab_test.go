package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestOtherVersionPeerIsLoud: keepalived with its default VRRPv2 and
// vrrpd with version 3 on one VRID do not hear each other, and both hold
// the VIPs. vrrpd says so once in its log, and its status names
// keepalived's address and version while the drops are counted.
func TestOtherVersionPeerIsLoud(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	lab := netlab.New(t, 2)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	// vrrpd advertises less often than keepalived: keepalived 2.2.7 as a
	// master sent no advert of its own while a v3 advert reached it every
	// interval (1 advert on the wire in 20 s at 1 s each side).
	v3 := mode{version: 3, interval: 3 * time.Second}
	v2 := mode{version: 2, interval: time.Second}
	// keepalived's own default, no vrrp_version line.
	kconf := strings.Replace(v2.instanceConf(h2, nil, 100, ""), "  vrrp_version 2\n", "", 1)
	k := ld.keepalived(h2, kconf)
	v := ld.vrrpd(h1, t.TempDir(), v3.instanceConf(h1, nil, 200, ""))
	k.await(0, `\(VI_1\) Entering MASTER STATE`)
	v.await(0, `\(VI_1\) Entering MASTER STATE`)
	st := v.awaitStatus("keepalived named as a VRRPv2 peer after 5 of its adverts", func(st *Status) bool {
		in := instanceStatus(st, "VI_1")
		return in != nil && in.OtherVersion != nil && in.Counters.Drops["version"] >= 5
	})
	in := instanceStatus(st, "VI_1")
	if o := in.OtherVersion; o.Address != h2.IPv4.String() || o.Version != 2 || time.Since(o.LastSeen) > 3*time.Second {
		t.Errorf("other_version_peer %+v, want %s, version 2, seen in the last seconds", o, h2.IPv4)
	}
	if in.State != "MASTER" {
		t.Errorf("vrrpd is %s, want MASTER (it cannot hear keepalived)", in.State)
	}
	awaitHolders(t, v3.vips(), []string{"h1", "h2"}, h1, h2)
	// The lab runs vrrpd with -D, which adds every drop at Debug (those
	// carry "suppressed"): one warning, the rest detail.
	if lines := v.log.grep(0, regexp.MustCompile(`invalid version\. 2 and expect 3 \{"from": "[0-9.]+", "drop": "version"\}$`)); len(lines) != 1 {
		t.Errorf("%d warnings about the version in %d dropped adverts, want 1:\n%s",
			len(lines), in.Counters.Drops["version"], strings.Join(lines, "\n"))
	}
	v.terminate()
	k.terminate()
}
