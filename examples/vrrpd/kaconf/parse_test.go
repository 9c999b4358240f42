package kaconf

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var testOpts = &Options{ConfigID: "node1", FS: fstest.MapFS{}, LookupEnv: testEnv}

// testEnv is the environment the tests' configurations see.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"CREDENTIALS_DIRECTORY": "/run/credentials/vrrpd.service",
		"VRRP_IFACE":            "eth0",
		"EMPTY":                 "",
	}[name]
	return v, ok
}

// mustParse parses src as k.conf and fails the test on an error.
func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := Parse("k.conf", []byte(src), testOpts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func warnings(cfg *Config) []string {
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.String())
	}
	return out
}

// instance wraps body in a minimal valid vrrp_instance VI_1.
func instance(body string) string {
	return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.100/24\n }\n" + body + "}\n"
}

// The defaults keepalived 2.2.7 shows in its -d dump for a minimal
// instance.
func TestInstanceDefaults(t *testing.T) {
	in := mustParse(t, instance("")).Instances[0]
	want := &Instance{
		Name: "VI_1", Pos: Pos{File: "k.conf", Line: 1},
		State: Backup, Interface: "eth0", VRID: 51, Priority: 100,
		AdvertInterval: time.Second, Version: 2, Preempt: true, Accept: true,
		MulticastGroup: netip.MustParseAddr("224.0.0.18"),
		VIPs:           []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}},
		GARP:           DefaultGARP(),
	}
	if !in.Equal(want) || in.Pos != want.Pos {
		t.Errorf("got  %+v\nwant %+v", in, want)
	}
}

func TestPriorityDefaults(t *testing.T) {
	for _, tc := range []struct {
		body string
		want uint8
	}{
		{"", 100},
		{"state BACKUP\n", 100},
		// keepalived 2.2.7 -d: "Priority = 255" for state MASTER alone.
		{"state MASTER\n", 255},
		{"priority 150\nstate MASTER\n", 150},
		{"state MASTER\npriority 100\n", 100},
	} {
		if got := mustParse(t, instance(tc.body)).Instances[0].Priority; got != tc.want {
			t.Errorf("%q: priority %d, want %d", tc.body, got, tc.want)
		}
	}
}

func TestVersionAndFamily(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		version   int
		ipv6      bool
	}{
		{"default", instance(""), 2, false},
		{"global v3", "global_defs {\n vrrp_version 3\n}\n" + instance(""), 3, false},
		{"global after instance", instance("") + "global_defs {\n vrrp_version 3\n}\n", 3, false},
		{"instance v3", instance("version 3\n"), 3, false},
		{"instance v2 over global v3", "global_defs {\n vrrp_version 3\n}\n" + instance("version 2\n"), 2, false},
		// keepalived -d: an IPv6 instance is VRRPv3 whatever vrrp_version says.
		{"IPv6", "global_defs {\n vrrp_version 2\n}\nvrrp_instance V6 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  fd00::1/64\n }\n}\n", 3, true},
		{"IPv6 from source", "vrrp_instance V6 {\n interface eth0\n virtual_router_id 1\n unicast_src_ip fd00::1\n unicast_peer {\n  fd00::2\n }\n virtual_ipaddress {\n  fd00::100\n }\n}\n", 3, true},
		// Excluded addresses do not set the family (keepalived -d: VRRP Version = 2).
		{"excluded IPv6", instance("virtual_ipaddress_excluded {\n fd00::5\n}\n"), 2, false},
	} {
		in := mustParse(t, tc.src).Instances[0]
		if in.Version != tc.version || in.IPv6 != tc.ipv6 {
			t.Errorf("%s: version %d IPv6 %v, want %d %v", tc.name, in.Version, in.IPv6, tc.version, tc.ipv6)
		}
		wantGroup := "224.0.0.18"
		if tc.ipv6 {
			wantGroup = "ff02::12"
		}
		if in.MulticastGroup.String() != wantGroup {
			t.Errorf("%s: multicast group %s", tc.name, in.MulticastGroup)
		}
	}
}

