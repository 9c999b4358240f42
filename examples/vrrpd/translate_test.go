package main

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vip/vmac"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

func mustPlan(t *testing.T, src string) *plan {
	t.Helper()
	conf, err := kaconf.Parse("k.conf", []byte(src), nil)
	if err != nil {
		t.Fatalf("kaconf.Parse: %v", err)
	}
	p, err := buildPlan(conf)
	if err != nil {
		t.Fatalf("buildPlan: %v", err)
	}
	return p
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

// instanceBlock wraps instance lines in a vrrp_instance block.
func instanceBlock(lines ...string) string {
	return "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n" + strings.Join(lines, "\n") + "\n}\n"
}

func TestRouterConfigMapsEachKeyword(t *testing.T) {
	vips := "  virtual_ipaddress {\n    10.0.0.100/24\n  }"
	for _, c := range []struct {
		name string
		src  string
		want vrrp.Config
	}{
		{"keepalived's defaults", instanceBlock(vips), vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2,
			Priority: 100, Interval: time.Second, VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
		{"state MASTER without priority is the owner", instanceBlock("  state MASTER", vips), vrrp.Config{Name: "VI_1", VRID: 51,
			Interface: "eth0", Version: 2, Priority: 255, Interval: time.Second, VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
		{"v2 PASS", instanceBlock("  priority 150", "  authentication {\n    auth_type PASS\n    auth_pass secret12\n  }", vips),
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, Priority: 150, Interval: time.Second,
				AuthType: advert.AuthPass, AuthPass: auth.MustPassword("secret12"), VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
		{"v2 AH unicast", instanceBlock("  authentication {\n    auth_type AH\n    auth_pass k\n  }", "  unicast_src_ip 10.0.0.1",
			"  unicast_peer {\n    10.0.0.2\n    10.0.0.3\n  }", vips),
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, Priority: 100, Interval: time.Second,
				AuthType: advert.AuthAH, AuthPass: auth.MustPassword("k"), UnicastSrc: addr("10.0.0.1"), Peers: []netip.Addr{addr("10.0.0.2"), addr("10.0.0.3")}, AcceptAnySource: true,
				VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
		{"v3 fractional, nopreempt, no_accept, checksum as v2", instanceBlock("  version 3", "  advert_int 0.25", "  nopreempt",
			"  no_accept", "  v3_checksum_as_v2", vips),
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 3, Priority: 100, Interval: 250 * time.Millisecond,
				NoPreempt: true, NoAccept: true, Checksum: advert.ChecksumNoPseudoHeader, VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
		{"IPv6 is v3, link-local source", instanceBlock("  virtual_ipaddress {\n    fd00::100/64\n  }"),
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", IPv6: true, Version: 3, Priority: 100, Interval: time.Second,
				VIPs: []vrrp.VIP{{Prefix: pfx("fd00::100/64")}}}},
		{"preempt_delay, mcast_src_ip", instanceBlock("  preempt_delay 5.5", "  mcast_src_ip 10.0.0.9", vips),
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, Priority: 100, Interval: time.Second,
				PreemptDelay: 5500 * time.Millisecond, UnicastSrc: addr("10.0.0.9"), VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
		{"dont_track_primary", instanceBlock("  dont_track_primary", vips),
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, Priority: 100, Interval: time.Second,
				IgnoreLinkDown: true, VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
		{"dev, label, excluded", instanceBlock("  virtual_ipaddress {\n    10.0.0.100/24 dev eth1 label eth1:vip\n  }",
			"  virtual_ipaddress_excluded {\n    10.0.0.200/32\n  }"),
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, Priority: 100, Interval: time.Second,
				VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24"), Interface: "eth1", Label: "eth1:vip"}, {Prefix: pfx("10.0.0.200/32"), Excluded: true}}}},
		{"global mcast group, check_unicast_src, sync group", "global_defs {\n  vrrp_mcast_group4 224.0.0.19\n  vrrp_check_unicast_src\n}\n" +
			"vrrp_sync_group G {\n  group {\n    VI_1\n  }\n}\n" + instanceBlock(vips) +
			"vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  unicast_peer {\n    10.0.0.2\n  }\n" + vips + "\n}\n",
			vrrp.Config{Name: "VI_1", VRID: 51, Interface: "eth0", Version: 2, Priority: 100, Interval: time.Second,
				Group: addr("224.0.0.19"), SyncGroup: "G", VIPs: []vrrp.VIP{{Prefix: pfx("10.0.0.100/24")}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := mustPlan(t, c.src)
			if d := cmp.Diff(c.want, p.routers[0].cfg, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestCheckUnicastSourceGoesToInstancesWithPeers(t *testing.T) {
	p := mustPlan(t, "global_defs {\n  vrrp_check_unicast_src\n}\n"+
		"vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n")
	if p.routers[0].cfg.AcceptAnySource {
		t.Error("an instance with peers does not check the unicast source")
	}
}

// Unicast peers without a source check accept adverts from anyone:
// vrrpd keeps keepalived's meaning of the keyword and says so at load.
func TestUnicastWithoutSourceCheckWarns(t *testing.T) {
	peers := "  unicast_peer {\n    10.0.0.2\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n"
	const want = "k.conf:1: unicast_peer: (VI_1) adverts are accepted from any source"
	for _, c := range []struct {
		name, src string
		warns     bool
	}{
		{"peers alone", instanceBlock(peers), true},
		{"check_unicast_src", instanceBlock("  check_unicast_src", peers), false},
		{"vrrp_check_unicast_src", "global_defs {\n  vrrp_check_unicast_src\n}\n" + instanceBlock(peers), false},
		{"min_ttl implies the check", instanceBlock("  unicast_peer {\n    10.0.0.2 min_ttl 254\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n"), false},
		{"multicast", instanceBlock("  virtual_ipaddress {\n    10.0.0.1\n  }\n"), false},
	} {
		p := mustPlan(t, c.src)
		found := false
		for _, w := range p.warnings {
			found = found || strings.Contains(w.String(), strings.TrimPrefix(want, "k.conf:1: "))
		}
		if found != c.warns {
			t.Errorf("%s: warned %v, want %v: %v", c.name, found, c.warns, p.warnings)
		}
	}
}

// The per-peer TTL bounds are in the model, for the router's
// configuration: min_ttl and max_ttl as written, 0 and 255 without.
func TestPeerTTLBoundsAreParsed(t *testing.T) {
	p := mustPlan(t, instanceBlock("  unicast_peer {\n    10.0.0.2 min_ttl 254 max_ttl 255\n    10.0.0.3 max_ttl 64\n    10.0.0.4\n  }",
		"  virtual_ipaddress {\n    10.0.0.1\n  }"))
	got := p.routers[0].inst.Peers
	want := []kaconf.Peer{{Addr: addr("10.0.0.2"), MinTTL: 254, MaxTTL: 255}, {Addr: addr("10.0.0.3"), MinTTL: 0, MaxTTL: 64}, {Addr: addr("10.0.0.4"), MinTTL: 0, MaxTTL: 255}}
	if d := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); d != "" {
		t.Errorf("peers (-want +got):\n%s", d)
	}
	if !p.routers[0].inst.CheckUnicastSource || p.routers[0].cfg.AcceptAnySource {
		t.Error("a peer with TTL bounds does not turn the source check on (keepalived does)")
	}
	wantLimits := []vrrp.PeerHopLimit{{Peer: addr("10.0.0.2"), Min: 254, Max: 255}, {Peer: addr("10.0.0.3"), Min: 0, Max: 64}}
	if d := cmp.Diff(wantLimits, p.routers[0].cfg.PeerHopLimits, cmpopts.EquateComparable(netip.Addr{})); d != "" {
		t.Errorf("the router's TTL bounds (-want +got):\n%s", d)
	}
}

func TestUnsupportedSettingsWarnWithFileAndLine(t *testing.T) {
	p := mustPlan(t, "\n\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n"+
		"  nopreempt\n  preempt_delay 3\n  unicast_peer {\n    10.0.0.2 min_ttl 10\n  }\n"+
		"  virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n")
	var got []string
	for _, w := range p.warnings {
		got = append(got, w.String())
	}
	for _, want := range []string{
		"k.conf:3: preempt_delay: (VI_1) has no effect with nopreempt, ignored",
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no warning %q among:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if p.routers[0].cfg.PreemptDelay != 0 {
		t.Error("preempt_delay kept with nopreempt")
	}
}

// keepalived runs an instance without addresses (VRRPv2, or VRRPv3 with
// no_virtual_ipaddress): so does vrrpd, its adverts listing none.
func TestInstanceWithoutAddressesRuns(t *testing.T) {
	p := mustPlan(t, "\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n}\n"+
		"vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  version 3\n  no_virtual_ipaddress\n}\n")
	for _, rp := range p.routers {
		if len(rp.cfg.VIPs) != 0 || rp.cfg.Validate() != nil {
			t.Errorf("%s: VIPs %v, %v", rp.cfg.Name, rp.cfg.VIPs, rp.cfg.Validate())
		}
	}
}

// keepalived's settings beyond the RFCs and its address options reach
// the router's Config; use_vmac puts the router and its addresses on the
// VMAC (only the addresses with vmac_xmit_base); unicast_fault_no_peer
// without peers is a Fault that never clears.
func TestParitySettingsTranslate(t *testing.T) {
	p := mustPlan(t, instanceBlock("  version 3", "  higher_prio_send_advert", "  lower_prio_no_advert", "  use_vmac",
		"  garp_extra_if 60",
		"  virtual_ipaddress {\n    10.0.0.100/24 brd + scope 10 peer 10.0.0.200/32 preferred_lft 0 noprefixroute no_track\n    10.0.0.101/24 dev eth1\n  }",
		"  virtual_ipaddress_excluded {\n    fd00::100/64 preferred_lft forever home mngtmpaddr autojoin\n  }",
		"  virtual_routes {\n    10.1.0.0/24 via 10.0.0.254\n  }", "  virtual_rules {\n    from 10.0.0.100 table 100 pref 100\n  }")+
		"vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  use_vmac vip52\n  vmac_xmit_base\n"+
		"  virtual_ipaddress {\n    10.0.0.102/24\n  }\n}\n"+
		"vrrp_instance VI_3 {\n  interface eth0\n  virtual_router_id 53\n  unicast_src_ip 10.0.0.1\n  unicast_fault_no_peer\n"+
		"  virtual_ipaddress {\n    10.0.0.103/24\n  }\n}\n")
	r1, r2, r3 := p.routers[0], p.routers[1], p.routers[2]
	c := r1.cfg
	if !c.HigherPriorityAdvert || !c.LowerPriorityNoAdvert || c.Interface != "vrrp.51" {
		t.Errorf("VI_1: higher %v lower %v interface %q", c.HigherPriorityAdvert, c.LowerPriorityNoAdvert, c.Interface)
	}
	want := []vrrp.VIP{
		{Prefix: pfx("10.0.0.100/24"), Interface: "vrrp.51", Options: vrrp.AddressOptions{Broadcast: addr("10.0.0.255"),
			Scope: 10, Peer: pfx("10.0.0.200/32"), PreferredLifetimeSet: true, NoPrefixRoute: true, NoRestore: true}},
		{Prefix: pfx("10.0.0.101/24"), Interface: "eth1"},
		{Prefix: pfx("fd00::100/64"), Interface: "vrrp.51", Excluded: true, Options: vrrp.AddressOptions{
			PreferredLifetimeSet: true, PreferredLifetime: vrrp.LifetimeForever, HomeAddress: true, ManageTempAddr: true, AutoJoin: true}},
	}
	if d := cmp.Diff(want, c.VIPs, cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); d != "" {
		t.Errorf("VI_1 VIPs (-want +got):\n%s", d)
	}
	if s := r1.vmac; s == nil || !reflect.DeepEqual(*s, vmac.Spec{Base: "eth0", VRID: 51, Name: "vrrp.51", KeepIPv6: true}) {
		t.Errorf("VI_1 vmac %+v", r1.vmac)
	}
	if r1.schedule.Refresh != time.Minute || len(r1.routes) != 1 || len(r1.rules) != 1 {
		t.Errorf("VI_1: refresh %v (garp_extra_if), routes %v, rules %v", r1.schedule.Refresh, r1.routes, r1.rules)
	}
	if r2.cfg.Interface != "eth0" || r2.cfg.VIPs[0].Interface != "vip52" || r2.vmac == nil || r2.vmac.Name != "vip52" {
		t.Errorf("VI_2 (vmac_xmit_base): interface %q, VIPs %v, vmac %+v", r2.cfg.Interface, r2.cfg.VIPs, r2.vmac)
	}
	if len(r3.faults) != 1 || !r3.faults[0].Fault || len(r1.faults)+len(r2.faults) != 0 {
		t.Errorf("faults: %v %v %v", r1.faults, r2.faults, r3.faults)
	}
}

func TestScheduleMapsGARPSettings(t *testing.T) {
	p := mustPlan(t, "global_defs {\n  vrrp_garp_master_delay 10\n  vrrp_garp_master_repeat 3\n  vrrp_garp_master_refresh 60\n"+
		"  vrrp_garp_interval 0.001\n  vrrp_gna_interval 0.002\n}\n"+
		instanceBlock("  virtual_ipaddress {\n    10.0.0.1\n  }")+
		"vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  garp_master_repeat 1\n  garp_master_delay 0\n"+
		"  virtual_ipaddress {\n    10.0.0.2\n  }\n}\n")
	global := vip.Schedule{Repeat: 3, Delay: 10 * time.Second, Refresh: 60 * time.Second, RefreshRepeat: 1,
		LowerPrioRepeat: 3, LowerPrioDelay: 10 * time.Second, ARPInterval: time.Millisecond, NAInterval: 2 * time.Millisecond}
	if d := cmp.Diff(global, p.routers[0].schedule); d != "" {
		t.Errorf("VI_1 (the global schedule) (-want +got):\n%s", d)
	}
	own := global
	own.Repeat, own.Delay = 1, 0
	if d := cmp.Diff(own, p.routers[1].schedule); d != "" {
		t.Errorf("VI_2 (its own schedule) (-want +got):\n%s", d)
	}
}

func TestTrackRefsIncludeTheSyncGroupsObjects(t *testing.T) {
	p := mustPlan(t, `vrrp_script chk {
  script "/bin/true"
  weight -20
}
vrrp_script grp {
  script "/bin/true"
}
track_file f {
  file "/tmp/x"
}
vrrp_sync_group G {
  group {
    VI_1
  }
  track_script {
    grp
  }
  sync_group_tracking_weight
}
`+instanceBlock("  track_script {\n    chk weight 10 reverse\n  }", "  track_interface {\n    eth1 weight -5\n  }",
		"  track_file {\n    f weight 2\n  }", "  virtual_ipaddress {\n    10.0.0.1\n  }"))
	want := []trackRef{
		{trackKey{trackInterface, "eth1"}, health.Weight{Weight: -5}},
		{trackKey{trackScript, "chk"}, health.Weight{Weight: 10, Reverse: true}},
		{trackKey{trackFile, "f"}, health.Weight{Weight: 2}},
		{trackKey{trackScript, "grp"}, health.Weight{}},
	}
	if d := cmp.Diff(want, p.routers[0].tracks, cmp.AllowUnexported(trackRef{}, trackKey{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestExcludedAddressesOfTheOtherFamilyStayWithTheRouter(t *testing.T) {
	p := mustPlan(t, instanceBlock("  version 3", "  virtual_ipaddress {\n    10.0.0.208/24\n  }",
		"  virtual_ipaddress_excluded {\n    fd00::108/64\n    10.0.0.209/24\n  }"))
	rp := p.routers[0]
	// keepalived allows excluded addresses of the other family, and so
	// does vrrp: the backend gets them with the router's own.
	want := []vrrp.VIP{{Prefix: pfx("10.0.0.208/24")}, {Prefix: pfx("fd00::108/64"), Excluded: true},
		{Prefix: pfx("10.0.0.209/24"), Excluded: true}}
	opt := cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})
	if d := cmp.Diff(want, rp.cfg.VIPs, opt); d != "" {
		t.Errorf("VIPs (-want +got):\n%s", d)
	}
}
