package kaconf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// vi is a valid instance VI_1 with extra lines before its closing brace;
// its body starts at line 2.
func vi(extra string) string {
	return "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n" + extra + "}\n"
}

// brokenConfigs cannot run as written; want is exactly what Parse says.
// The comment on each says what keepalived 2.2.7 does instead.
var brokenConfigs = []struct {
	name, src, want string
}{
	{"no VRID", "vrrp_instance VI_1 {\n    interface eth0\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
		// "(VI_1) the virtual router id must be set"
		"k.conf:1: vrrp_instance: VI_1 has no virtual_router_id"},
	{"no interface", "vrrp_instance VI_1 {\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
		"k.conf:1: vrrp_instance: VI_1 has no interface"},
	{"VRID twice", vi("") + strings.Replace(vi(""), "VI_1", "VI_2", 1),
		// "VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0"
		"k.conf:8: virtual_router_id: VI_1 and VI_2 (k.conf:1) both use VRID 51 with IPv4 on eth0"},
	{"VRID 0", vi("    virtual_router_id 0\n"),
		// "VRID '0' not valid - must be between 1 & 255", and then "the virtual router id must be set"
		"k.conf:7: virtual_router_id: 0 is out of range 1..255"},
	{"VRID 256", vi("    virtual_router_id 256\n"), "k.conf:7: virtual_router_id: 256 is out of range 1..255"},
	{"VRID not a number", vi("    virtual_router_id 1x\n"), `k.conf:7: virtual_router_id: "1x" is not a whole number`},
	{"priority 0", vi("    priority 0\n"),
		// "Priority not valid! must be between 1 & 255. Using default 100"
		"k.conf:7: priority: 0 is out of range 1..255"},
	{"priority 256", vi("    priority 256\n"), "k.conf:7: priority: 256 is out of range 1..255"},
	{"bad VIP", vi("    virtual_ipaddress {\n        10.0.0.300/24\n    }\n"),
		// "VRRP parsed invalid IP 10.0.0.300/24. skipping IP..."
		`k.conf:8: virtual_ipaddress: "10.0.0.300/24" is not an IP address or prefix`},
	{"VIP prefix too long", vi("    virtual_ipaddress {\n        10.0.0.5/33\n    }\n"),
		// "Invalid address prefix len 33 for address 10.0.0.5/33 - using 32"
		`k.conf:8: virtual_ipaddress: "10.0.0.5/33" is not an IP address or prefix`},
	{"VIP multicast", vi("    virtual_ipaddress_excluded {\n        224.0.0.5\n    }\n"),
		"k.conf:8: virtual_ipaddress_excluded: 224.0.0.5 is not a unicast address"},
	{"VIP of the other family", vi("    virtual_ipaddress {\n        fd00::5\n    }\n"),
		// "(VI_1): address family must match VRRP instance [fd00::5] - ignoring"
		"k.conf:8: virtual_ipaddress: fd00::5 is IPv6 but the instance is IPv4 since line 5 (all its addresses but virtual_ipaddress_excluded must be of one family)"},
	{"peer of the other family", vi("    unicast_peer {\n        fd00::2\n    }\n"),
		// "VRRP instance[VI_1] and unicast peer address[fd00::2] MUST be of the same family !!! Skipping..."
		"k.conf:8: unicast_peer: fd00::2 is IPv6 but the instance is IPv4 since line 5 (all its addresses but virtual_ipaddress_excluded must be of one family)"},
	{"bad peer", vi("    unicast_peer {\n        10.0.0.999\n    }\n"),
		// "malformed unicast peer address[10.0.0.999]. Skipping..."
		`k.conf:8: unicast_peer: "10.0.0.999" is not an IP address`},
	{"bad peer option", vi("    unicast_peer {\n        10.0.0.2 ttl 5\n    }\n"),
		`k.conf:8: unicast_peer: 10.0.0.2: unknown option "ttl"`},
	{"bad source", vi("    unicast_src_ip 10.0.0.1/24\n"), `k.conf:7: unicast_src_ip: "10.0.0.1/24" is not an IP address`},
	{"state", vi("    state FOO\n"),
		// "(VI_1) unknown state 'FOO', defaulting to BACKUP"
		`k.conf:7: state: "FOO" is not MASTER or BACKUP`},
	{"nopreempt with MASTER", vi("    state MASTER\n    priority 150\n    nopreempt\n"),
		// "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"
		"k.conf:9: nopreempt: needs state BACKUP: with state MASTER keepalived ignores it"},
	{"nopreempt with owner", vi("    priority 255\n    nopreempt\n"),
		// "(VI_1) nopreempt is incompatible with priority 255. resetting nopreempt"
		"k.conf:8: nopreempt: cannot work with priority 255, the address owner: keepalived ignores it"},
	{"preempt_delay with MASTER", vi("    state MASTER\n    preempt_delay 10\n"),
		// "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing"
		"k.conf:8: preempt_delay: needs state BACKUP: with state MASTER keepalived ignores it"},
	{"auth type", vi("    authentication {\n        auth_type MD5\n        auth_pass x\n    }\n"),
		// "(VI_1) unknown authentication type 'MD5'"
		"k.conf:8: auth_type: \"MD5\" is not PASS or AH\nk.conf:7: authentication: auth_pass without auth_type: keepalived would not authenticate"},
	{"auth without password", vi("    authentication {\n        auth_type PASS\n    }\n"),
		// "(VI_1) Authentication specified but no password given. Ignoring"
		"k.conf:7: authentication: auth_type without auth_pass: keepalived would not authenticate"},
	{"VRRPv2 over IPv6", "vrrp_instance V6 {\n    interface eth0\n    virtual_router_id 1\n    version 2\n    virtual_ipaddress {\n        fd00::1/64\n    }\n}\n",
		// keepalived 2.2.7 runs VRRPv2 over IPv6 (RFC 3768 does not define it)
		"k.conf:4: version: VRRPv2 (RFC 3768) is IPv4 only and V6 is IPv6"},
	{"VRRPv3 without address", "vrrp_instance V3 {\n    interface eth0\n    virtual_router_id 1\n    version 3\n}\n",
		// "(V3) No VIP specified; at least one is required"
		"k.conf:1: vrrp_instance: V3 has no virtual_ipaddress; keepalived requires one for VRRPv3 unless no_virtual_ipaddress says so"},
	{"VRRPv3 interval too long", vi("    version 3\n    advert_int 41\n"),
		// "VRRPv3 advertisement interval 41.00s is out of range. Must be less than 40.96s. Setting to 40.95s"
		"k.conf:8: advert_int: 41 s is above VRRPv3's maximum of 40.95 s (RFC 5798 §5.2.7; keepalived would use 40.95 s)"},
	{"interval too short", vi("    advert_int 0.004\n"),
		// "number '0.004' outside range [0.010000, 255.000000]"
		"k.conf:7: advert_int: 0.004 is out of range 0.01..255 s"},
	{"interval not a number", vi("    advert_int 1e0\n"), `k.conf:7: advert_int: "1e0" is not a number of seconds (at most 6 decimals)`},
	{"missing value", vi("    priority\n"),
		// "Configuration line starting `priority` is missing a parameter after keyword `priority` at word position 2", and exits
		"k.conf:7: priority: missing value"},
	{"missing closing brace", "vrrp_instance VI_1 {\n    interface eth0\n",
		// "There are 1 missing '}'s or extra '{'s"
		"k.conf:1: vrrp_instance: block is never closed: missing '}'\nk.conf:1: vrrp_instance: VI_1 has no virtual_router_id"},
	{"extra closing brace", vi("") + "}\n",
		// "Extra '}' found"
		"k.conf:8: '}' without a matching '{'"},
	{"brace without keyword", "{\n    priority 1\n}\n" + vi(""),
		// "Unexpected '{' - ignoring"
		"k.conf:1: '{' without a keyword before it"},
	{"block keyword without block", vi("    virtual_ipaddress 10.0.0.5\n"),
		// "'{' missing from beginning of block virtual_ipaddress"
		"k.conf:7: virtual_ipaddress: needs a { } block"},
	{"value keyword with block", vi("    priority {\n        100\n    }\n"), "k.conf:7: priority: takes no { } block"},
	{"unterminated quote", vi("    notify \"/bin/x.sh\n"),
		// "Unterminated quote '...'"
		"k.conf:7: notify: unterminated quote"},
	{"script arguments not quoted", "vrrp_script chk {\n    script /usr/bin/killall -0 haproxy\n}\n" + vi("    track_script {\n        chk\n    }\n"),
		// runs /usr/bin/killall without arguments
		`k.conf:2: script: keepalived would run only "/usr/bin/killall" and ignore "-0 haproxy": quote the whole command line`},
	{"undefined track_script", vi("    track_script {\n        chk_haproxy\n    }\n"),
		// "(VI_1) track script chk_haproxy not found, ignoring..."
		"k.conf:8: track_script: vrrp_script chk_haproxy is not defined"},
	{"undefined track_process", vi("    track_process {\n        sshd\n    }\n"), "k.conf:8: track_process: vrrp_track_process sshd is not defined"},
	{"undefined track_file", vi("    track_file {\n        maint\n    }\n"), "k.conf:8: track_file: track_file maint is not defined"},
	{"track weight out of range", vi("    track_interface {\n        eth1 weight 254\n    }\n"),
		// "(VI_1) weight for eth1 cannot be +/-254. Setting to +/-253"
		"k.conf:8: track_interface: eth1: weight 254 is not a whole number in -253..253"},
	{"track option misspelt", "vrrp_script chk {\n    script /bin/true\n}\n" + vi("    track_script {\n        chk weigth 5\n    }\n"),
		`k.conf:11: track_script: chk: expected "weight N [reverse]" after the name, not "weigth 5"`},
	{"script weight", "vrrp_script chk {\n    script /bin/true\n    weight 254\n}\n",
		// "vrrp_script chk weight 254 must be in [-253, 253]" (and keepalived keeps 254)
		"k.conf:3: weight: 254 is out of range -253..253"},
	{"quorum above quorum_max", "vrrp_track_process p {\n    process x\n    quorum_max 2\n    quorum 3\n}\n",
		// "Quorum is greater than quorum_max - ignoring"
		"k.conf:4: quorum: 3 is above quorum_max 2"},
	{"instance defined twice", vi("") + strings.Replace(vi(""), "51", "52", 1),
		// "vrrp instance VI_1 already defined", the second block is skipped
		"k.conf:8: vrrp_instance: instance VI_1 is already defined at k.conf:1"},
	{"instance without name", "vrrp_instance {\n}\n",
		// "vrrp_instance must have a name"
		"k.conf:1: vrrp_instance: needs exactly one name, has 0"},
	{"sync group member undefined", vi("") + "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n",
		// "Virtual router VI_2 specified in sync group G doesn't exist - ignoring"
		"k.conf:9: group: vrrp_sync_group G: vrrp_instance VI_2 is not defined"},
	{"instance in two sync groups", vi("") + strings.Replace(vi(""), "VI_1 {\n    interface eth0\n    virtual_router_id 51", "VI_2 {\n    interface eth0\n    virtual_router_id 52", 1) +
		"vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\nvrrp_sync_group H {\n    group {\n        VI_1\n    }\n}\n",
		"k.conf:22: group: vrrp_instance VI_1 is already in vrrp_sync_group G"},
	{"notify twice", vi("    notify_master /bin/a.sh\n    notify_master /bin/b.sh\n"),
		// "(VI_1) notify_master script already specified - ignoring /bin/b.sh"
		"k.conf:8: notify_master: set twice (keepalived would ignore this one)"},
	{"notify quoting", vi("    notify \"/bin/a.sh 'x\"\n"), `k.conf:7: notify: missing terminating ' in "/bin/a.sh 'x"`},
	{"multicast group", "global_defs {\n    vrrp_mcast_group4 10.0.0.1\n}\n" + vi(""),
		`k.conf:2: vrrp_mcast_group4: "10.0.0.1" is not an IPv4 multicast address`},
	{"vrrp_version", "global_defs {\n    vrrp_version 4\n}\n" + vi(""), "k.conf:2: vrrp_version: 4 is out of range 2..3"},
	{"NUL byte", vi("\x00"), "k.conf:7: NUL byte in configuration file"},
}