// keepalived 2.2.7: "VRRPv2 advertisement interval 1.500000s must be an
// integer. rounding" (to 2 s; 0.4 s becomes 1 s, 2.5 s 3 s) and "VRRPv3
// advertisement interval 0.255000s must be in units of 10ms - rounding"
// (to 260 ms).
func TestAdvertIntervalRounding(t *testing.T) {
	for _, tc := range []struct {
		body string
		want time.Duration
		warn string
	}{
		{"advert_int 3\n", 3 * time.Second, ""},
		{"advert_int 1.5\n", 2 * time.Second, "k.conf:7: advert_int: VRRPv2 counts whole seconds: 1.5 s is rounded to 2 s, as keepalived does"},
		{"advert_int 2.5\n", 3 * time.Second, "k.conf:7: advert_int: VRRPv2 counts whole seconds: 2.5 s is rounded to 3 s, as keepalived does"},
		{"advert_int 0.4\n", time.Second, "k.conf:7: advert_int: VRRPv2 counts whole seconds: 0.4 s is rounded to 1 s, as keepalived does"},
		{"version 3\nadvert_int 0.25\n", 250 * time.Millisecond, ""},
		{"version 3\nadvert_int 0.255\n", 260 * time.Millisecond, "k.conf:8: advert_int: VRRPv3 counts centiseconds: 0.255 s is rounded to 0.26 s, as keepalived does"},
		{"version 3\nadvert_int 40.95\n", 40950 * time.Millisecond, ""},
		{"advert_int 0.01\nversion 3\n", 10 * time.Millisecond, ""},
	} {
		cfg := mustParse(t, instance(tc.body))
		if got := cfg.Instances[0].AdvertInterval; got != tc.want {
			t.Errorf("%q: interval %v, want %v", tc.body, got, tc.want)
		}
		var want []string
		if tc.warn != "" {
			want = []string{tc.warn}
		}
		if got := warnings(cfg); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: warnings %q, want %q", tc.body, got, want)
		}
	}
}

func TestAuthPassTruncated(t *testing.T) {
	cfg := mustParse(t, instance("authentication {\n auth_type PASS\n auth_pass secret12345\n}\n"))
	if got := cfg.Instances[0].Auth; got.Type != AuthPass || got.Password.Reveal() != "secret12" {
		t.Errorf("auth %v %q", got.Type, got.Password.Reveal())
	}
	want := []string{`k.conf:9: auth_pass: redacted (11 bytes): cut to its first 8 bytes, as keepalived does ("Truncating auth_pass to 8 characters")`}
	if got := warnings(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings %q", got)
	}
	// keepalived 2.2.7: "VRRP version 3 does not support authentication. Ignoring."
	cfg = mustParse(t, instance("version 3\nauthentication {\n auth_type AH\n auth_pass k\n}\n"))
	if got := cfg.Instances[0].Auth; got != (Auth{}) {
		t.Errorf("v3 auth %+v, want none", got)
	}
}

func TestGARPDefaults(t *testing.T) {
	cfg := mustParse(t, instance(""))
	if cfg.Global.GARP != DefaultGARP() || cfg.Instances[0].GARP != DefaultGARP() {
		t.Errorf("garp %+v / %+v", cfg.Global.GARP, cfg.Instances[0].GARP)
	}
	// keepalived -d with vrrp_garp_master_delay 7 and repeat 3 globally and
	// garp_master_delay 2 in the instance: the lower-priority settings follow
	// the global ones, not the instance's.
	cfg = mustParse(t, "global_defs {\n vrrp_garp_master_delay 7\n vrrp_garp_master_repeat 3\n vrrp_garp_master_refresh 30\n vrrp_garp_master_refresh_repeat 2\n}\n"+
		instance("garp_master_delay 2\ngarp_master_repeat 4\n"))
	wantG := GARP{Repeat: 3, Delay: 7 * time.Second, Refresh: 30 * time.Second, RefreshRepeat: 2, LowerPrioRepeat: 3, LowerPrioDelay: 7 * time.Second}
	wantI := wantG
	wantI.Delay, wantI.Repeat = 2*time.Second, 4
	if cfg.Global.GARP != wantG || cfg.Instances[0].GARP != wantI {
		t.Errorf("global %+v\ninstance %+v", cfg.Global.GARP, cfg.Instances[0].GARP)
	}
	// keepalived -d with vrrp_min_garp.
	cfg = mustParse(t, "global_defs {\n vrrp_min_garp\n}\n"+instance(""))
	if want := (GARP{Repeat: 1, LowerPrioRepeat: 1}); cfg.Instances[0].GARP != want {
		t.Errorf("min_garp %+v", cfg.Instances[0].GARP)
	}
}

