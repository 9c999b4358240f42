//go:build linux

package vip

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// RFC 5798 §6.4.3: a master that is not the address owner and has
// Accept_Mode false MUST NOT accept packets addressed to the VIPs. h2
// connects to a TCP listener on h1: through the VIPs only while NoAccept
// is off, through h1's own address always; neighbor discovery for an IPv6
// VIP still works under the drop rules. Release and Close leave no rule
// behind, and a table left by a crashed predecessor is cleared.
func TestLinuxNoAcceptDropsTrafficToTheVIPs(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)

	// Leftovers of crashed runs, of an older version and of this one,
	// each dropping everything to h1.
	for _, name := range []string{"vrrpkit", "vrrpkit-999999-1"} {
		if err := h1.Do(func() error { return dropAllTable(name) }); err != nil {
			t.Fatal(err)
		}
	}
	const port = "7777"
	listenTCP(t, h1, ":"+port)
	// No announcements: h2 can learn the IPv6 VIP only by asking.
	l := newLabLinux(t, h1, &LinuxConfig{Schedule: &Schedule{}})
	if got := nftTables(t, h1); slices.Contains(got, "vrrpkit") || slices.Contains(got, "vrrpkit-999999-1") {
		t.Fatalf("the leftover tables survived NewLinux: %v", got)
	}
	own := net.JoinHostPort(h1.IPv4.String(), port)
	vip4 := net.JoinHostPort("10.0.0.100", port)
	vip6 := net.JoinHostPort("fd00::100", port)

	ctx := context.Background()
	v4, v6 := labSets(h1)
	v4.NoAccept, v6.NoAccept = true, true
	for range 2 { // twice: idempotent
		if err := l.Acquire(ctx, v4); err != nil {
			t.Fatal(err)
		}
		if err := l.Acquire(ctx, v6); err != nil {
			t.Fatal(err)
		}
	}
	if err := dialFrom(h2, own); err != nil {
		t.Fatalf("h1's own address under no_accept: %v", err)
	}
	for _, addr := range []string{vip4, vip6} {
		if err := dialFrom(h2, addr); err == nil {
			t.Errorf("connected to %s while h1 holds it with no_accept", addr)
		}
	}
	// Neighbor discovery still works: the resolution (to the
	// solicited-node group) and, the part the rules must let through, a
	// reachability probe: a unicast NS to the VIP itself.
	waitNeighbor(t, h2, "fd00::100", h1.MAC)
	if _, err := h2.Run("ip", "-6", "neigh", "replace", "fd00::100", "lladdr", h1.MAC.String(), "dev", "eth0", "nud", "probe"); err != nil {
		t.Fatal(err)
	}
	waitNeighborState(t, h2, "fd00::100", "REACHABLE")

	// Released: the addresses and their rules go; acquired again in
	// accept mode, the VIPs take connections.
	if err := l.Release(ctx, v4); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, v6); err != nil {
		t.Fatal(err)
	}
	v4.NoAccept, v6.NoAccept = false, false
	if err := l.Acquire(ctx, v4); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx, v6); err != nil {
		t.Fatal(err)
	}
	// h2 may have to resolve the re-added IPv6 VIP first, and a SYN lost
	// to that costs a second: connecting within 5 s is the proof.
	for _, addr := range []string{vip4, vip6} {
		if err := dialWithin(h2, addr, 5*time.Second); err != nil {
			t.Errorf("%s in accept mode: %v", addr, err)
		}
	}

	// Someone deletes the table while the IPv6 VIP is held with no_accept:
	// it is built again (TestLinuxNoAcceptSurvivesAFlushedRuleset times
	// it).
	if err := l.Acquire(ctx, v6NoAccept(v6)); err != nil {
		t.Fatal(err)
	}
	if err := h1.Do(func() error { return deleteTable(l.na.name) }); err != nil {
		t.Fatal(err)
	}
	awaitTable(t, h1, l.na.name)

	// Re-acquiring with NoAccept puts the rules back in place; Close
	// removes the table.
	v4.NoAccept = true
	if err := l.Acquire(ctx, v4); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(h2, vip4); err == nil {
		t.Error("connected to the IPv4 VIP after re-acquiring it with no_accept")
	}
	for _, addr := range []string{vip4, vip6} {
		if err := dialFrom(h2, addr); err == nil {
			t.Errorf("connected to %s after the table was built again", addr)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := nftTables(t, h1); slices.ContainsFunc(got, isBackendTable) {
		t.Errorf("Close left the table behind: %v", got)
	}
}

// awaitTable waits until h has table name with its three rules.
func awaitTable(t *testing.T, h *netlab.Host, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := -1
		_ = h.Do(func() error {
			c, err := nftables.New()
			if err != nil {
				return err
			}
			tb := &nftables.Table{Family: nftables.TableFamilyINet, Name: name}
			rules, err := c.GetRules(tb, &nftables.Chain{Name: "input", Table: tb})
			if err == nil {
				n = len(rules)
			}
			return nil
		})
		if n == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("table inet %s not rebuilt within 5 s (%d rules)", name, n)
		}
		<-tick.C
	}
}

