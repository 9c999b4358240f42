package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

var testSecret = []byte("0123456789abcdef0123456789ABCDEF") // 32 bytes

func testHMAC(t testing.TB, ids ...int) *auth.HMACConfig {
	t.Helper()
	h := &auth.HMACConfig{ActiveKey: ids[0]}
	for _, id := range ids {
		k, err := auth.NewKey(id, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		h.Keys = append(h.Keys, k)
	}
	return h
}

// A Config with auth_hmac never prints a key, whatever the verb, nor
// does a validation error about it, nor the running router's Config.
func TestHMACConfigNeverPrintsKeys(t *testing.T) {
	c := Config{Name: "VI_1", VRID: 51, Interface: "eth0", HMAC: testHMAC(t, 1, 2),
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
	leaks := func(out string) bool {
		return strings.Contains(out, string(testSecret)) || strings.Contains(out, fmt.Sprintf("%x", testSecret)) ||
			strings.Contains(out, "48 49 50") || strings.Contains(out, "[48 ")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, v := range []any{c, c.HMAC, *c.HMAC, c.HMAC.Keys} {
			if out := fmt.Sprintf(verb, v); leaks(out) {
				t.Errorf("%s of %T shows a key: %s", verb, v, out)
			}
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := c
	bad.HMAC = testHMAC(t, 1)
	bad.HMAC.ActiveKey = 9
	err := bad.Validate()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "HMAC" {
		t.Fatalf("Validate = %v, want a *ConfigError on HMAC", err)
	}
	if leaks(err.Error()) || leaks(fmt.Sprintf("%+v", err)) {
		t.Errorf("error shows a key: %v", err)
	}
	_, r, _, _ := benchNodeConfig(t, c, "10.0.0.2")
	if out := fmt.Sprintf("%+v %#v", r.Config(), r.Config()); leaks(out) {
		t.Errorf("Router.Config shows a key: %s", out)
	}
}

func TestHMACConfigValidate(t *testing.T) {
	base := Config{Name: "VI_1", VRID: 1, Interface: "eth0", VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
	}{
		{"no keys", func(c *Config) { c.HMAC = &auth.HMACConfig{ActiveKey: 1} }},
		{"active key not among the keys", func(c *Config) { c.HMAC = testHMAC(t, 1); c.HMAC.ActiveKey = 2 }},
		{"two keys with one id", func(c *Config) { c.HMAC = testHMAC(t, 1, 1) }},
		{"window not whole seconds", func(c *Config) { c.HMAC = testHMAC(t, 1); c.HMAC.Window = 1500 * time.Millisecond }},
		{"window too long", func(c *Config) { c.HMAC = testHMAC(t, 1); c.HMAC.Window = time.Hour }},
		{"with PASS", func(c *Config) {
			c.Version, c.AuthType, c.AuthPass, c.HMAC = 2, advert.AuthPass, auth.MustPassword("x"), testHMAC(t, 1)
		}},
		{"unknown rollout", func(c *Config) { c.HMAC = testHMAC(t, 1); c.HMAC.Rollout = 9 }},
	} {
		c := base
		tc.mod(&c)
		var ce *ConfigError
		if err := c.Validate(); !errors.As(err, &ce) || ce.Field != "HMAC" {
			t.Errorf("%s: Validate = %v, want a *ConfigError on HMAC", tc.name, err)
		}
	}
	for _, v := range []int{2, 3} {
		c := base
		c.Version, c.HMAC = v, testHMAC(t, 1)
		if err := c.Validate(); err != nil {
			t.Errorf("VRRPv%d with auth_hmac: %v", v, err)
		}
	}
	c := base
	c.IPv6, c.HMAC = true, testHMAC(t, 1)
	c.VIPs = []VIP{{Prefix: netip.MustParsePrefix("fd00::100/64")}}
	if err := c.Validate(); err != nil {
		t.Errorf("IPv6 with auth_hmac: %v", err)
	}
	// SetHMAC validates the same way and changes nothing on error.
	_, r, _, _ := benchNodeConfig(t, base, "10.0.0.2")
	bad := testHMAC(t, 1)
	bad.ActiveKey = 3
	var ce *ConfigError
	if err := r.SetHMAC(bad); !errors.As(err, &ce) || ce.Field != "HMAC" {
		t.Errorf("SetHMAC = %v, want a *ConfigError on HMAC", err)
	}
	if r.Config().HMAC != nil {
		t.Errorf("a refused SetHMAC changed the Config: %v", r.Config().HMAC)
	}
}

// capTransport is benchTransport with its own local address, keeping a
// copy of every packet sent when keep is set.
type capTransport struct {
	*benchTransport
	local netip.Addr
	keep  bool
	sent  []advert.Packet
}

func (t *capTransport) LocalAddr() netip.Addr                     { return t.local }
func (t *capTransport) SendBatch(ps []advert.Packet) (int, error) { return SendEach(ps, t.send) }

func (t *capTransport) send(p *advert.Packet) error {
	t.benchTransport.sent++
	if t.keep {
		q := *p
		q.Msg = append([]byte(nil), p.Msg...)
		t.sent = append(t.sent, q)
	}
	return nil
}

type capNetwork struct{ t *capTransport }

func (n capNetwork) Open(context.Context, Endpoint) (Transport, error) { return n.t, nil }

func benchNodeConfig(tb testing.TB, c Config, local string) (*Node, *Router, *benchClock, *capTransport) {
	tb.Helper()
	clock := &benchClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := &capTransport{benchTransport: newBenchTransport(), local: netip.MustParseAddr(local)}
	n, err := NewNode(NodeConfig{Clock: clock, Network: capNetwork{tr}})
	if err != nil {
		tb.Fatal(err)
	}
	r, err := n.Add(c)
	if err != nil {
		tb.Fatal(err)
	}
	n.step()
	tb.Cleanup(func() { tr.Close() })
	return n, r, clock, tr
}

// The copies of one advert to several unicast peers carry one trailer
// (one sequence), as keepalived 2.4.3 sends them, and each verifies for
// its own destination; over IPv6 the checksum, written after sealing,
// covers the trailer. Signing and sending allocate nothing.
func TestHMACSendOneTrailerPerAdvert(t *testing.T) {
	for _, tc := range []struct {
		name  string
		local string
		cfg   Config
	}{
		{"v3 IPv4 unicast", "10.0.0.2", Config{Version: 3, Peers: []netip.Addr{netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.4")},
			VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}},
		{"v2 IPv4 unicast", "10.0.0.2", Config{Version: 2, Peers: []netip.Addr{netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.4")},
			VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}},
		{"v3 IPv6 unicast", "fe80::2", Config{Version: 3, IPv6: true, Peers: []netip.Addr{netip.MustParseAddr("fe80::3"), netip.MustParseAddr("fe80::4")},
			VIPs: []VIP{{Prefix: netip.MustParsePrefix("fd00::100/64")}}}},
		{"v3 IPv6 multicast", "fe80::2", Config{Version: 3, IPv6: true, VIPs: []VIP{{Prefix: netip.MustParsePrefix("fd00::100/64")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.Name, c.VRID, c.Interface, c.Priority, c.HMAC = "VI_1", 1, "eth0", OwnerPriority, testHMAC(t, 4)
			n, r, clock, tr := benchNodeConfig(t, c, tc.local)
			if r.State() != Master {
				t.Fatalf("state %v", r.State())
			}
			tr.keep, tr.sent = true, nil
			clock.now = r.core.m.Deadline()
			n.fire()
			tr.keep = false
			want := len(c.Peers)
			if want == 0 {
				want = 1
			}
			if len(tr.sent) != want {
				t.Fatalf("%d packets sent, want %d", len(tr.sent), want)
			}
			rx, err := auth.NewHMAC(auth.HMACConfig{Keys: c.HMAC.Keys, ActiveKey: 4})
			if err != nil {
				t.Fatal(err)
			}
			var trailer []byte
			for i, p := range tr.sent {
				var a advert.Advert
				tl, _, err := a.DecodePayload(p.Msg, p.Src, p.Dst, advert.ChecksumStandard)
				if err != nil || tl == nil {
					t.Fatalf("copy %d: decode: %v, trailer %x", i, err, tl)
				}
				if trailer != nil && string(tl) != string(trailer) {
					t.Errorf("copy %d: trailer %x, the first copy's %x", i, tl, trailer)
				}
				trailer = tl
				// The receiver keeps replay state per sender: only the
				// first copy is new to one receiver, so verify each
				// copy with a fresh one.
				rx, _ = auth.NewHMAC(rx.Config())
				if _, err := rx.Verify(p.Msg[:len(p.Msg)-auth.TrailerLen], tl, p.Src, clock.now); err != nil {
					t.Errorf("copy %d to %v: %v", i, p.Dst, err)
				}
			}
			allocs := testing.AllocsPerRun(100, func() {
				clock.now = r.core.m.Deadline()
				n.fire()
			})
			if allocs != 0 {
				t.Errorf("%v allocations per signed advert sent, want 0", allocs)
			}
		})
	}
}

// A backup verifies signed adverts, and drops forged, replayed and stale
// ones, allocating nothing either way (Debug off); the drops are counted
// by reason and leave the master it follows.
func TestHMACReceive(t *testing.T) {
	c := Config{Name: "VI_1", VRID: 1, Interface: "eth0", HMAC: testHMAC(t, 1),
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
	n, r, clock, _ := benchNodeConfig(t, c, "10.0.0.2")
	src := netip.MustParseAddr("10.0.0.1")
	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: 1, Priority: 200, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	msg, err := a.Append(nil, src, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewHMAC(auth.HMACConfig{Keys: c.HMAC.Keys, ActiveKey: 1})
	if err != nil {
		t.Fatal(err)
	}
	wrongKey, _ := auth.NewKey(1, []byte("another secret, 32 bytes long!!!"))
	forger, _ := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{wrongKey}, ActiveKey: 1})
	buf := make([]byte, 0, len(msg)+auth.TrailerLen)
	p := advert.Packet{Src: src, Dst: advert.GroupIPv4, HopLimit: 255}
	sign := func(h *auth.HMAC, at time.Time) *advert.Packet {
		b, err := h.AppendTrailer(append(buf[:0], msg...), msg, src, auth.SeqAt(at))
		if err != nil {
			t.Fatal(err)
		}
		p.Msg = b
		return &p
	}
	n.deliver(sign(signer, clock.now))
	if r.State() != Backup || r.Master() != src || r.Stats().AdvertsReceived != 1 {
		t.Fatalf("not following the signed master: %v %v %+v", r.State(), r.Master(), r.Stats())
	}
	allocs := testing.AllocsPerRun(100, func() {
		clock.now = clock.now.Add(time.Second)
		n.deliver(sign(signer, clock.now))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per signed advert received, want 0", allocs)
	}
	if got := r.Stats().AdvertsReceived; got != 102 {
		t.Errorf("%d adverts received, want 102", got)
	}
	captured := clock.now.Add(-500 * time.Millisecond)
	for _, tc := range []struct {
		name   string
		p      func() *advert.Packet
		reason DropReason
	}{
		{"unsigned", func() *advert.Packet { p.Msg = msg; return &p }, DropHMACMissing},
		{"wrong key", func() *advert.Packet { return sign(forger, clock.now) }, DropHMAC},
		{"replayed", func() *advert.Packet { return sign(signer, captured) }, DropHMACReplay},
		{"stale", func() *advert.Packet { return sign(signer, clock.now.Add(-time.Minute)) }, DropHMACStale},
		{"unknown key id", func() *advert.Packet {
			k, _ := auth.NewKey(9, testSecret)
			h, _ := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{k}, ActiveKey: 9})
			return sign(h, clock.now)
		}, DropHMACKeyID},
	} {
		pk := tc.p()
		before := r.Stats().Drops[tc.reason]
		allocs := testing.AllocsPerRun(100, func() { n.deliver(pk) })
		if got := r.Stats().Drops[tc.reason] - before; got != 101 {
			t.Errorf("%s: %d drops counted as %v, want 101", tc.name, got, tc.reason)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per dropped packet, want 0", tc.name, allocs)
		}
	}
	if r.State() != Backup || r.Master() != src {
		t.Errorf("after the drops: %v following %v", r.State(), r.Master())
	}
}

// BenchmarkCoreReceiveHMAC is BenchmarkCoreReceive with auth_hmac: one
// signed advert from the master through a backup's receive path, the
// trailer verified (HMAC-SHA256 over ~70 bytes) and the replay state
// moved. The signing is in the loop too (the sender's cost); compare
// with BenchmarkCoreReceive for the receive path's share.
func BenchmarkCoreReceiveHMAC(b *testing.B) {
	c := Config{Name: "VI_1", VRID: 1, Interface: "eth0", HMAC: testHMAC(b, 1),
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}, {Prefix: netip.MustParsePrefix("10.0.0.101/24")}}}
	n, r, clock, _ := benchNodeConfig(b, c, "10.0.0.2")
	src := netip.MustParseAddr("10.0.0.1")
	a := advert.Advert{Version: 3, VRID: 1, Priority: 200, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")}}
	msg, err := a.Append(nil, src, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := auth.NewHMAC(auth.HMACConfig{Keys: c.HMAC.Keys, ActiveKey: 1})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, len(msg)+auth.TrailerLen)
	p := advert.Packet{Src: src, Dst: advert.GroupIPv4, HopLimit: 255}
	deliver := func() {
		p.Msg, _, _ = signer.Seal(append(buf[:0], msg...), msg, src, clock.now)
		n.deliver(&p)
	}
	deliver()
	if r.State() != Backup || r.Stats().AdvertsReceived != 1 {
		b.Fatalf("not a backup following the master: %v %+v", r.State(), r.Stats())
	}
	b.ReportAllocs()
	for b.Loop() {
		clock.now = clock.now.Add(time.Second)
		deliver()
	}
	if s := r.Stats(); s.TotalDrops() != 0 {
		b.Fatalf("drops: %v", s.Drops)
	}
}

// BenchmarkCoreTickHMAC is BenchmarkCoreTick with auth_hmac: a master's
// advert encoded, sealed and sent.
func BenchmarkCoreTickHMAC(b *testing.B) {
	c := Config{Name: "VI_1", VRID: 1, Interface: "eth0", Priority: OwnerPriority, HMAC: testHMAC(b, 1),
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}, {Prefix: netip.MustParsePrefix("10.0.0.101/24")}}}
	n, r, clock, tr := benchNodeConfig(b, c, "10.0.0.2")
	if r.State() != Master {
		b.Fatalf("state %v", r.State())
	}
	b.ReportAllocs()
	for b.Loop() {
		clock.now = r.core.m.Deadline()
		n.fire()
	}
	if tr.benchTransport.sent < b.N {
		b.Fatalf("%d adverts sent for %d timer events", tr.benchTransport.sent, b.N)
	}
}
