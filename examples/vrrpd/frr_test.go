package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// frrDir is where Debian's frr package puts its daemons.
const frrDir = "/usr/lib/frr"

// needFRR skips the test when FRR is not installed (fails under
// VRRPKIT_REQUIRE_NETNS=1).
func needFRR(t *testing.T) {
	t.Helper()
	for _, d := range []string{"zebra", "vrrpd"} {
		if _, err := os.Stat(filepath.Join(frrDir, d)); err != nil {
			reason := "FRR is not installed (" + filepath.Join(frrDir, d) + ": " + err.Error() + "; Debian's package frr)"
			if os.Getenv(netlab.RequireEnv) == "1" {
				t.Fatalf("%s, and %s=1 forbids skipping", reason, netlab.RequireEnv)
			}
			t.Skip(reason + "; skipping")
		}
	}
}

// startFRR runs FRR's zebra and vrrpd in h with vrrpdConf, with a
// directory of their own for the configuration, the pid files and the
// sockets (owned by the frr user, which the daemons run as), and returns
// vrrpd.
func (ld *labDaemon) startFRR(h *netlab.Host, vrrpdConf string) *proc {
	t := ld.t
	t.Helper()
	u, err := user.Lookup("frr")
	if err != nil {
		t.Fatalf("FRR's user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "vrrpkit-frr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	conf := func(name, text string) string {
		p := writeConf(t, dir, name, "hostname "+h.Name+"\nlog stdout debugging\n"+text)
		return p
	}
	zconf := conf("zebra.conf", "")
	vconf := conf("vrrpd.conf", "debug vrrp\n"+vrrpdConf)
	run := func(daemon, cfg string) *proc {
		cmd := h.Command(context.Background(), filepath.Join(frrDir, daemon), "-f", cfg,
			"-i", filepath.Join(dir, daemon+".pid"), "-z", filepath.Join(dir, "zserv.api"), "--vty_socket", dir,
			"-u", "frr", "-g", "frr", "--log", "stdout", "-A", "127.0.0.1", "-P", "0")
		return ld.start("frr-"+daemon+"@"+h.Name, h, dir, cmd)
	}
	z := run("zebra", zconf)
	// vrrpd connects to zebra's socket: wait for it.
	if err := poll(func() bool { _, err := os.Stat(filepath.Join(dir, "zserv.api")); return err == nil }); err != nil {
		t.Fatalf("zebra made no socket: %v\n%v", err, z.log.all())
	}
	return run("vrrpd", vconf)
}

// frrMacvlan makes the interface FRR's VRRP needs for vrid (FRR creates
// none): a macvlan in mode bridge with the virtual MAC, a random
// link-local address, and the virtual address.
func frrMacvlan(t *testing.T, h *netlab.Host, name string, mac net.HardwareAddr, vip netip.Prefix) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "add", "link", "eth0", "name", name, "address", mac.String(), "type", "macvlan", "mode", "bridge"},
		{"link", "set", name, "addrgenmode", "random"},
		{"addr", "add", vip.String(), "dev", name, "nodad"},
		{"link", "set", name, "up"},
	} {
		if out, err := h.Run("ip", args...); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
}

