package main

import (
	"net/netip"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// A master killed with SIGKILL leaves its VIP on the host. The next start
// removes it at once, while vrrp_startup_delay still holds the instance
// back — not when the delay is over.
func TestStaleVIPsAreRemovedAtStart(t *testing.T) {
	t.Parallel()
	lab := netlab.New(t, 1)
	h1 := lab.Host(1)
	ld := newLabDaemon(t, lab)
	dir := t.TempDir()
	vip := netip.MustParsePrefix("10.0.0.150/24")
	conf := func(head string) string {
		return "global_defs {\n  router_id h1\n" + head + "}\n" +
			"vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 91\n  version 3\n  priority 150\n" +
			"  advert_int 0.1\n  virtual_ipaddress {\n    " + vip.String() + "\n  }\n}\n"
	}
	v := ld.vrrpd(h1, dir, conf(""))
	v.awaitStatus("master", inState("VI_1", "MASTER"))
	awaitHolders(t, []netip.Prefix{vip}, []string{"h1"}, h1)
	v.kill()
	if got := holders(t, vip, h1); len(got) != 1 {
		t.Fatalf("after SIGKILL the VIP is held by %v: the test needs it left behind", got)
	}

	v = ld.vrrpd(h1, dir, conf("  vrrp_startup_delay 60\n"))
	v.await(0, `Delaying startup for 1m0s \(vrrp_startup_delay\)`)
	awaitHolders(t, []netip.Prefix{vip}, nil, h1)
	if st := v.status(); st.Started {
		t.Errorf("the instances started: the VIP went with them, not at the start")
	}
	v.terminate()
}