func TestGlobalDefs(t *testing.T) {
	cfg := mustParse(t, `global_defs {
    router_id r1
    vrrp_mcast_group4 224.0.0.19
    vrrp_mcast_group6 ff02::13
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.002
    vrrp_check_unicast_src
    vrrp_startup_delay 5.5
    script_user nobody nogroup
    enable_script_security
    notification_email {
        ops@example.com
    }
    smtp_server 127.0.0.1
    vrrp_strict
    no_such_keyword
}
`+instance("unicast_peer {\n 10.0.0.2\n}\n"))
	g := cfg.Global
	want := Global{
		RouterID: "r1", Version: 2,
		MulticastGroup4: netip.MustParseAddr("224.0.0.19"), MulticastGroup6: netip.MustParseAddr("ff02::13"),
		GARP: DefaultGARP(), ARPInterval: time.Millisecond, NAInterval: 2 * time.Millisecond,
		CheckUnicastSource: true, StartupDelay: 5500 * time.Millisecond,
		ScriptUser: "nobody", ScriptGroup: "nogroup", ScriptSecurity: true, VMACPrefix: "vrrp", DefaultInterface: "eth0",
	}
	if g != want {
		t.Errorf("global\n%+v\nwant\n%+v", g, want)
	}
	if in := cfg.Instances[0]; !in.CheckUnicastSource || in.MulticastGroup != want.MulticastGroup4 {
		t.Errorf("instance does not inherit: %+v", in)
	}
	wantWarn := []string{
		"k.conf:11: notification_email: e-mail notification is not supported by vrrpd, ignored",
		"k.conf:14: smtp_server: e-mail notification is not supported by vrrpd, ignored",
		"k.conf:15: vrrp_strict: not supported by vrrpd, ignored",
		"k.conf:16: no_such_keyword: unknown keyword, ignored",
	}
	if got := warnings(cfg); !reflect.DeepEqual(got, wantWarn) {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}
}

func TestInstanceSettings(t *testing.T) {
	cfg := mustParse(t, `vrrp_instance VI_9 {
    state BACKUP
    interface eth1
    virtual_router_id 9
    priority 120
    nopreempt
    preempt_delay 12.5
    no_accept
    dont_track_primary
    v3_checksum_as_v2
    version 3
    advert_int 0.1
    mcast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
        10.0.0.3 min_ttl 250 max_ttl 255
    }
    virtual_ipaddress {
        10.0.0.100/24 dev eth1 label eth1:vip brd + scope link
        10.0.0.101 brd 10.0.0.127 scope 200
    }
    virtual_ipaddress_excluded {
        fd00::1/64 dev eth2
    }
}
`)
	in := cfg.Instances[0]
	want := &Instance{
		Name: "VI_9", State: Backup, Interface: "eth1", VRID: 9, Priority: 120,
		AdvertInterval: 100 * time.Millisecond, Version: 3, Preempt: false,
		PreemptDelay: 12500 * time.Millisecond, Accept: false,
		SourceAddr: netip.MustParseAddr("10.0.0.1"),
		Peers: []Peer{
			{Addr: netip.MustParseAddr("10.0.0.2"), MaxTTL: 255},
			{Addr: netip.MustParseAddr("10.0.0.3"), MinTTL: 250, MaxTTL: 255},
		},
		MulticastGroup:     netip.MustParseAddr("224.0.0.18"),
		CheckUnicastSource: true, // min_ttl turns it on
		VIPs: []VIP{
			{Prefix: netip.MustParsePrefix("10.0.0.100/24"), Interface: "eth1", Label: "eth1:vip", Broadcast: netip.MustParseAddr("10.0.0.255"), Scope: "link"},
			{Prefix: netip.MustParsePrefix("10.0.0.101/32"), Broadcast: netip.MustParseAddr("10.0.0.127"), Scope: "200"},
			{Prefix: netip.MustParsePrefix("fd00::1/64"), Interface: "eth2", Excluded: true},
		},
		GARP:             DefaultGARP(),
		DontTrackPrimary: true, V3ChecksumAsV2: true,
	}
	if !in.Equal(want) {
		t.Errorf("got  %+v\nwant %+v", in, want)
	}
}

