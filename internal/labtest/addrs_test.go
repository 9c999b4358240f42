package labtest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// vipTimeout bounds how long the addresses may lag behind the protocol:
// the backend runs off the protocol loop, and every poll forks `ip`.
const vipTimeout = 10 * time.Second

// heldVIPs returns which of vips are on h's eth0, as `ip -j addr` run in
// h's namespace sees them.
func heldVIPs(h *netlab.Host, vips []netip.Prefix) ([]netip.Prefix, error) {
	out, err := h.Run("ip", "-j", "addr", "show", "dev", h.Ifname)
	if err != nil {
		return nil, err
	}
	var links []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return nil, fmt.Errorf("%s: ip -j addr: %w", h.Name, err)
	}
	var held []netip.Prefix
	for _, l := range links {
		for _, a := range l.AddrInfo {
			addr, err := netip.ParseAddr(a.Local)
			if err != nil {
				continue
			}
			p := netip.PrefixFrom(addr, a.Prefixlen)
			if slices.Contains(vips, p) {
				held = append(held, p)
			}
		}
	}
	return held, nil
}

// vipState describes which hosts hold which VIPs, e.g. "h1:[all] h2:[] h3:[]".
type vipState map[*netlab.Host][]netip.Prefix

func (s vipState) String(hosts []*netlab.Host, n int) string {
	var parts []string
	for _, h := range hosts {
		held := s[h]
		switch len(held) {
		case n:
			parts = append(parts, h.Name+":all")
		case 0:
			parts = append(parts, h.Name+":none")
		default:
			parts = append(parts, fmt.Sprintf("%s:%v", h.Name, held))
		}
	}
	return strings.Join(parts, " ")
}

// waitVIPs waits until every host in holders has all vips and every other
// host in hosts has none of them. With one holder this is "the VIPs are on
// exactly one host".
func waitVIPs(t *testing.T, hosts []*netlab.Host, vips []netip.Prefix, holders ...*netlab.Host) {
	t.Helper()
	deadline := time.Now().Add(vipTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st, ok := vipsAre(t, hosts, vips, holders)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for _, h := range holders {
				names = append(names, h.Name)
			}
			t.Fatalf("VIPs not on exactly %v among %d hosts within %v: %s", names, len(hosts), vipTimeout,
				st.String(hosts, len(vips)))
		}
		<-tick.C
	}
}

// vipsAre checks once what waitVIPs waits for.
func vipsAre(t *testing.T, hosts []*netlab.Host, vips []netip.Prefix, holders []*netlab.Host) (vipState, bool) {
	t.Helper()
	st := make(vipState)
	ok := true
	for _, h := range hosts {
		held, err := heldVIPs(h, vips)
		if err != nil {
			t.Fatal(err)
		}
		st[h] = held
		want := 0
		if slices.Contains(holders, h) {
			want = len(vips)
		}
		if len(held) != want {
			ok = false
		}
	}
	return st, ok
}