// waitNeighborState waits until h's neighbor entry for ip is in state.
func waitNeighborState(t *testing.T, h *netlab.Host, ip, state string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := h.Run("ip", "-j", "neigh", "show", ip, "dev", "eth0")
		if err != nil {
			t.Fatal(err)
		}
		var entries []struct {
			State []string `json:"state"`
		}
		if err := json.Unmarshal([]byte(out), &entries); err == nil && len(entries) == 1 && slices.Contains(entries[0].State, state) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's neighbor entry for %s never became %s: %s", h.Name, ip, state, out)
		}
		<-tick.C
	}
}

// dialFrom connects from h to addr over TCP. A dropped SYN shows as a
// timeout; the bound is far above a LAN round trip.
// dialWithin tries to connect until it succeeds or d has passed.
func dialWithin(h *netlab.Host, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := dialFrom(h, addr)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

func dialFrom(h *netlab.Host, addr string) error {
	return h.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// listenTCP accepts (and closes) connections on addr in h until cleanup.
func listenTCP(t *testing.T, h *netlab.Host, addr string) {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// dropAllTable creates an inet table whose input chain drops everything.
func dropAllTable(name string) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	tb := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: name})
	ch := c.AddChain(&nftables.Chain{Name: "input", Table: tb, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
	c.AddRule(&nftables.Rule{Table: tb, Chain: ch, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}})
	return c.Flush()
}

func nftTables(t *testing.T, h *netlab.Host) []string {
	t.Helper()
	tables, err := h.NFTables()
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

func v6NoAccept(set vrrp.AddressSet) vrrp.AddressSet {
	set.NoAccept = true
	return set
}

// deleteTable deletes the inet table name, as `nft delete table inet
// name` (or a firewall's `flush ruleset`) would.
func deleteTable(name string) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: name})
	return c.Flush()
}

// `nft flush ruleset` (a firewall reload) deletes every table: the
// backend hears it from nf_tables and rebuilds its own at once, so the
// VIPs drop traffic again within a deadline, without waiting for the
// next acquisition.
func TestLinuxNoAcceptSurvivesAFlushedRuleset(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		if os.Getenv(netlab.RequireEnv) == "1" {
			t.Fatalf("nft (package nftables) is missing and %s=1 forbids skipping", netlab.RequireEnv)
		}
		t.Skip("nft (package nftables) is missing")
	}
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	const port = "7777"
	listenTCP(t, h1, ":"+port)
	l := newLabLinux(t, h1, &LinuxConfig{Schedule: &Schedule{}})
	v4, _ := labSets(h1)
	v4.NoAccept = true
	if err := l.Acquire(context.Background(), v4); err != nil {
		t.Fatal(err)
	}
	vip4 := net.JoinHostPort("10.0.0.100", port)
	if err := dialFrom(h2, vip4); err == nil {
		t.Fatal("connected to the VIP under no_accept")
	}
	for round := range 3 { // again and again
		flushed := time.Now()
		if out, err := h1.Run("nft", "flush", "ruleset"); err != nil {
			t.Fatalf("nft flush ruleset: %v %s", err, out)
		}
		awaitTable(t, h1, l.na.name)
		const deadline = time.Second
		took := time.Since(flushed)
		if took > deadline {
			t.Errorf("round %d: rebuilt %v after the flush, want within %v", round, took, deadline)
		}
		t.Logf("round %d: table back %v after nft flush ruleset", round, took)
		if err := dialFrom(h2, vip4); err == nil {
			t.Fatalf("round %d: connected to the VIP after the table was rebuilt", round)
		}
	}
	// Deleting only the elements (nft flush set) is repaired too.
	if out, err := h1.Run("nft", "flush", "set", "inet", l.na.name, "vips4"); err != nil {
		t.Fatalf("nft flush set: %v %s", err, out)
	}
	awaitElements(t, h1, l.na.name, "vips4", 2)
	if err := dialFrom(h2, vip4); err == nil {
		t.Fatal("connected to the VIP after its set was flushed and repaired")
	}
}