func TestNotifyCommands(t *testing.T) {
	cfg := mustParse(t, instance(`notify "/etc/keepalived/notify.sh --eni 'eni 1'" root
notify_master /usr/bin/master.sh
notify_backup "/bin/echo backup" nobody nogroup
notify_fault "/bin/echo \"quoted words\""
notify_stop "/bin/echo a#b !c {}"
`))
	n := cfg.Instances[0].Notify
	want := Notify{
		Any:    &Command{Args: []string{"/etc/keepalived/notify.sh", "--eni", "eni 1"}, User: "root"},
		Master: &Command{Args: []string{"/usr/bin/master.sh"}},
		Backup: &Command{Args: []string{"/bin/echo", "backup"}, User: "nobody", Group: "nogroup"},
		Fault:  &Command{Args: []string{"/bin/echo", "quoted words"}},
		Stop:   &Command{Args: []string{"/bin/echo", "a#b", "!c", "{}"}},
	}
	if !n.Equal(want) {
		t.Errorf("notify %+v %+v %+v %+v %+v", n.Any, n.Master, n.Backup, n.Fault, n.Stop)
	}
	// keepalived's calling convention for notify.
	got := n.Any.NotifyArgs("INSTANCE", "VI_1", "MASTER", 150)
	if w := []string{"/etc/keepalived/notify.sh", "--eni", "eni 1", "INSTANCE", "VI_1", "MASTER", "150"}; !reflect.DeepEqual(got, w) {
		t.Errorf("NotifyArgs = %q", got)
	}
}

// keepalived 2.2.7 -d shows Command = '/usr/bin/echo' 'a#b' '!c' 'd e'
// for this vrrp_script.
func TestScript(t *testing.T) {
	cfg := mustParse(t, `vrrp_script chk {
    script "/bin/echo a#b !c 'd e'"
    interval 3
    weight -20 reverse
    rise 2
    fall 3
    user nobody
    init_fail
}
vrrp_script chk_default {
    script /bin/true
}
vrrp_script chk_timeout {
    script "/bin/true"
    interval 5
    timeout 2
}
`+instance("track_script {\n chk\n chk_default weight 10\n chk_timeout weight -5 reverse\n}\n"))
	want := []*Script{
		{Name: "chk", Command: Command{Args: []string{"/bin/echo", "a#b", "!c", "d e"}, User: "nobody"},
			Interval: 3 * time.Second, Timeout: 3 * time.Second, Weight: -20, Reverse: true, Rise: 2, Fall: 3, InitFail: true},
		{Name: "chk_default", Command: Command{Args: []string{"/bin/true"}}, Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1},
		{Name: "chk_timeout", Command: Command{Args: []string{"/bin/true"}}, Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 1, Fall: 1},
	}
	for i, s := range cfg.Scripts {
		if !s.Equal(want[i]) {
			t.Errorf("script %d: %+v\nwant %+v", i, s, want[i])
		}
	}
	wantTracks := []Track{{"chk", -20, true}, {"chk_default", 10, false}, {"chk_timeout", -5, true}}
	if got := cfg.Instances[0].TrackScripts; !reflect.DeepEqual(got, wantTracks) {
		t.Errorf("tracks %+v", got)
	}
}

