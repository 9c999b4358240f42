//go:build linux

package vip

import (
	"context"
	"encoding/json"
	"net"
	"slices"
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

	// A leftover of a crashed run: the table, dropping everything to h1.
	if err := h1.Do(func() error { return dropAllTable("vrrpkit") }); err != nil {
		t.Fatal(err)
	}
	const port = "7777"
	listenTCP(t, h1, ":"+port)
	// No announcements: h2 can learn the IPv6 VIP only by asking.
	l := newLabLinux(t, h1, &LinuxConfig{Schedule: &Schedule{}})
	if got := nftTables(t, h1); slices.Contains(got, "vrrpkit") {
		t.Fatalf("the leftover table survived NewLinux: %v", got)
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
	for _, addr := range []string{vip4, vip6} {
		if err := dialFrom(h2, addr); err != nil {
			t.Errorf("%s in accept mode: %v", addr, err)
		}
	}

	// A firewall reload deletes the table (nft flush ruleset): the next
	// acquisition builds it again, with the addresses still held.
	if err := l.Acquire(ctx, v6NoAccept(v6)); err != nil {
		t.Fatal(err)
	}
	if err := h1.Do(func() error { return deleteTable("vrrpkit") }); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(h2, vip6); err != nil {
		t.Fatalf("the IPv6 VIP with the table deleted: %v", err)
	}

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
	if got := nftTables(t, h1); slices.Contains(got, "vrrpkit") {
		t.Errorf("Close left the table behind: %v", got)
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
