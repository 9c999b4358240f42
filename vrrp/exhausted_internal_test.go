package vrrp

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// A master that cannot sign its adverts (AH sequence numbers exhausted)
// does not stay master: it goes to Fault and releases its addresses, so
// that the backups' takeover leaves one master, not two.
func TestMasterThatCannotSignGoesToFault(t *testing.T) {
	n, clock, tr := newBenchNode(t, NodeConfig{})
	r, err := n.Add(Config{Name: "VI_1", VRID: 1, Interface: "eth0", Version: 2, Priority: 200,
		AuthType: advert.AuthAH, AuthPass: auth.MustPassword("key12345"), VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := auth.NewPassword("key12345")
	r.core.ah = auth.NewAH(key, false, math.MaxUint32-2)
	n.step()
	clock.now = clock.now.Add(4 * time.Second) // Master_Down_Interval: master
	n.fire()
	if r.State() != Master {
		t.Fatalf("state %v, want Master", r.State())
	}
	for range 3 {
		clock.now = clock.now.Add(time.Second)
		n.fire()
	}
	if r.State() != Fault {
		t.Fatalf("state %v with AH sequence numbers exhausted, want Fault", r.State())
	}
	if sent := tr.sent; sent != 2 {
		t.Errorf("%d adverts sent, want the 2 numbers left", sent)
	}
}