func TestTrackProcessAndFile(t *testing.T) {
	cfg := mustParse(t, `vrrp_track_process sshd {
    process sshd
}
vrrp_track_process full {
    process "/usr/sbin/sshd" -D
    param_match partial
    weight 10 reverse
    quorum 2
    quorum_max 3
    delay 0.5
    fork_delay 0.25
}
vrrp_track_process none {
    process haproxy
    quorum_max 0
}
track_file tf {
    file /run/tf
}
vrrp_track_file tf2 {
    file "/run/tf 2"
    weight -3 reverse
    init_file 5 overwrite
}
`+instance("track_process {\n sshd\n full\n none weight 2\n}\ntrack_file {\n tf\n tf2\n}\n"))
	wantP := []*TrackProcess{
		{Name: "sshd", Process: "sshd", Quorum: 1, QuorumMax: NoQuorumMax},
		{Name: "full", Process: "/usr/sbin/sshd", Params: []string{"-D"}, ParamMatch: MatchPartial, Weight: 10, Reverse: true,
			Quorum: 2, QuorumMax: 3, ForkDelay: 250 * time.Millisecond, TerminateDelay: 500 * time.Millisecond, FullCommand: true},
		{Name: "none", Process: "haproxy", QuorumMax: 0, Quorum: 0},
	}
	for i, p := range cfg.Processes {
		if !p.Equal(wantP[i]) {
			t.Errorf("process %d: %+v\nwant %+v", i, p, wantP[i])
		}
	}
	wantF := []*TrackFile{
		{Name: "tf", Path: "/run/tf", Weight: 1},
		{Name: "tf2", Path: "/run/tf 2", Weight: -3, Reverse: true, Init: true, InitValue: 5, InitOverwrite: true},
	}
	for i, f := range cfg.Files {
		if !f.Equal(wantF[i]) {
			t.Errorf("file %d: %+v\nwant %+v", i, f, wantF[i])
		}
	}
	in := cfg.Instances[0]
	if w := []Track{{"sshd", 0, false}, {"full", 10, true}, {"none", 2, false}}; !reflect.DeepEqual(in.TrackProcesses, w) {
		t.Errorf("process tracks %+v", in.TrackProcesses)
	}
	if w := []Track{{"tf", 1, false}, {"tf2", -3, true}}; !reflect.DeepEqual(in.TrackFiles, w) {
		t.Errorf("file tracks %+v", in.TrackFiles)
	}
	if got := warnings(cfg); !reflect.DeepEqual(got, []string{"k.conf:20: vrrp_track_file: deprecated: use track_file"}) {
		t.Errorf("warnings %q", got)
	}
}

