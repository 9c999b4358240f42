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
)

// TestGroupsWithKeepalived runs the larger shapes with keepalived in the
// group: three nodes by unicast (the Postgres shape), a sync group failing
// over together, and a tracking script moving the VIP.
func TestGroupsWithKeepalived(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	concurrently(t, []labCase{
		{"postgres-three-nodes-unicast", testPostgresThreeNodes},
		{"sync-group-fails-over-together", testSyncGroupFailsOverTogether},
		{"track-script-moves-vip-to-keepalived", testTrackScriptMovesVIP},
	})
}

// touch creates (on) or removes (off) a file.
func touch(t *testing.T, path string, on bool) {
	t.Helper()
	if on {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// testPostgresThreeNodes: two vrrpd and one keepalived by unicast, the VIP
// following whichever node's health check says it runs the primary; the
// others stay in FAULT.
func testPostgresThreeNodes(t *testing.T) {
	lab := netlab.New(t, 3)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	hosts := lab.Hosts()
	flags := t.TempDir()
	primary := func(h *netlab.Host) string { return filepath.Join(flags, "primary-"+h.Name) }
	vip := netip.MustParsePrefix("10.0.0.110/24")
	conf := func(self *netlab.Host) string {
		var peers strings.Builder
		for _, h := range hosts {
			if h != self {
				fmt.Fprintf(&peers, "    %s\n", h.IPv4)
			}
		}
		return fmt.Sprintf(`global_defs {
    router_id pg-%s
    vrrp_version 3
}
vrrp_script chk_primary {
    script "/usr/bin/test -e %s"
    interval 1
    fall 1
    rise 1
}
vrrp_instance PG_VIP {
    state BACKUP
    interface eth0
    virtual_router_id 60
    priority 100
    advert_int 0.1
    unicast_src_ip %s
    unicast_peer {
%s    }
    virtual_ipaddress {
        %s dev eth0 label eth0:pg
    }
    track_script {
        chk_primary
    }
}
`, self.Name, primary(self), self.IPv4, peers.String(), vip)
	}
	touch(t, primary(hosts[0]), true)
	v1 := ld.vrrpd(hosts[0], t.TempDir(), conf(hosts[0]))
	v2 := ld.vrrpd(hosts[1], t.TempDir(), conf(hosts[1]))
	k := ld.keepalived(hosts[2], conf(hosts[2]))

	v1.awaitStatus("pg1 master", inState("PG_VIP", "MASTER"))
	v2.awaitStatus("pg2 in fault", inState("PG_VIP", "FAULT"))
	// Its script failed before it started: straight to FAULT, as
	// keepalived goes from INIT to FAULT, with no BACKUP (and no
	// notify_backup) in between.
	if first := v2.log.grep(0, regexp.MustCompile(`\(PG_VIP\) Entering`)); len(first) == 0 || !strings.Contains(first[0], "Entering FAULT STATE (init)") {
		t.Errorf("pg2's first transition: %q, want straight to FAULT", first)
	}
	// keepalived keeps an instance whose script fails from the start in
	// INIT, and says so only through the script.
	k.await(0, `VRRP_Script\(chk_primary\) failed`)
	awaitHolders(t, []netip.Prefix{vip}, []string{"h1"}, hosts...)
	if lbl, _ := hosts[0].Run("ip", "-o", "addr", "show", "label", "eth0:pg"); !strings.Contains(lbl, vip.String()) {
		t.Errorf("the VIP has no label eth0:pg on h1: %q", lbl)
	}

	// The primary moves to keepalived's node.
	kmark := k.log.mark()
	touch(t, primary(hosts[0]), false)
	touch(t, primary(hosts[2]), true)
	v1.awaitStatus("pg1 in fault", inState("PG_VIP", "FAULT"))
	k.await(kmark, `\(PG_VIP\) Entering MASTER STATE`)
	awaitHolders(t, []netip.Prefix{vip}, []string{"h3"}, hosts...)

	// And to the other vrrpd.
	kmark = k.log.mark()
	touch(t, primary(hosts[2]), false)
	touch(t, primary(hosts[1]), true)
	v2.awaitStatus("pg2 master", inState("PG_VIP", "MASTER"))
	k.await(kmark, `\(PG_VIP\) Entering FAULT STATE`)
	awaitHolders(t, []netip.Prefix{vip}, []string{"h2"}, hosts...)
	st := v2.status()
	in := instanceStatus(st, "PG_VIP")
	if len(in.Trackers) != 1 || in.Trackers[0].Name != "script chk_primary" || !in.Trackers[0].Up {
		t.Errorf("pg2's trackers = %+v, want script chk_primary up", in.Trackers)
	}
	checkNoDrops(t, v2)
	for _, p := range []*proc{v1, v2, k} {
		p.terminate()
	}
	ld.checkNoComplaints()
}

// testSyncGroupFailsOverTogether: a fault in one member of a sync group
// takes every member to keepalived, and back.
func testSyncGroupFailsOverTogether(t *testing.T) {
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	vdir := t.TempDir()
	maint := filepath.Join(vdir, "maint")
	if err := os.WriteFile(maint, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vipA, vipB := netip.MustParsePrefix("10.0.0.161/24"), netip.MustParsePrefix("10.0.0.162/24")
	conf := func(self *netlab.Host, prio int, extra, trackA string) string {
		return fmt.Sprintf(`global_defs {
    router_id %s
    vrrp_version 3
}
%s
vrrp_sync_group G {
    group {
        VI_A
        VI_B
    }
%s}
vrrp_instance VI_A {
    interface eth0
    virtual_router_id 61
    priority %d
    advert_int 0.1
    virtual_ipaddress {
        %s
    }
%s}
vrrp_instance VI_B {
    interface eth0
    virtual_router_id 62
    priority %d
    advert_int 0.1
    virtual_ipaddress {
        %s
    }
}
`, self.Name, extra, groupNotify(t, vdir, self == h1), prio, vipA, trackA, prio, vipB)
	}
	k := ld.keepalived(h2, conf(h2, 100, "", ""))
	v := ld.vrrpd(h1, vdir, conf(h1, 200, fmt.Sprintf("track_file maint {\n    file %q\n}", maint), "    track_file {\n        maint\n    }\n"))
	v.awaitStatus("master of both", func(st *Status) bool {
		return inState("VI_A", "MASTER")(st) && inState("VI_B", "MASTER")(st)
	})
	k.await(0, `\(VI_A\) Entering BACKUP STATE`)
	k.await(0, `\(VI_B\) Entering BACKUP STATE`)
	awaitHolders(t, []netip.Prefix{vipA, vipB}, []string{"h1"}, h1, h2)

	// A fault in VI_A alone: both go.
	kmark := k.log.mark()
	faulted := time.Now()
	if err := os.WriteFile(maint, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.awaitStatus("both in fault", func(st *Status) bool {
		return inState("VI_A", "FAULT")(st) && inState("VI_B", "FAULT")(st)
	})
	k.await(kmark, `\(VI_A\) Entering MASTER STATE`)
	k.await(kmark, `\(VI_B\) Entering MASTER STATE`)
	awaitFirstAdvert(t, capture, h2.MAC, 61, faulted)
	awaitFirstAdvert(t, capture, h2.MAC, 62, faulted)
	awaitHolders(t, []netip.Prefix{vipA, vipB}, []string{"h2"}, h1, h2)

	// Cleared: both come back together.
	kmark = k.log.mark()
	cleared := time.Now()
	if err := os.WriteFile(maint, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.awaitStatus("master of both again", func(st *Status) bool {
		return inState("VI_A", "MASTER")(st) && inState("VI_B", "MASTER")(st)
	})
	k.await(kmark, `\(VI_A\) Entering BACKUP STATE`)
	k.await(kmark, `\(VI_B\) Entering BACKUP STATE`)
	a := awaitFirstAdvert(t, capture, h1.MAC, 61, cleared)
	b := awaitFirstAdvert(t, capture, h1.MAC, 62, cleared)
	if d := a.time.Sub(b.time).Abs(); d > 50*time.Millisecond {
		t.Errorf("the members became master %v apart, not together", d)
	}
	awaitHolders(t, []netip.Prefix{vipA, vipB}, []string{"h1"}, h1, h2)
	checkNoDrops(t, v)
	v.terminate()
	want := []string{"GROUP_G_BACKUP_0", "GROUP_G_MASTER_0", "GROUP_G_FAULT_0", "GROUP_G_BACKUP_0", "GROUP_G_MASTER_0", "GROUP_G_STOP_0"}
	if got := readNotifyLog(t, vdir); !slices.Equal(got, want) {
		t.Errorf("the sync group's notify ran as %q, want %q", got, want)
	}
	k.terminate()
	ld.checkNoComplaints()
}

// groupNotify is the sync group's notify line for vrrpd (with=true).
func groupNotify(t *testing.T, dir string, with bool) string {
	if !with {
		return ""
	}
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+filepath.Join(dir, "notify.log")+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("    notify %q\n", script)
}

// testTrackScriptMovesVIP: a failing vrrp_script lowers vrrpd's priority
// below keepalived's, which preempts; the script recovering takes the VIP
// back.
func testTrackScriptMovesVIP(t *testing.T) {
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	vdir := t.TempDir()
	fail := filepath.Join(vdir, "fail")
	vip := netip.MustParsePrefix("10.0.0.170/24")
	conf := func(self *netlab.Host, prio int, script, track string) string {
		return fmt.Sprintf(`global_defs {
    router_id %s
    vrrp_version 3
}
%s
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 70
    priority %d
    advert_int 0.1
    virtual_ipaddress {
        %s
    }
%s}
`, self.Name, script, prio, vip, track)
	}
	k := ld.keepalived(h2, conf(h2, 120, "", ""))
	v := ld.vrrpd(h1, vdir, conf(h1, 150,
		fmt.Sprintf("vrrp_script chk {\n    script \"/usr/bin/test ! -e %s\"\n    interval 1\n    weight -60\n}", fail),
		"    track_script {\n        chk\n    }\n"))
	v.awaitStatus("master", inState("VI_1", "MASTER"))
	k.await(0, `\(VI_1\) Entering BACKUP STATE`)
	awaitHolders(t, []netip.Prefix{vip}, []string{"h1"}, h1, h2)

	kmark := k.log.mark()
	vmark := v.log.mark()
	touch(t, fail, true)
	v.await(vmark, `\(VI_1\) Changing effective priority from 150 to 90`)
	k.await(kmark, `\(VI_1\) Entering MASTER STATE`)
	v.await(vmark, `\(VI_1\) Entering BACKUP STATE`)
	awaitHolders(t, []netip.Prefix{vip}, []string{"h2"}, h1, h2)
	st := v.status()
	if in := instanceStatus(st, "VI_1"); in.Priority != 90 || len(in.Trackers) != 1 || in.Trackers[0].Up || in.Trackers[0].Delta != -60 {
		t.Errorf("status: priority %d, trackers %+v; want 90 and script chk down -60", in.Priority, in.Trackers)
	}

	kmark = k.log.mark()
	vmark = v.log.mark()
	touch(t, fail, false)
	v.await(vmark, `\(VI_1\) Changing effective priority from 90 to 150`)
	v.await(vmark, `\(VI_1\) Entering MASTER STATE`)
	k.await(kmark, `\(VI_1\) Entering BACKUP STATE`)
	awaitHolders(t, []netip.Prefix{vip}, []string{"h1"}, h1, h2)
	checkNoDrops(t, v)
	v.terminate()
	k.terminate()
	ld.checkNoComplaints()
}
