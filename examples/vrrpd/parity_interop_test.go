package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/kalab"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestNoVIPWithKeepalived runs instances without virtual addresses (the
// cloud pattern: adverts by unicast, a notify script moves the address by
// an API call) in one group with keepalived: VRRPv3 with 2.4.3's
// no_virtual_ipaddress, and VRRPv2 with 2.2.7, which runs an instance
// without addresses as it is. One lab: vrrpd on h1 runs both instances,
// keepalived 2.4.3 on h2 and 2.2.7 on h3 one each.
func TestNoVIPWithKeepalived(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	kalab.Binary(t)
	lab := netlab.New(t, 3)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2, h3 := lab.Host(1), lab.Host(2), lab.Host(3)
	vdir, kdir := t.TempDir(), t.TempDir()
	const v3id, v2id = 60, 61

	// keepalived's arguments in both daemons' notify logs, and the
	// FIFO lines of both.
	script := func(dir string) string {
		p := filepath.Join(dir, "notify.sh")
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho \"$*\" >> "+filepath.Join(dir, "notify.log")+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vsh, ksh := script(vdir), script(kdir)
	notify := func(sh string) string {
		return fmt.Sprintf("  notify %q\n  notify_master \"%s master\"\n  notify_master_rx_lower_pri \"%s rxlower\"\n", sh, sh, sh)
	}
	v3 := func(self, peer *netlab.Host, prio int, extra string) string {
		return fmt.Sprintf(`vrrp_instance VI_C {
  interface eth0
  virtual_router_id %d
  version 3
  priority %d
  advert_int 0.1
  unicast_src_ip %s
  unicast_peer {
    %s
  }
  no_virtual_ipaddress
  higher_prio_send_advert
%s}
`, v3id, prio, self.IPv4, peer.IPv4, extra)
	}
	v2 := func(self, peer *netlab.Host, prio int) string {
		return fmt.Sprintf(`vrrp_instance VI_D {
  interface eth0
  virtual_router_id %d
  version 2
  priority %d
  advert_int 1
  unicast_src_ip %s
  unicast_peer {
    %s
  }
}
`, v2id, prio, self.IPv4, peer.IPv4)
	}
	vfifo := filepath.Join(vdir, "vrrp.fifo")
	vconf := "global_defs {\n  router_id h1\n  vrrp_notify_fifo " + vfifo + "\n}\n" +
		v3(h1, h2, 200, notify(vsh)) + v2(h1, h3, 200)
	kfifo := filepath.Join(kdir, "vrrp.fifo")
	kconf := func(prio int) string {
		return "global_defs {\n  router_id h2\n  vrrp_notify_fifo " + kfifo + "\n}\n" + v3(h2, h1, prio, notify(ksh))
	}
	k2conf := "global_defs {\n  router_id h3\n}\n" + v2(h3, h1, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kwait := func(k *kalab.Daemon, mark int, re string) {
		t.Helper()
		if _, err := k.WaitLog(ctx, mark, regexp.MustCompile(re)); err != nil {
			t.Fatal(err)
		}
	}
	// count0 checks that every advert of vrid from mac lists no address,
	// and that there was one.
	count0 := func(what string, mac []byte, vrid uint8, after time.Time) {
		t.Helper()
		first := awaitFirstAdvert(t, capture, mac, vrid, after)
		n := 0
		for _, w := range wireFrames(capture) {
			if w.vrrp && w.vrid == vrid && string(w.srcMAC) == string(mac) {
				n++
				if w.naddr != 0 {
					t.Errorf("%s: an advert lists %d addresses, want none", what, w.naddr)
					return
				}
			}
		}
		t.Logf("%s: %d adverts, count 0 (first at %s)", what, n, first.time.Format(time.StampMicro))
	}

	// Readers hold the FIFOs open across the daemons' restarts (a FIFO's
	// data goes when its last file closes).
	if err := syscall.Mkfifo(kfifo, 0o600); err != nil {
		t.Fatal(err)
	}
	kfifoR := openFIFOReader(t, kfifo)
	k := kalab.Start(t, h2, kalab.Spec{Conf: kconf(100)})
	k2 := ld.keepalived(h3, k2conf)
	v := ld.vrrpd(h1, vdir, vconf)
	vfifoR := openFIFOWhenThere(t, vfifo)
	v.await(0, `\(VI_C\) Entering MASTER STATE`)
	v.await(0, `\(VI_D\) Entering MASTER STATE`)
	kwait(k, 0, `\(VI_C\) Entering BACKUP STATE`)
	k2.await(0, `\(VI_D\) Entering BACKUP STATE`)
	count0("vrrpd's VRRPv3 adverts", h1.MAC, v3id, time.Time{})
	count0("vrrpd's VRRPv2 adverts", h1.MAC, v2id, time.Time{})

	// vrrpd is killed: both keepalived take over, their adverts listing
	// no address either, and vrrpd's backups accept them (no drops).
	kmark := k.Mark()
	killed := v.kill()
	kwait(k, kmark, `\(VI_C\) Entering MASTER STATE`)
	k2.await(0, `\(VI_D\) Entering MASTER STATE`)
	count0("keepalived 2.4.3's VRRPv3 adverts", h2.MAC, v3id, killed)
	count0("keepalived 2.2.7's VRRPv2 adverts", h3.MAC, v2id, killed)

	// vrrpd returns with the higher priority and preempts; keepalived
	// 2.4.3, with higher_prio_send_advert, answers with an advert before it
	// steps down, which vrrpd's new master hears as a lower priority: its
	// notify_master_rx_lower_pri runs.
	kmark = k.Mark()
	v = ld.vrrpd(h1, vdir, vconf)
	v.await(0, `\(VI_C\) Entering MASTER STATE`)
	v.await(0, `\(VI_C\) Received advert from 10.0.0.2 with lower priority 100, ours 200`)
	kwait(k, kmark, `\(VI_C\) Entering BACKUP STATE`)
	v.await(0, `\(VI_D\) Entering MASTER STATE`)
	checkNoDrops(t, v)
	awaitLines(t, "vrrpd's notify log", filepath.Join(vdir, "notify.log"), []string{
		"INSTANCE VI_C BACKUP 200", "master", "INSTANCE VI_C MASTER 200", // the first run, killed
		"INSTANCE VI_C BACKUP 200", "master", "INSTANCE VI_C MASTER 200", "rxlower",
	})

	// keepalived returns with 250 and preempts; vrrpd's
	// higher_prio_send_advert makes keepalived's notify_master_rx_lower_pri
	// run.
	if err := k.Stop(); err != nil {
		t.Fatal(err)
	}
	kas := []*kalab.Daemon{k}
	vmark := v.log.mark()
	k = kalab.Start(t, h2, kalab.Spec{Conf: kconf(250)})
	kas = append(kas, k)
	kwait(k, 0, `\(VI_C\) Entering MASTER STATE`)
	kwait(k, 0, `lower priority 200`)
	v.await(vmark, `\(VI_C\) Entering BACKUP STATE`)
	awaitLines(t, "keepalived's notify log", filepath.Join(kdir, "notify.log"), []string{"rxlower"})
	v.terminate()
	v.await(0, `^.*Stopped$`)

	// The FIFOs: keepalived's line format, vrrpd's lines of the same
	// transitions.
	klines, vlines := kfifoR.lines(), vfifoR.lines()
	for _, want := range []string{`INSTANCE "VI_C" MASTER 200`, `INSTANCE "VI_C" MASTER_RX_LOWER_PRI 200`,
		`INSTANCE "VI_C" BACKUP 200`, `INSTANCE "VI_D" MASTER 200`, `INSTANCE "VI_C" STOP 200`} {
		if !slices.Contains(vlines, want) {
			t.Errorf("vrrpd's FIFO has no %q: %q", want, vlines)
		}
	}
	for _, want := range []string{`INSTANCE "VI_C" BACKUP 100`, `INSTANCE "VI_C" MASTER 100`, `INSTANCE "VI_C" MASTER 250`,
		`INSTANCE "VI_C" MASTER_RX_LOWER_PRI 250`} {
		if !slices.Contains(klines, want) {
			t.Errorf("keepalived's FIFO has no %q: %q", want, klines)
		}
	}
	k2.terminate()
	ld.checkNoComplaints()
	for _, k := range kas {
		for _, l := range k.Log() {
			if keepalivedComplaint.MatchString(l) {
				t.Errorf("keepalived 2.4.3 complained: %s", l)
			}
		}
	}
}

// openFIFOWhenThere waits until the FIFO at path exists (its daemon
// makes it) and opens it for reading.
func openFIFOWhenThere(t *testing.T, path string) *fifoReader {
	t.Helper()
	if err := poll(func() bool {
		st, err := os.Lstat(path)
		return err == nil && st.Mode()&os.ModeNamedPipe != 0
	}); err != nil {
		t.Fatalf("no FIFO %s: %v", path, err)
	}
	return openFIFOReader(t, path)
}

// awaitLines waits until the file's lines contain want in order.
func awaitLines(t *testing.T, what, path string, want []string) {
	t.Helper()
	var got []string
	if err := poll(func() bool {
		b, _ := os.ReadFile(path)
		got = strings.Split(strings.TrimSpace(string(b)), "\n")
		i := 0
		for _, l := range got {
			if i < len(want) && strings.HasSuffix(l, want[i]) {
				i++
			}
		}
		return i == len(want)
	}); err != nil {
		t.Fatalf("%s: %q, want %q in order", what, got, want)
	}
}

// vmacInstances is "vrrp_instance VI_V" (IPv4, VRID 51), "VI_V6" (IPv6,
// VRID 52) with use_vmac and "VI_X" (IPv4, VRID 53) with use_vmac and
// vmac_xmit_base, VRRPv3 at 100 ms.
func vmacInstances(prio int, extra string) string {
	return fmt.Sprintf(`vrrp_instance VI_V {
  interface eth0
  virtual_router_id 51
  version 3
  priority %d
  advert_int 0.1
  use_vmac
  virtual_ipaddress {
    10.0.0.100/24
  }
%s}
vrrp_instance VI_V6 {
  interface eth0
  virtual_router_id 52
  version 3
  priority %d
  advert_int 0.1
  use_vmac
  virtual_ipaddress {
    fd00::100/64
  }
%s}
vrrp_instance VI_X {
  interface eth0
  virtual_router_id 53
  version 3
  priority %d
  advert_int 0.1
  use_vmac
  vmac_xmit_base
  virtual_ipaddress {
    10.0.0.103/24
  }
%s}
`, prio, extra, prio, extra, prio, extra)
}

var (
	vmac4 = net.HardwareAddr{0, 0, 0x5e, 0, 1, 51}
	vmac6 = net.HardwareAddr{0, 0, 0x5e, 0, 2, 52}
	vmacX = net.HardwareAddr{0, 0, 0x5e, 0, 1, 53}
)

// awaitFDB waits until the lab's bridge has mac on host want's port.
func awaitFDB(t *testing.T, lab *netlab.Lab, mac net.HardwareAddr, want *netlab.Host) {
	t.Helper()
	var got *netlab.Host
	var err error
	if perr := poll(func() bool {
		got, err = lab.FDBHost(mac)
		return err == nil && got == want
	}); perr != nil {
		t.Fatalf("the bridge has %v on %v (%v), want %s", mac, got, err, want.Name)
	}
}

// awaitVMACAdvert waits for an advert of vrid from the virtual MAC with
// source address src, after t0.
func awaitVMACAdvert(t *testing.T, c *netlab.Capture, mac net.HardwareAddr, vrid uint8, src netip.Addr, after time.Time) wireFrame {
	t.Helper()
	return awaitAdvert(t, c, fmt.Sprintf("advert for VRID %d from %s with source MAC %s after %s", vrid, src, mac, after.Format(time.StampMicro)), func(w wireFrame) bool {
		return w.vrid == vrid && w.priority > 0 && w.src == src && bytes.Equal(w.srcMAC, mac) && w.time.After(after)
	})
}

// TestVMACWithKeepalived runs use_vmac instances (IPv4 and IPv6) in one
// group with keepalived 2.2.7's: adverts and announcements leave from the
// virtual MAC with the routers' own addresses, the switch follows the
// master's adverts at each takeover and a client reaches the addresses at
// the new master (while vrrpd is master, by the virtual MAC), a VMAC left
// by a killed vrrpd is reused, and a clean stop removes it and puts the
// sysctls back.
func TestVMACWithKeepalived(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	lab := netlab.New(t, 3)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2, h3 := lab.Host(1), lab.Host(2), lab.Host(3)
	vdir := t.TempDir()
	vip4, vip6 := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("fd00::100")
	vconf := "global_defs {\n  router_id h1\n}\n" + vmacInstances(200, "")
	// reach pings the VIPs from h3; with vrrpd master, h3's entries must
	// be the virtual MACs. (keepalived does not set arp_announce: its base
	// interface asks h3 for its MAC naming the VIP with the base's MAC,
	// and h3 takes that.)
	reach := func(when string, neigh bool) {
		t.Helper()
		for _, a := range []netip.Addr{vip4, vip6} {
			if out, err := h3.Run("ping", "-c", "1", "-W", "2", a.String()); err != nil {
				t.Fatalf("%s: h3 cannot reach %s: %v\n%s", when, a, err, out)
			}
			if !neigh {
				continue
			}
			out, _ := h3.Run("ip", "neigh", "show", a.String())
			if mac := vmac4; a.Is6() {
				if !strings.Contains(out, vmac6.String()) {
					t.Errorf("%s: h3 has %s at %q, want %s", when, a, out, vmac6)
				}
			} else if !strings.Contains(out, mac.String()) {
				t.Errorf("%s: h3 has %s at %q, want %s", when, a, out, mac)
			}
		}
	}

	k := ld.keepalived(h2, "global_defs {\n  router_id h2\n}\n"+vmacInstances(100, ""))
	v := ld.vrrpd(h1, vdir, vconf)
	for _, in := range []string{"VI_V", "VI_V6"} {
		v.await(0, `\(`+in+`\) Entering MASTER STATE`)
		k.await(0, `\(`+in+`\) Entering BACKUP STATE`)
	}
	awaitVMACAdvert(t, capture, vmac4, 51, h1.IPv4, time.Time{})
	awaitVMACAdvert(t, capture, vmac6, 52, h1.LinkLocal, time.Time{})
	awaitAnnounced(t, capture, vmac4, []netip.Addr{vip4}, time.Time{})
	awaitAnnounced(t, capture, vmac6, []netip.Addr{vip6}, time.Time{})
	// vmac_xmit_base: the adverts leave from the base's MAC, the
	// announcements from the virtual MAC.
	v.await(0, `\(VI_X\) Entering MASTER STATE`)
	awaitFirstAdvert(t, capture, h1.MAC, 53, time.Time{})
	awaitAnnounced(t, capture, vmacX, []netip.Addr{netip.MustParseAddr("10.0.0.103")}, time.Time{})
	awaitFDB(t, lab, vmac4, h1)
	awaitFDB(t, lab, vmac6, h1)
	if out, err := h1.Run("ip", "addr", "show", "dev", "vrrp.51"); err != nil || !strings.Contains(out, "10.0.0.100/24") {
		t.Fatalf("the VIP is not on h1's vrrp.51: %v\n%s", err, out)
	}
	reach("vrrpd master", true)

	// vrrpd is killed: keepalived takes over and the bridge follows its
	// first adverts.
	kmark := k.log.mark()
	killed := v.kill()
	k.await(kmark, `\(VI_V\) Entering MASTER STATE`)
	awaitVMACAdvert(t, capture, vmac4, 51, h2.IPv4, killed)
	awaitVMACAdvert(t, capture, vmac6, 52, h2.LinkLocal, killed)
	awaitFirstAdvert(t, capture, h2.MAC, 53, killed)
	awaitFDB(t, lab, vmac4, h2)
	awaitFDB(t, lab, vmac6, h2)
	reach("keepalived master after vrrpd was killed", false)

	// vrrpd returns: it reuses the VMACs the killed run left, removes
	// their addresses, and preempts; keepalived's backup VMACs leave the
	// bridge's entries on h1's port.
	kmark = k.log.mark()
	v = ld.vrrpd(h1, vdir, vconf)
	v.await(0, `vmac: reusing vrrp.51`)
	v.await(0, `\(VI_V\) Entering MASTER STATE`)
	v.await(0, `\(VI_V6\) Entering MASTER STATE`)
	k.await(kmark, `\(VI_V\) Entering BACKUP STATE`)
	back := awaitVMACAdvert(t, capture, vmac4, 51, h1.IPv4, killed)
	awaitFDB(t, lab, vmac4, h1)
	awaitFDB(t, lab, vmac6, h1)
	awaitVMACAdvert(t, capture, vmac4, 51, h1.IPv4, back.time.Add(time.Second))
	for _, mac := range []net.HardwareAddr{vmac4, vmac6} {
		if got, err := lab.FDBHost(mac); err != nil || got != h1 {
			t.Errorf("a second into vrrpd's mastership the bridge has %v on %v (%v)", mac, got, err)
		}
	}
	reach("vrrpd master again", true)
	checkNoDrops(t, v)

	// A clean stop: keepalived takes over, and h1 has no VMAC and its
	// sysctls back.
	kmark = k.log.mark()
	v.terminate()
	k.await(kmark, `\(VI_V\) Entering MASTER STATE`)
	for _, name := range []string{"vrrp.51", "vrrp.52", "vrrp.53"} {
		if out, err := h1.Run("ip", "link", "show", name); err == nil {
			t.Errorf("%s is left on h1 after vrrpd stopped:\n%s", name, out)
		}
	}
	for _, k := range []string{"arp_ignore", "arp_filter", "arp_announce"} {
		if out, _ := h1.Run("cat", "/proc/sys/net/ipv4/conf/eth0/"+k); strings.TrimSpace(out) != "0" {
			t.Errorf("h1's eth0 %s is %s after vrrpd stopped, want 0", k, strings.TrimSpace(out))
		}
	}
	awaitFDB(t, lab, vmac4, h2)
	reach("keepalived master after vrrpd stopped", false)
	k.terminate()
	for _, w := range wireFrames(capture) {
		if w.vrrp && bytes.Equal(w.srcMAC, vmacX) {
			t.Errorf("%s: an advert of VRID %d from VI_X's virtual MAC (vmac_xmit_base)", w.time.Format(time.StampMicro), w.vrid)
			break
		}
	}
	ld.checkNoComplaints()
}
