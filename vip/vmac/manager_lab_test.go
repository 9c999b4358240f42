//go:build linux

package vmac

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// crashHelperEnv makes the test binary a process that adds VMACs (one
// per VRID in the variable: "51,53") in the namespace it runs in, says
// "ready" and waits to be killed: a crash, for the tests of what is left.
const crashHelperEnv = "VMAC_TEST_CRASH_HELPER"

func TestMain(m *testing.M) {
	if ids := os.Getenv(crashHelperEnv); ids != "" {
		mgr, err := New(Config{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		for _, s := range strings.Split(ids, ",") {
			var id int
			fmt.Sscan(s, &id)
			if _, err := mgr.Add(context.Background(), Spec{Base: "eth0", VRID: id}); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
		}
		fmt.Println("ready")
		select {}
	}
	os.Exit(m.Run())
}

func newLabManager(t *testing.T, h *netlab.Host) *Manager {
	t.Helper()
	var m *Manager
	if err := h.Do(func() (err error) {
		m, err = New(Config{Logger: zaptest.NewLogger(t)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// ipLink is the part of `ip -d -j link show` the tests read.
type ipLink struct {
	Ifindex  int      `json:"ifindex"`
	Ifname   string   `json:"ifname"`
	Link     string   `json:"link"`
	Flags    []string `json:"flags"`
	Address  string   `json:"address"`
	Alias    string   `json:"ifalias"`
	Linkinfo struct {
		Kind string `json:"info_kind"`
		Data struct {
			Mode string `json:"mode"`
		} `json:"info_data"`
	} `json:"linkinfo"`
	AddrGenMode string `json:"inet6_addr_gen_mode"`
}

func link(t *testing.T, h *netlab.Host, name string) (ipLink, bool) {
	t.Helper()
	out, err := h.Run("ip", "-d", "-j", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	var links []ipLink
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("ip -d -j link: %v", err)
	}
	for _, l := range links {
		if l.Ifname == name {
			return l, true
		}
	}
	return ipLink{}, false
}

func sysctl(t *testing.T, h *netlab.Host, key string) string {
	t.Helper()
	out, err := h.Run("cat", "/proc/sys/net/"+key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

func wantSysctls(t *testing.T, h *netlab.Host, when string, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if got := sysctl(t, h, k); got != want[k] {
			t.Errorf("%s: %s = %s, want %s", when, k, got, want[k])
		}
	}
}

func nftTables(t *testing.T, h *netlab.Host) []string {
	t.Helper()
	out, err := h.Run("nft", "list", "tables")
	if err != nil {
		if os.Getenv(netlab.RequireEnv) == "1" {
			t.Fatalf("nft: %v (and %s=1 forbids skipping)", err, netlab.RequireEnv)
		}
		t.Skipf("nft (package nftables) is needed to read the firewall tables: %v", err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(l, fwPrefix) {
			names = append(names, l)
		}
	}
	return names
}

func setSysctls(t *testing.T, h *netlab.Host, kv map[string]string) {
	t.Helper()
	for k, v := range kv {
		if _, err := h.Run("sh", "-c", "echo "+v+" > /proc/sys/net/"+k); err != nil {
			t.Fatal(err)
		}
	}
}

// The interfaces keepalived 2.4.3 makes for use_vmac (compared in the lab
// with `ip -d link`): macvlan, mode private, the RFC's MAC, no address
// generated; an IPv6 VMAC with the base's link-local address, no DAD,
// deprecated. The sysctls keepalived sets (read off its lab run): on the
// VMAC arp_ignore, accept_local, rp_filter, promote_secondaries and IPv6
// off; on the base arp_ignore and arp_filter; all.rp_filter moved onto the
// interfaces. Close puts everything back.
func TestManagerMakesKeepalivedsVMACs(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	setSysctls(t, h, map[string]string{"ipv4/conf/all/rp_filter": "2", "ipv4/conf/eth0/rp_filter": "1"})
	before := map[string]string{
		"ipv4/conf/all/rp_filter": "2", "ipv4/conf/default/rp_filter": "0", "ipv4/conf/eth0/rp_filter": "1",
		"ipv4/conf/lo/rp_filter": "0", "ipv4/conf/eth0/arp_ignore": "0", "ipv4/conf/eth0/arp_filter": "0",
		"ipv4/conf/eth0/arp_announce": "0",
	}
	wantSysctls(t, h, "before", before)
	m := newLabManager(t, h)
	ctx := context.Background()
	v4, err := m.Add(ctx, Spec{Base: "eth0", VRID: 51})
	if err != nil {
		t.Fatal(err)
	}
	v6, err := m.Add(ctx, Spec{Base: "eth0", VRID: 52, IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	if v4.Name != "vrrp.51" || v4.MAC.String() != "00:00:5e:00:01:33" || v6.Name != "vrrp.52" || v6.MAC.String() != "00:00:5e:00:02:34" {
		t.Errorf("VMACs: %+v %+v", v4, v6)
	}
	for _, v := range []VMAC{v4, v6} {
		l, ok := link(t, h, v.Name)
		switch {
		case !ok:
			t.Fatalf("%s not created", v.Name)
		case l.Linkinfo.Kind != "macvlan" || l.Linkinfo.Data.Mode != "private" || l.Link != "eth0" ||
			l.Address != v.MAC.String() || !slices.Contains(l.Flags, "UP") || l.AddrGenMode != "none" ||
			!strings.HasPrefix(l.Alias, aliasPrefix):
			t.Errorf("%s: %+v", v.Name, l)
		}
	}
	wantSysctls(t, h, "with VMACs", map[string]string{
		"ipv4/conf/vrrp.51/arp_ignore": "1", "ipv4/conf/vrrp.51/accept_local": "1", "ipv4/conf/vrrp.51/rp_filter": "0",
		"ipv4/conf/vrrp.51/promote_secondaries": "1", "ipv6/conf/vrrp.51/disable_ipv6": "1",
		"ipv4/conf/vrrp.52/arp_ignore": "1", "ipv6/conf/vrrp.52/disable_ipv6": "0",
		"ipv4/conf/eth0/arp_ignore": "1", "ipv4/conf/eth0/arp_filter": "1", "ipv4/conf/eth0/arp_announce": "2",
		"ipv4/conf/all/rp_filter": "0", "ipv4/conf/default/rp_filter": "2", "ipv4/conf/eth0/rp_filter": "2",
		"ipv4/conf/lo/rp_filter": "2",
	})
	out, err := h.Run("ip", "-6", "addr", "show", "dev", "vrrp.52")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, h.LinkLocal.String()+"/64 scope link nodad deprecated") || strings.Count(out, "inet6") != 1 {
		t.Errorf("vrrp.52 has not exactly eth0's link-local %s (nodad, deprecated):\n%s", h.LinkLocal, out)
	}
	if tables := nftTables(t, h); len(tables) != 2 {
		t.Errorf("nftables tables %q, want one ip and one ip6", tables)
	}

	// Removing one VMAC keeps what the other needs.
	if err := m.Remove(ctx, "vrrp.52"); err != nil {
		t.Fatal(err)
	}
	if _, ok := link(t, h, "vrrp.52"); ok {
		t.Errorf("vrrp.52 still there after Remove")
	}
	wantSysctls(t, h, "with vrrp.51 left", map[string]string{"ipv4/conf/eth0/arp_ignore": "1", "ipv4/conf/all/rp_filter": "0"})

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := link(t, h, "vrrp.51"); ok {
		t.Errorf("vrrp.51 still there after Close")
	}
	wantSysctls(t, h, "after Close", before)
	if tables := nftTables(t, h); len(tables) != 0 {
		t.Errorf("nftables tables left: %q", tables)
	}
}

// startCrashHelper runs a process in h that adds VMACs for vrids, and
// returns once they are up.
func startCrashHelper(t *testing.T, h *netlab.Host, vrids string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.Command(context.Background(), exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+vrids)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		t.Fatalf("crash helper: %q", line)
	}
	return cmd
}

// After a crash (SIGKILL): the next run reuses a VMAC it wants (the same
// interface), removes the others, deletes the crashed run's firewall
// tables, and at its own end puts back the sysctls as they were before
// the crashed run, not as the crashed run left them. A running process's
// VMAC and an interface that is not ours are left alone.
func TestManagerAfterACrash(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	setSysctls(t, h, map[string]string{"ipv4/conf/all/rp_filter": "1"})
	before := map[string]string{"ipv4/conf/all/rp_filter": "1", "ipv4/conf/eth0/rp_filter": "0",
		"ipv4/conf/eth0/arp_ignore": "0", "ipv4/conf/eth0/arp_filter": "0", "ipv4/conf/eth0/arp_announce": "0"}
	crashed := startCrashHelper(t, h, "51,53")
	if err := crashed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = crashed.Wait()
	left51, ok51 := link(t, h, "vrrp.51")
	_, ok53 := link(t, h, "vrrp.53")
	if !ok51 || !ok53 || len(nftTables(t, h)) != 2 {
		t.Fatalf("the crashed run left nothing to clean up: %v %v %q", ok51, ok53, nftTables(t, h))
	}
	wantSysctls(t, h, "after the crash", map[string]string{"ipv4/conf/eth0/arp_ignore": "1", "ipv4/conf/all/rp_filter": "0"})

	// Another running process's VMAC, and a foreign macvlan in the way.
	alive := startCrashHelper(t, h, "60")
	defer func() { _ = alive.Process.Kill(); _ = alive.Wait() }()
	if _, err := h.Run("ip", "link", "add", "link", "eth0", "name", "vrrp.54", "address", "02:aa:00:00:00:01", "type", "macvlan"); err != nil {
		t.Fatal(err)
	}

	m := newLabManager(t, h)
	ctx := context.Background()
	v, err := m.Add(ctx, Spec{Base: "eth0", VRID: 51})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Reused || v.Index != left51.Ifindex {
		t.Errorf("vrrp.51 not reused: %+v (the crashed run's had index %d)", v, left51.Ifindex)
	}
	if _, err := m.Add(ctx, Spec{Base: "eth0", VRID: 54}); err == nil {
		t.Errorf("Add took over a foreign macvlan with another MAC")
	}
	if _, err := m.Add(ctx, Spec{Base: "eth0", VRID: 60}); err == nil {
		t.Errorf("Add took a VMAC another running process holds")
	}
	removed, err := m.RemoveLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{"vrrp.53"}) {
		t.Errorf("RemoveLeftovers removed %q, want only vrrp.53", removed)
	}
	for name, want := range map[string]bool{"vrrp.51": true, "vrrp.53": false, "vrrp.54": true, "vrrp.60": true} {
		if _, ok := link(t, h, name); ok != want {
			t.Errorf("%s present = %v, want %v", name, ok, want)
		}
	}
	// The crashed run's tables are gone: the running helper's and ours are there.
	if tables := nftTables(t, h); len(tables) != 4 {
		t.Errorf("nftables tables %q, want the running helper's two and ours", tables)
	}

	// Stop the other process cleanly enough: killed, its VMAC is a
	// leftover that this Manager may now remove.
	_ = alive.Process.Kill()
	_ = alive.Wait()
	if removed, _ := m.RemoveLeftovers(ctx); !slices.Equal(removed, []string{"vrrp.60"}) {
		t.Errorf("second RemoveLeftovers removed %q, want vrrp.60", removed)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := link(t, h, "vrrp.51"); ok {
		t.Errorf("vrrp.51 still there after Close")
	}
	if _, ok := link(t, h, "vrrp.54"); !ok {
		t.Errorf("the foreign vrrp.54 was removed")
	}
	wantSysctls(t, h, "after Close", before)
}

// A router's transport on an IPv4 VMAC reports the base's primary address
// as its source, and tells of its changes.
func TestNetworkSourcesIPv4VMACsFromTheBase(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	m := newLabManager(t, h)
	if _, err := m.Add(context.Background(), Spec{Base: "eth0", VRID: 51}); err != nil {
		t.Fatal(err)
	}
	var sn *vrrp.SocketNetwork
	if err := h.Do(func() (err error) { sn, err = vrrp.NewSocketNetwork(); return err }); err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	ctx := context.Background()
	tr, err := m.Network(sn).Open(ctx, vrrp.Endpoint{Interface: "vrrp.51"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if got := tr.LocalAddr(); got != h.IPv4 {
		t.Errorf("LocalAddr = %v, want eth0's %v", got, h.IPv4)
	}
	up, changed := tr.Link()
	if !up {
		t.Errorf("link of vrrp.51 down")
	}
	// In another subnet: deleting a primary address deletes its subnet's
	// secondaries with it.
	if _, err := h.Run("ip", "addr", "add", "10.9.0.1/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Run("ip", "addr", "del", h.IPv4.String()+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for tr.LocalAddr() != netip.MustParseAddr("10.9.0.1") {
		select {
		case <-changed:
			_, changed = tr.Link()
		case <-deadline:
			t.Fatalf("LocalAddr = %v after eth0's primary address changed, want 10.9.0.1", tr.LocalAddr())
		}
	}
	// A transport on any other interface is inner's own.
	plain, err := m.Network(sn).Open(ctx, vrrp.Endpoint{Interface: "eth0", IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, ok := plain.(*baseSourced); ok || plain.LocalAddr() != h.LinkLocal {
		t.Errorf("IPv6 transport on eth0 wrapped, or LocalAddr %v", plain.LocalAddr())
	}
}
