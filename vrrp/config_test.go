package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

func validConfig() Config {
	return Config{Name: "VI_1", VRID: 51, Interface: "eth0",
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{VRID: 7, Interface: "eth1", IPv6: true}.withDefaults()
	if c.Version != 3 || c.Priority != 100 || c.Interval != time.Second || c.Name != "eth1/7/v6" {
		t.Fatalf("defaults: %+v", c)
	}
	if err := validConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	v4 := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	for _, tc := range []struct {
		field string
		edit  func(c *Config)
	}{
		{"VRID", func(c *Config) { c.VRID = 0 }},
		{"Interface", func(c *Config) { c.Interface = "" }},
		{"Version", func(c *Config) { c.Version = 4 }},
		{"Version", func(c *Config) { c.Version = 2; c.IPv6 = true; c.VIPs[0].Prefix = netip.MustParsePrefix("fd00::1/64") }},
		{"Interval", func(c *Config) { c.Version = 2; c.Interval = 1500 * time.Millisecond }},
		{"Interval", func(c *Config) { c.Version = 2; c.Interval = 256 * time.Second }},
		{"Interval", func(c *Config) { c.Interval = 15 * time.Millisecond }},
		{"Interval", func(c *Config) { c.Interval = 41 * time.Second }},
		{"NoPreempt", func(c *Config) { c.Priority = 255; c.NoPreempt = true }},
		{"PreemptDelay", func(c *Config) { c.PreemptDelay = 1001 * time.Second }},
		{"PreemptDelay", func(c *Config) { c.PreemptDelay = time.Second; c.NoPreempt = true }},
		{"VIPs[1]", func(c *Config) { c.VIPs = append(c.VIPs, VIP{Prefix: netip.MustParsePrefix("fd00::1/64")}) }},
		{"VIPs[1]", func(c *Config) { c.VIPs = append(c.VIPs, c.VIPs[0]) }},
		{"VIPs[1]", func(c *Config) {
			c.VIPs = append(c.VIPs, VIP{Prefix: netip.MustParsePrefix("::ffff:10.0.0.7/128"), Excluded: true})
		}},
		{"Tracks[0]", func(c *Config) { c.Tracks = []TrackStatus{{Up: true}} }},
		{"Tracks[1]", func(c *Config) { c.Tracks = []TrackStatus{{Name: "chk"}, {Name: "chk", Up: true}} }},
		{"UnicastSrc", func(c *Config) { c.UnicastSrc = netip.MustParseAddr("fd00::1") }},
		{"Peers[0]", func(c *Config) { c.Peers = []netip.Addr{v4("224.0.0.1")} }},
		{"Peers[1]", func(c *Config) { c.Peers = []netip.Addr{v4("10.0.0.2"), v4("10.0.0.2")} }},
		{"AcceptAnySource", func(c *Config) { c.AcceptAnySource = true }},
		{"PeerHopLimits[0]", func(c *Config) {
			c.Peers = []netip.Addr{v4("10.0.0.2")}
			c.PeerHopLimits = []PeerHopLimit{{Peer: v4("10.0.0.3"), Min: 250}}
		}},
		{"PeerHopLimits[0]", func(c *Config) {
			c.Peers = []netip.Addr{v4("10.0.0.2")}
			c.PeerHopLimits = []PeerHopLimit{{Peer: v4("10.0.0.2"), Min: 250, Max: 64}}
		}},
		{"Group", func(c *Config) { c.Group = v4("10.0.0.1") }},
		{"AuthType", func(c *Config) { c.AuthType = advert.AuthPass; c.AuthPass = auth.MustPassword("x") }},
		{"AuthType", func(c *Config) { c.AuthType = 7 }},
		{"AuthPass", func(c *Config) { c.Version = 2; c.AuthType = advert.AuthAH }},
		{"AuthPass", func(c *Config) { c.AuthPass = auth.MustPassword("x") }},
		{"Checksum", func(c *Config) { c.Checksum = advert.ChecksumEither }},
		{"Checksum", func(c *Config) {
			c.IPv6 = true
			c.VIPs[0].Prefix = netip.MustParsePrefix("fd00::1/64")
			c.Checksum = advert.ChecksumNoPseudoHeader
		}},
		{"VIPs[0].Options", func(c *Config) { c.VIPs[0].Options.Broadcast = v4("fd00::ff") }},
		{"VIPs[0].Options", func(c *Config) { c.VIPs[0].Options.Peer = netip.MustParsePrefix("fd00::2/128") }},
		{"VIPs[0].Options", func(c *Config) { c.VIPs[0].Options.PreferredLifetime = time.Second }},
		{"VIPs[0].Options", func(c *Config) {
			c.VIPs[0].Options.PreferredLifetimeSet, c.VIPs[0].Options.PreferredLifetime = true, 1500*time.Millisecond
		}},
		{"VIPs[0].Options", func(c *Config) { c.VIPs[0].Options.ManageTempAddr = true }},
	} {
		c := validConfig()
		c.VIPs = append([]VIP(nil), c.VIPs...)
		tc.edit(&c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || ce.Router != "VI_1" {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

// keepalived's no_virtual_ipaddress: a router without addresses runs (the
// cloud pattern, where the Backend moves the address by an API call), and
// its adverts list none.
func TestConfigAcceptsNoVIPs(t *testing.T) {
	for _, v := range []int{2, 3} {
		c := validConfig()
		c.Version, c.VIPs = v, nil
		if err := c.Validate(); err != nil {
			t.Errorf("VRRPv%d without VIPs: %v", v, err)
		}
		if got := c.advertAddrs(); len(got) != 0 {
			t.Errorf("VRRPv%d without VIPs advertises %v", v, got)
		}
	}
	c := validConfig()
	c.VIPs[0].Options = AddressOptions{Broadcast: netip.MustParseAddr("10.0.0.255"), Scope: 253,
		Peer: netip.MustParsePrefix("10.0.0.200/32"), PreferredLifetimeSet: true, PreferredLifetime: LifetimeForever,
		NoPrefixRoute: true, AutoJoin: true, NoRestore: true}
	if err := c.Validate(); err != nil {
		t.Errorf("every IPv4 address option: %v", err)
	}
}

// keepalived accepts virtual_ipaddress_excluded of the other family: they
// are not in adverts, so the advert's family does not constrain them.
func TestConfigAcceptsExcludedVIPsOfTheOtherFamily(t *testing.T) {
	c := validConfig()
	c.VIPs = append(c.VIPs, VIP{Prefix: netip.MustParsePrefix("fd00::108/64"), Excluded: true})
	if err := c.Validate(); err != nil {
		t.Errorf("IPv4 router with an excluded IPv6 VIP: %v", err)
	}
	if got := c.advertAddrs(); len(got) != 1 || got[0] != netip.MustParseAddr("10.0.0.100") {
		t.Errorf("advertised %v, want only 10.0.0.100", got)
	}
	c6 := validConfig()
	c6.IPv6 = true
	c6.VIPs = []VIP{{Prefix: netip.MustParsePrefix("fd00::1/64")}, {Prefix: netip.MustParsePrefix("10.0.0.9/24"), Excluded: true}}
	if err := c6.Validate(); err != nil {
		t.Errorf("IPv6 router with an excluded IPv4 VIP: %v", err)
	}
}

func TestEffectivePriority(t *testing.T) {
	// keepalived: base + weights, clamped to 1..254; an owner stays 255.
	for _, tc := range []struct {
		base int
		sum  int
		want int
	}{{100, 0, 100}, {100, -20, 80}, {100, -200, 1}, {200, 100, 254}, {255, -100, 255}, {1, 0, 1}} {
		if got := EffectivePriority(tc.base, tc.sum); got != tc.want {
			t.Errorf("EffectivePriority(%d, %d) = %d, want %d", tc.base, tc.sum, got, tc.want)
		}
	}
}

// A Config never prints its password, whatever the verb.
func TestConfigNeverPrintsThePassword(t *testing.T) {
	c := Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, AuthType: advert.AuthPass,
		AuthPass: auth.MustPassword("s3cr3tpw"), VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		if out := fmt.Sprintf(verb, c); strings.Contains(out, "s3cr3tpw") || strings.Contains(out, fmt.Sprintf("%x", "s3cr3tpw")) {
			t.Errorf("%s of a Config shows the password: %s", verb, out)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
