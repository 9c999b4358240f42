package kaconf_test

import (
	"fmt"
	"testing/fstest"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

func Example() {
	conf := `
vrrp_script chk_haproxy {
    script "/usr/bin/pgrep -x haproxy"
    weight -20
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret-password
    }
    virtual_ipaddress {
        10.0.0.100/24 dev eth0 label eth0:vip
    }
    track_script {
        chk_haproxy
    }
    notify "/etc/keepalived/notify.sh 'two words'"
}
`
	cfg, err := kaconf.Parse("keepalived.conf", []byte(conf), &kaconf.Options{FS: fstest.MapFS{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range cfg.Warnings {
		fmt.Println("warning:", w)
	}
	in := cfg.Instance("VI_1")
	fmt.Printf("%s: VRID %d, VRRPv%d, priority %d, every %v, %s %q\n",
		in.Name, in.VRID, in.Version, in.Priority, in.AdvertInterval, in.Auth.Type, in.Auth.Password.Reveal())
	fmt.Println("VIP:", in.VIPs[0].Prefix, "label", in.VIPs[0].Label)
	fmt.Println("tracks:", in.TrackScripts)
	fmt.Printf("notify runs: %q\n", in.Notify.Any.NotifyArgs("INSTANCE", in.Name, "MASTER", int(in.Priority)))
	// Output:
	// warning: keepalived.conf:14: auth_pass: redacted (15 bytes): cut to its first 8 bytes, as keepalived does ("Truncating auth_pass to 8 characters")
	// VI_1: VRID 51, VRRPv2, priority 150, every 1s, PASS "secret-p"
	// VIP: 10.0.0.100/24 label eth0:vip
	// tracks: [{chk_haproxy -20 false}]
	// notify runs: ["/etc/keepalived/notify.sh" "two words" "INSTANCE" "VI_1" "MASTER" "150"]
}

// A reload keeps the instances whose configuration did not change.
func ExampleConfig_Diff() {
	old, _ := kaconf.Parse("keepalived.conf", []byte(`
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        10.0.0.1
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    virtual_ipaddress {
        10.0.0.2
    }
}
`), &kaconf.Options{FS: fstest.MapFS{}})
	next, _ := kaconf.Parse("keepalived.conf", []byte(`
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        10.0.0.1
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    priority 150
    virtual_ipaddress {
        10.0.0.2
    }
}
vrrp_instance C {
    interface eth0
    virtual_router_id 3
    virtual_ipaddress {
        10.0.0.3
    }
}
`), &kaconf.Options{FS: fstest.MapFS{}})
	d := old.Diff(next)
	fmt.Println("unchanged:", d.Unchanged, "changed:", d.Changed, "added:", d.Added, "removed:", d.Removed)
	// Output:
	// unchanged: [A] changed: [B] added: [C] removed: []
}