// keepalived 2.2.7 -d for sync group members without
// sync_group_tracking_weight: "ignoring peer0 tracked interface weight due
// to SYNC group", "ignoring tracked script chkw with weights due to SYNC
// group", "ignoring weight from tracked file tfd due to SYNC group. specify
// weight 0", "ignoring tracked file tfo with weight -4 due to SYNC group";
// track_process keeps its weight.
func TestSyncGroupTrackingWeights(t *testing.T) {
	defs := `vrrp_script chkw {
    script /bin/true
    weight 20
}
vrrp_script chk0 {
    script /bin/true
}
track_file tfd {
    file /run/tfd
}
track_file tfo {
    file /run/tfo
    weight -4
}
vrrp_track_process tp {
    process sshd
    weight 7
}
`
	a := `vrrp_instance A {
    interface eth0
    virtual_router_id 100
    track_interface {
        eth1 weight 10
        eth2 weight -5 reverse
    }
    track_script {
        chkw
        chk0
        chk0b weight 5
    }
    track_file {
        tfd
        tfo
    }
    track_process {
        tp
    }
    virtual_ipaddress {
        10.0.0.100
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 101
    virtual_ipaddress {
        10.0.0.101
    }
}
`
	src := defs + "vrrp_script chk0b {\n script /bin/true\n}\n" + a + `vrrp_sync_group G {
    group {
        A B
    }
    track_script {
        chk0 weight 3
    }
}
`
	cfg := mustParse(t, src)
	in := cfg.Instances[0]
	if in.SyncGroup != "G" || cfg.Instances[1].SyncGroup != "G" {
		t.Errorf("sync group %q %q", in.SyncGroup, cfg.Instances[1].SyncGroup)
	}
	if w := []Track{{"eth1", 0, false}, {"eth2", 0, true}}; !reflect.DeepEqual(in.TrackInterfaces, w) {
		t.Errorf("interfaces %+v", in.TrackInterfaces)
	}
	if w := []Track{{"chk0", 0, false}}; !reflect.DeepEqual(in.TrackScripts, w) {
		t.Errorf("scripts %+v", in.TrackScripts)
	}
	if w := []Track{{"tfd", 0, false}}; !reflect.DeepEqual(in.TrackFiles, w) {
		t.Errorf("files %+v", in.TrackFiles)
	}
	if w := []Track{{"tp", 7, false}}; !reflect.DeepEqual(in.TrackProcesses, w) {
		t.Errorf("processes %+v", in.TrackProcesses)
	}
	if g := cfg.SyncGroups[0]; !reflect.DeepEqual(g.Members, []string{"A", "B"}) || !reflect.DeepEqual(g.TrackScripts, []Track{{"chk0", 3, false}}) {
		t.Errorf("group %+v", g)
	}
	wantWarn := []string{
		"k.conf:26: track_interface: eth1: weight 10 is ignored in vrrp_sync_group G without sync_group_tracking_weight, as keepalived does",
		"k.conf:27: track_interface: eth2: weight -5 is ignored in vrrp_sync_group G without sync_group_tracking_weight, as keepalived does",
		"k.conf:30: track_script: chkw with weight 20 is ignored in vrrp_sync_group G without sync_group_tracking_weight, as keepalived does",
		"k.conf:32: track_script: chk0b with weight 5 is ignored in vrrp_sync_group G without sync_group_tracking_weight, as keepalived does",
		"k.conf:35: track_file: tfd: its default weight 1 is ignored in vrrp_sync_group G without sync_group_tracking_weight, as keepalived does: write weight 0",
		"k.conf:36: track_file: tfo with weight -4 is ignored in vrrp_sync_group G without sync_group_tracking_weight, as keepalived does",
		"k.conf:1: vrrp_script: chkw is not tracked by any instance or sync group",
		"k.conf:19: vrrp_script: chk0b is not tracked by any instance or sync group",
	}
	if got := warnings(cfg); !reflect.DeepEqual(got, wantWarn) {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}

	// With sync_group_tracking_weight the weights stay.
	cfg = mustParse(t, defs+"vrrp_script chk0b {\n script /bin/true\n}\n"+a+"vrrp_sync_group G {\n group {\n  A\n  B\n }\n sync_group_tracking_weight\n}\n")
	in = cfg.Instances[0]
	if len(in.TrackScripts) != 3 || in.TrackInterfaces[0].Weight != 10 || len(in.TrackFiles) != 2 {
		t.Errorf("tracking weight: %+v %+v %+v", in.TrackScripts, in.TrackInterfaces, in.TrackFiles)
	}
}

