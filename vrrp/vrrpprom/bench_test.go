package vrrpprom

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// BenchmarkScrape200Routers: one scrape (Collect and Gather, as the
// registry does for /metrics) of a node with 200 routers, one VIP each,
// with an Observer.
func BenchmarkScrape200Routers(b *testing.B) {
	lan := vrrptest.NewLAN(vrrptest.LANConfig{})
	h := lan.AddHost(vrrptest.HostConfig{Name: "h1", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	n, err := vrrp.NewNode(vrrp.NodeConfig{Network: h})
	if err != nil {
		b.Fatal(err)
	}
	obs := NewObserver()
	for i := 1; i <= 200; i++ {
		r, err := n.Add(vrrp.Config{Name: fmt.Sprintf("VI_%d", i), VRID: i%255 + 1, Interface: fmt.Sprintf("eth%d", i/255),
			VIPs: []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i / 256), byte(i)}), 24)}}})
		if err != nil {
			b.Fatal(err)
		}
		obs.Takeover(r, 300*time.Millisecond)
		obs.BackendDone(r, "acquire", time.Millisecond, nil)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(n, &Options{Observer: obs}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