// TestVMACWithFRR runs use_vmac instances (IPv4 and IPv6) in one group
// with FRR's vrrpd, which always sends from a macvlan with the virtual
// MAC: each takes over from the other, both send from the virtual MACs
// with their own addresses, and the bridge follows.
func TestVMACWithFRR(t *testing.T) {
	t.Parallel()
	needFRR(t)
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	const vrid4, vrid6 = 70, 71
	mac4 := net.HardwareAddr{0, 0, 0x5e, 0, 1, vrid4}
	mac6 := net.HardwareAddr{0, 0, 0x5e, 0, 2, vrid6}
	vip4, vip6 := netip.MustParsePrefix("10.0.0.170/24"), netip.MustParsePrefix("fd00::171/64")

	frrMacvlan(t, h2, "vrrp4-2-70", mac4, vip4)
	frrMacvlan(t, h2, "vrrp6-2-71", mac6, vip6)
	f := ld.startFRR(h2, fmt.Sprintf(`interface eth0
 vrrp %d version 3
 vrrp %d priority 100
 vrrp %d advertisement-interval 100
 vrrp %d ip %s
 vrrp %d version 3
 vrrp %d priority 100
 vrrp %d advertisement-interval 100
 vrrp %d ipv6 %s
`, vrid4, vrid4, vrid4, vrid4, vip4.Addr(), vrid6, vrid6, vrid6, vrid6, vip6.Addr()))
	start := time.Now()
	awaitVMACAdvert(t, capture, mac4, vrid4, h2.IPv4, start)
	frr6 := awaitFirstAdvert(t, capture, mac6, vrid6, start)
	t.Logf("FRR is master; its IPv6 adverts come from %s", frr6.src)

	vconf := fmt.Sprintf(`global_defs {
  router_id h1
}
vrrp_instance VI_F {
  interface eth0
  virtual_router_id %d
  version 3
  priority 200
  advert_int 0.1
  use_vmac
  virtual_ipaddress {
    %s
  }
}
vrrp_instance VI_F6 {
  interface eth0
  virtual_router_id %d
  version 3
  priority 200
  advert_int 0.1
  use_vmac
  virtual_ipaddress {
    %s
  }
}
`, vrid4, vip4, vrid6, vip6)
	vdir := t.TempDir()
	v := ld.vrrpd(h1, vdir, vconf)
	v.await(0, `\(VI_F\) Entering MASTER STATE`)
	v.await(0, `\(VI_F6\) Entering MASTER STATE`)
	first := awaitVMACAdvert(t, capture, mac4, vrid4, h1.IPv4, start)
	awaitVMACAdvert(t, capture, mac6, vrid6, h1.LinkLocal, start)
	awaitFDB(t, lab, mac4, h1)
	awaitFDB(t, lab, mac6, h1)
	// FRR is a backup: it stopped advertising.
	awaitVMACAdvert(t, capture, mac4, vrid4, h1.IPv4, first.time.Add(time.Second))
	for _, w := range wireFrames(capture) {
		if w.vrrp && w.time.After(first.time.Add(300*time.Millisecond)) && (w.src == h2.IPv4 || w.src == frr6.src) && w.priority > 0 {
			t.Errorf("%s: FRR still advertises VRID %d after vrrpd took over", w.time.Format(time.StampMicro), w.vrid)
			break
		}
	}
	checkNoDrops(t, v)

	// vrrpd stops (priority 0): FRR takes over from the virtual MACs.
	stopped := time.Now()
	v.terminate()
	awaitVMACAdvert(t, capture, mac4, vrid4, h2.IPv4, stopped)
	awaitFirstAdvert(t, capture, mac6, vrid6, stopped)
	awaitFDB(t, lab, mac4, h2)
	awaitFDB(t, lab, mac6, h2)

	// vrrpd returns and preempts again.
	back := time.Now()
	fmark := f.log.mark()
	v = ld.vrrpd(h1, vdir, vconf)
	v.await(0, `\(VI_F\) Entering MASTER STATE`)
	v.await(0, `\(VI_F6\) Entering MASTER STATE`)
	awaitVMACAdvert(t, capture, mac4, vrid4, h1.IPv4, back)
	awaitFDB(t, lab, mac4, h1)
	// FRR has stepped back in both families before vrrpd stops again.
	f.await(fmark, `\[VRID 70\] \[IPv4\] Master -> Backup`)
	f.await(fmark, `\[VRID 71\] \[IPv6\] Master -> Backup`)
	checkNoDrops(t, v)
	v.terminate()
	// FRR's own account, for both families: master alone, backup to
	// vrrpd, master when vrrpd stopped, backup when it came back, master
	// at its second stop.
	for _, fam := range []string{"[VRID 70] [IPv4]", "[VRID 71] [IPv6]"} {
		var got []string
		for _, l := range f.log.all() {
			if i := strings.Index(l, fam+" "); i >= 0 && strings.Contains(l, "->") {
				got = append(got, l[i+len(fam)+1:])
			}
		}
		want := []string{"Initialize -> Backup", "Backup -> Master", "Master -> Backup", "Backup -> Master", "Master -> Backup"}
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("FRR %s went %q, want %q then master", fam, got, want)
		}
	}
	ld.checkNoComplaints()
}