// awaitElements waits until set of table holds n elements.
func awaitElements(t *testing.T, h *netlab.Host, table, set string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		got := -1
		_ = h.Do(func() error {
			c, err := nftables.New()
			if err != nil {
				return err
			}
			s, err := c.GetSetByName(&nftables.Table{Family: nftables.TableFamilyINet, Name: table}, set)
			if err != nil {
				return err
			}
			els, err := c.GetSetElements(s)
			got = len(els)
			return err
		})
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("set %s of %s has %d elements after 5 s, want %d", set, table, got, n)
		}
		<-tick.C
	}
}

// Without nf_tables' cooperation (here the kernel refuses the table's
// name) a set with NoAccept is not acquired at all: Acquire says
// ErrNoAcceptUnenforceable and the host holds none of its addresses, so
// that the router faults and a backup takes over. NoAcceptFailOpen is
// keepalived's choice: the addresses go up, accepting traffic.
func TestLinuxNoAcceptFailsClosed(t *testing.T) {
	lab := netlab.New(t, 1)
	h1 := lab.Host(1)
	bad := strings.Repeat("x", 300) // NFT_NAME_MAXLEN is 256
	ctx := context.Background()
	v4, v6 := labSets(h1)
	v4.NoAccept = true

	closed := newLabLinux(t, h1, &LinuxConfig{Schedule: &Schedule{}, NoAcceptTable: bad})
	err := closed.Acquire(ctx, v4)
	if !errors.Is(err, ErrNoAcceptUnenforceable) {
		t.Fatalf("Acquire = %v, want ErrNoAcceptUnenforceable", err)
	}
	for _, p := range []string{"10.0.0.100/24", "10.0.0.101/32"} {
		if got := find(addrs(t, h1, "eth0"), p); len(got) != 0 {
			t.Errorf("%s added although no_accept cannot be enforced", p)
		}
	}
	// A set in accept mode needs no rules.
	if err := closed.Acquire(ctx, v6); err != nil {
		t.Errorf("accept mode: %v", err)
	}
	if err := closed.Release(ctx, v4); err != nil {
		t.Errorf("release: %v", err)
	}

	open := newLabLinux(t, h1, &LinuxConfig{Schedule: &Schedule{}, NoAcceptTable: bad + "y", NoAcceptFailOpen: true})
	if err := open.Acquire(ctx, v4); err != nil {
		t.Errorf("fail open: %v", err)
	}
	if got := find(addrs(t, h1, "eth0"), "10.0.0.100/24"); len(got) != 1 {
		t.Errorf("fail open: the VIP is not there")
	}
}

// Two backends in one network namespace (two daemons) have a table each:
// neither deletes the other's when it opens or closes, a third one that
// opens leaves both alone, and a name in use is refused.
func TestLinuxNoAcceptTablesArePerBackend(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	const port = "7777"
	listenTCP(t, h1, ":"+port)
	ctx := context.Background()
	a := newLabLinux(t, h1, &LinuxConfig{Schedule: &Schedule{}})
	seta := vrrp.AddressSet{Router: "A", VRID: 1, Interface: "eth0", NoAccept: true,
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
	if err := a.Acquire(ctx, seta); err != nil {
		t.Fatal(err)
	}
	var b *Linux
	if err := h1.Do(func() (err error) { b, err = NewLinux(LinuxConfig{Schedule: &Schedule{}}); return err }); err != nil {
		t.Fatal(err)
	}
	setb := vrrp.AddressSet{Router: "B", VRID: 2, Interface: "eth0", NoAccept: true,
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.101/24")}}}
	if err := b.Acquire(ctx, setb); err != nil {
		t.Fatal(err)
	}
	if a.na.name == b.na.name {
		t.Fatalf("both backends use table %s", a.na.name)
	}
	c := newLabLinux(t, h1, nil)
	got := nftTables(t, h1)
	if !slices.Contains(got, a.na.name) || !slices.Contains(got, b.na.name) {
		t.Fatalf("a backend that opened deleted live tables: %v", got)
	}
	var dup *Linux
	if err := h1.Do(func() (err error) { dup, err = NewLinux(LinuxConfig{NoAcceptTable: a.na.name}); return err }); err == nil {
		dup.Close()
		t.Error("a second backend took a live backend's table name")
	}
	for _, vip := range []string{"10.0.0.100", "10.0.0.101"} {
		if err := dialFrom(h2, net.JoinHostPort(vip, port)); err == nil {
			t.Errorf("connected to %s under no_accept", vip)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got = nftTables(t, h1)
	if slices.Contains(got, b.na.name) || !slices.Contains(got, a.na.name) {
		t.Errorf("after closing one backend: tables %v", got)
	}
	if err := dialFrom(h2, net.JoinHostPort("10.0.0.100", port)); err == nil {
		t.Error("the other backend's VIP accepts traffic after one closed")
	}
	_ = c
}
