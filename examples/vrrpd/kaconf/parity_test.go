package kaconf

import (
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

const parityConf = `global_defs {
    vrrp_higher_prio_send_advert
    vrrp_notify_priority_changes true
    vrrp_garp_extra_if all 120
    vrrp_notify_fifo /run/vrrp.fifo nobody
    vrrp_notify_fifo_script "/usr/bin/fifo-reader -v" root
    notify_fifo /run/all.fifo
    fifo_write_vrrp_states_on_reload
    vmac_prefix vk
    default_interface eth1
}
static_ipaddress {
    192.0.2.1/24 dev lo
    192.0.2.2
}
static_routes {
    198.51.100.0/24 via 10.0.0.254 dev eth0
}
static_rules {
    from 198.51.100.0/24 table 200 preference 300
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    use_vmac
    higher_prio_send_advert false
    lower_prio_no_advert
    notify_master_rx_lower_pri "/bin/reclaim VI_1"
    notify_deleted
    garp_extra_if 60
    virtual_ipaddress {
        10.0.0.100/24 brd + peer 10.0.0.200/32 preferred_lft 0 noprefixroute no_track
        10.0.0.101 autojoin -nodad
    }
    virtual_ipaddress_excluded {
        fd00::100/64 preferred_lft forever home mngtmpaddr
    }
    virtual_routes {
        src 10.0.0.100 to 10.1.0.0/24 via 10.0.0.254 dev eth0
        10.2.0.0/24 dev eth0 table 100 metric 5 scope link
        blackhole 10.3.0.0/24
        10.4.0.0/24 nexthop via 10.0.0.253 weight 2 nexthop via 10.0.0.252 dev eth0 onlink
        unreachable 10.5.0.0/24 table main no_track
        default via 10.0.0.1 table 101
        default via fd00::1 table 102
        fd00:5::/64 via fd00::254 dev eth0 protocol keepalived
    }
    virtual_rules {
        from 10.0.0.100/32 table 100 preference 100
        to 10.6.0.0/24 lookup 100 priority 101 fwmark 7/0xff
        not from all iif eth1 prohibit pref 102
        from fd00::100/128 table 100 preference 103 no_track
        inet6 table 100 preference 104
        preference 105 goto 200
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    mcast_dst_ip 224.0.0.99
    use_vmac name vip52 00:00:5e:00:01 netlink_notify_msg
    vmac_xmit_base
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress {
        10.0.0.102/24
    }
    notify_deleted "/bin/deleted VI_2" nobody
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    version 3
    no_virtual_ipaddress
    unicast_src_ip 10.0.0.1
    unicast_fault_no_peer
}
`

// keepalived's keywords beyond the RFCs, its address options, use_vmac,
// routes, rules, static_* and the notify FIFOs are read into the model
// with their global defaults, and Format writes them back so that they
// read back the same.
func TestParityKeywords(t *testing.T) {
	cfg := mustParse(t, parityConf)
	g := cfg.Global
	if !g.HigherPrioSendAdvert || g.LowerPrioNoAdvert || !g.NotifyPriorityChanges ||
		g.GARPExtraIf != (GARPExtraIf{Interval: 120 * time.Second, All: true}) || !g.FIFOWriteStatesOnReload || g.VMACPrefix != "vk" {
		t.Errorf("global: %+v", g)
	}
	wantFIFO := &FIFO{Path: "/run/vrrp.fifo", User: "nobody", Script: &Command{Args: []string{"/usr/bin/fifo-reader", "-v"}, User: "root"}}
	if !g.VRRPNotifyFIFO.Equal(wantFIFO) || !g.NotifyFIFO.Equal(&FIFO{Path: "/run/all.fifo"}) {
		t.Errorf("FIFOs: %+v %+v", g.VRRPNotifyFIFO, g.NotifyFIFO)
	}
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	if want := []VIP{{Prefix: pfx("192.0.2.1/24"), Interface: "lo"}, {Prefix: pfx("192.0.2.2/32"), Interface: "eth1"}}; !slices.Equal(cfg.StaticAddresses, want) {
		t.Errorf("static addresses %+v", cfg.StaticAddresses)
	}
	if len(cfg.StaticRoutes) != 1 || cfg.StaticRoutes[0].Gateway != addr("10.0.0.254") ||
		len(cfg.StaticRules) != 1 || cfg.StaticRules[0].Priority != 300 || cfg.StaticRules[0].Table != 200 {
		t.Errorf("static routes %+v rules %+v", cfg.StaticRoutes, cfg.StaticRules)
	}

	v1 := cfg.Instance("VI_1")
	if !v1.VMAC.Equal(&VMAC{Name: "vk.51"}) || v1.HigherPrioSendAdvert || !v1.LowerPrioNoAdvert || !v1.NotifyPriorityChanges ||
		v1.GARPExtraIf != (GARPExtraIf{Interval: time.Minute}) {
		t.Errorf("VI_1: vmac %+v higher %v lower %v changes %v extra %+v", v1.VMAC, v1.HigherPrioSendAdvert,
			v1.LowerPrioNoAdvert, v1.NotifyPriorityChanges, v1.GARPExtraIf)
	}
	if n := v1.Notify; !n.Deleted || n.DeletedScript != nil || !n.MasterRxLowerPri.Equal(&Command{Args: []string{"/bin/reclaim", "VI_1"}}) {
		t.Errorf("VI_1 notify %+v", n)
	}
	wantVIPs := []VIP{
		{Prefix: pfx("10.0.0.100/24"), Broadcast: addr("10.0.0.255"), Peer: pfx("10.0.0.200/32"),
			PreferredLifetimeSet: true, NoPrefixRoute: true, NoTrack: true},
		{Prefix: pfx("10.0.0.101/32"), AutoJoin: true},
		{Prefix: pfx("fd00::100/64"), Excluded: true, PreferredLifetimeSet: true, PreferredLifetime: vrrp.LifetimeForever,
			Home: true, MngTmpAddr: true},
	}
	if !slices.Equal(v1.VIPs, wantVIPs) {
		t.Errorf("VIPs\n%+v\nwant\n%+v", v1.VIPs, wantVIPs)
	}
	wantRoutes := []vip.Route{
		{Dst: pfx("10.1.0.0/24"), Src: addr("10.0.0.100"), Gateway: addr("10.0.0.254"), Interface: "eth0"},
		{Dst: pfx("10.2.0.0/24"), Interface: "eth0", Table: 100, Metric: 5, Scope: 253},
		{Dst: pfx("10.3.0.0/24"), Type: vip.RouteBlackhole},
		{Dst: pfx("10.4.0.0/24"), NextHops: []vip.NextHop{{Gateway: addr("10.0.0.253"), Weight: 2},
			{Gateway: addr("10.0.0.252"), Interface: "eth0", OnLink: true}}},
		{Dst: pfx("10.5.0.0/24"), Type: vip.RouteUnreachable, Table: 254, NoRestore: true},
		{Dst: pfx("0.0.0.0/0"), Gateway: addr("10.0.0.1"), Table: 101},
		{Dst: pfx("::/0"), Gateway: addr("fd00::1"), Table: 102},
		{Dst: pfx("fd00:5::/64"), Gateway: addr("fd00::254"), Interface: "eth0"},
	}
	if !slices.EqualFunc(v1.Routes, wantRoutes, routeEqual) {
		t.Errorf("routes\n%+v\nwant\n%+v", v1.Routes, wantRoutes)
	}
	wantRules := []vip.Rule{
		{From: pfx("10.0.0.100/32"), Table: 100, Priority: 100},
		{To: pfx("10.6.0.0/24"), Table: 100, Priority: 101, FwMark: 7, FwMask: 0xff},
		{Invert: true, IIF: "eth1", Action: vip.RuleProhibit, Priority: 102},
		{From: pfx("fd00::100/128"), Table: 100, Priority: 103, NoRestore: true},
		{IPv6: true, Table: 100, Priority: 104},
		{Priority: 105, Action: vip.RuleGoto, Goto: 200},
	}
	if !slices.Equal(v1.Rules, wantRules) {
		t.Errorf("rules\n%+v\nwant\n%+v", v1.Rules, wantRules)
	}

	v2 := cfg.Instance("VI_2")
	if v2.MulticastGroup != addr("224.0.0.99") {
		t.Errorf("VI_2 mcast_dst_ip: %v", v2.MulticastGroup)
	}
	if !v2.VMAC.Equal(&VMAC{Name: "vip52", MAC: net.HardwareAddr{0, 0, 0x5e, 0, 1, 52}, XmitBase: true}) {
		t.Errorf("VI_2 vmac %+v", v2.VMAC)
	}
	if n := v2.Notify; !n.Deleted || !n.DeletedScript.Equal(&Command{Args: []string{"/bin/deleted", "VI_2"}, User: "nobody"}) {
		t.Errorf("VI_2 notify %+v", n)
	}
	if v3 := cfg.Instance("VI_3"); !v3.UnicastFaultNoPeer || len(v3.Peers) != 0 || len(v3.VIPs) != 0 {
		t.Errorf("VI_3 %+v", v3)
	}
	wantWarnings := []string{
		"k.conf:62: use_vmac: netlink_notify_msg: not needed by vrrpd (it does not wait for the kernel's link message of the base interface), ignored",
		"k.conf:78: unicast_fault_no_peer: VI_3 has no unicast peers: it stays in FAULT (unicast_fault_no_peer)",
	}
	if got := warnings(cfg); !reflect.DeepEqual(got, wantWarnings) {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}

	again := mustParse(t, cfg.Format())
	if !cfg.Equal(again) {
		t.Errorf("Format reads back differently:\n%s", cfg.Format())
	}
}

// What vrrpd cannot add as keepalived would is an error naming it.
func TestParityErrors(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string
	}{
		{"virtual_routes {\n 10.1.0.0/24 via 10.0.0.1 mtu 1400\n}\n", `"mtu" is not supported by vrrpd`},
		{"virtual_routes {\n 10.1.0.0/24 via 10.0.0.1 table wan\n}\n", "vrrpd does not read rt_tables"},
		{"virtual_routes {\n 10.1.0.0/24 via 10.0.0.1 proto static\n}\n", "protocol static"},
		{"virtual_routes {\n local 10.1.0.0/24 dev eth0\n}\n", `"local" is not supported`},
		{"virtual_routes {\n 10.1.0.0/24\n}\n", "needs via, dev or nexthops"},
		{"virtual_routes {\n 10.1.0.0/24 via 10.0.0.1 track_group G\n}\n", "track_group is not supported"},
		{"virtual_rules {\n from 10.0.0.0/24 uidrange 1-2 table 5 pref 5\n}\n", `"uidrange" is not supported`},
		{"virtual_rules {\n from 10.0.0.0/24 pref 5\n}\n", "no table, goto or action"},
		{"use_vmac\nunicast_peer {\n 10.0.0.2\n}\n", "needs vmac_xmit_base"},
		{"use_vmac eth0\n", "cannot be named as the instance's interface"},
		{"use_vmac 01:00:5e:00:01:01\n", "not a unicast Ethernet address"},
		{"virtual_ipaddress {\n 10.0.0.7 preferred_lft soon\n}\n", "not a number of seconds or forever"},
		{"notify_deleted\nnotify_deleted\n", "set twice"},
	} {
		_, err := Parse("k.conf", []byte(instance(tc.body)), testOpts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.body, err, tc.want)
		}
	}
	_, err := Parse("k.conf", []byte("global_defs {\n notify_fifo_script /bin/x\n}\n"+instance("")), testOpts)
	if err == nil || !strings.Contains(err.Error(), "needs its notify_fifo") {
		t.Errorf("a FIFO script without a FIFO: %v", err)
	}
}