func TestBrokenConfigs(t *testing.T) {
	for _, tc := range brokenConfigs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("k.conf", []byte(tc.src), testOpts)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.conf", nil)
	if err == nil || err.Error() != "testdata/does-not-exist.conf: no such file or directory" {
		t.Errorf("err = %v", err)
	}
}

func TestLoadThroughFS(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/keepalived/keepalived.conf": {Data: []byte("global_defs {\n    router_id r1\n}\ninclude conf.d/*.conf\n")},
		"etc/keepalived/conf.d/vi1.conf": {Data: []byte(vi("    no_such_option 1\n"))},
		"etc/keepalived/bad.conf":        {Data: []byte("vrrp_instance X {\n}\n"), Mode: 0o755},
	}
	cfg, err := Load("/etc/keepalived/keepalived.conf", &Options{FS: fsys, ConfigID: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Instances) != 1 || cfg.Global.RouterID != "r1" {
		t.Errorf("config %+v", cfg)
	}
	want := []string{"/etc/keepalived/conf.d/vi1.conf:7: no_such_option: unknown keyword, ignored"}
	if got := warnings(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	_, err = Load("/etc/keepalived/bad.conf", &Options{FS: fsys})
	if err == nil || err.Error() != "/etc/keepalived/bad.conf: not a regular non-executable file (keepalived refuses it)" {
		t.Errorf("executable file: %v", err)
	}
}