// keepalived 2.2.7 -d for an address owner: "ignoring peer0 tracked
// interface due to address owner", "ignoring tracked script chkw with
// weights due to address_owner", ... and "duplicate track_script chk0 -
// ignoring".
func TestAddressOwnerTrackingWeights(t *testing.T) {
	cfg := mustParse(t, `vrrp_script chkw {
    script /bin/true
    weight 20
}
vrrp_script chk0 {
    script /bin/true
}
track_file tfd {
    file /run/tfd
}
vrrp_track_process tp {
    process sshd
    weight 7
}
vrrp_instance A {
    state MASTER
    interface eth0
    virtual_router_id 100
    track_interface {
        eth1 weight 5
        eth2
        eth0
    }
    track_script {
        chkw
        chk0 weight 5
        chk0
    }
    track_file {
        tfd
    }
    track_process {
        tp
    }
    virtual_ipaddress {
        10.0.0.100
    }
}
`)
	in := cfg.Instances[0]
	if in.Priority != 255 {
		t.Fatalf("priority %d", in.Priority)
	}
	if !reflect.DeepEqual(in.TrackInterfaces, []Track{{"eth2", 0, false}}) || in.TrackScripts != nil ||
		!reflect.DeepEqual(in.TrackFiles, []Track{{"tfd", 0, false}}) || !reflect.DeepEqual(in.TrackProcesses, []Track{{"tp", 7, false}}) {
		t.Errorf("tracks %+v %+v %+v %+v", in.TrackInterfaces, in.TrackScripts, in.TrackFiles, in.TrackProcesses)
	}
	wantWarn := []string{
		"k.conf:27: track_script: chk0 is already tracked at line 26: ignored, as keepalived does",
		"k.conf:22: track_interface: eth0 is A's own interface: ignored, as keepalived does",
		"k.conf:20: track_interface: eth1 with weight 5 is ignored for the address owner (priority 255), as keepalived does",
		"k.conf:25: track_script: chkw with weight 20 is ignored for the address owner (priority 255), as keepalived does",
		"k.conf:26: track_script: chk0 with weight 5 is ignored for the address owner (priority 255), as keepalived does",
		"k.conf:30: track_file: tfd: its default weight 1 is ignored for the address owner (priority 255), as keepalived does: write weight 0",
		// keepalived: "Warning - script chkw is not used", likewise chk0.
		"k.conf:1: vrrp_script: chkw is not tracked by any instance or sync group",
		"k.conf:5: vrrp_script: chk0 is not tracked by any instance or sync group",
	}
	if got := warnings(cfg); !reflect.DeepEqual(got, wantWarn) {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}
}

// keepalived skips an unknown keyword's line; for an unknown block it
// reads the block's contents as if they were in the enclosing block (and
// closes that one early). Here the whole block is skipped.
func TestUnknownBlocksAreSkippedWhole(t *testing.T) {
	cfg := mustParse(t, `unknown_block {
    vrrp_instance BAD {
        interface eth0
    }
}
vrrp_instance VI_1 {
    unknown_sub {
        priority 7
    }
    use_ipvlan
    track_bfd {
        bfd1
    }
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        10.0.0.1 track_group G1
    }
}
`)
	if len(cfg.Instances) != 1 || cfg.Instances[0].Priority != 100 || cfg.Instances[0].VRID != 1 {
		t.Errorf("instances %+v", cfg.Instances)
	}
	want := []string{
		"k.conf:1: unknown_block: unknown keyword, ignored with its block",
		"k.conf:7: unknown_sub: unknown keyword, ignored with its block",
		"k.conf:10: use_ipvlan: not supported by vrrpd, ignored",
		"k.conf:11: track_bfd: not supported by vrrpd, ignored with its block",
		"k.conf:17: virtual_ipaddress: 10.0.0.1 track_group: not supported by vrrpd, ignored (a static address that cannot be put back does not put instances in FAULT)",
	}
	if got := warnings(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}
}

func TestDuplicateVRIDAllowedForDistinctUnicastPeers(t *testing.T) {
	src := `vrrp_instance A {
    interface eth0
    virtual_router_id 1
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress {
        10.0.0.100
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 1
    unicast_peer {
        10.0.0.3
    }
    virtual_ipaddress {
        10.0.0.101
    }
}
vrrp_instance C {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        fd00::1
    }
}
vrrp_instance D {
    interface eth1
    virtual_router_id 1
    virtual_ipaddress {
        10.0.0.102
    }
}
`
	if cfg := mustParse(t, src); len(cfg.Instances) != 4 {
		t.Errorf("instances %d", len(cfg.Instances))
	}
}

func TestConfigID(t *testing.T) {
	src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n @node1 priority 150\n @node2 priority 100\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
	for id, want := range map[string]uint8{"node1": 150, "node2": 100, "other": 100} {
		cfg, err := Parse("k.conf", []byte(src), &Options{ConfigID: id, FS: fstest.MapFS{}})
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Instances[0].Priority; got != want {
			t.Errorf("config id %s: priority %d, want %d", id, got, want)
		}
	}
}
