package promtext

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

func nodeWith(t testing.TB, n int) (*vrrp.Node, []*vrrp.Router) {
	t.Helper()
	lan := vrrptest.NewLAN(vrrptest.LANConfig{})
	h := lan.AddHost(vrrptest.HostConfig{Name: "h1", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	node, err := vrrp.NewNode(vrrp.NodeConfig{Network: h})
	if err != nil {
		t.Fatal(err)
	}
	var rs []*vrrp.Router
	for i := 1; i <= n; i++ {
		r, err := node.Add(vrrp.Config{Name: fmt.Sprintf("VI_%d", i), VRID: i%255 + 1, Interface: fmt.Sprintf("eth%d", i/256),
			VIPs: []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i / 256), byte(i)}), 24)}}})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return node, rs
}

// TestWriteTextFormat: the exposition format, byte for byte, for a
// counter and a histogram.
func TestWriteTextFormat(t *testing.T) {
	fams := []Family{
		{Def: &Def{Name: "a_total", Help: "A \\ help\nline.", Type: Counter, Labels: []string{"x"}},
			Samples: []Sample{{Labels: []string{`q"\` + "\n"}, Value: 3}}},
		{Def: &Def{Name: "h_seconds", Help: "H.", Type: Histogram},
			Samples: []Sample{{Hist: &Hist{Count: 3, Sum: 0.5, Bounds: []float64{0.1, 1}, Cumulative: []uint64{1, 2}}}}},
	}
	var b bytes.Buffer
	if err := WriteText(&b, fams); err != nil {
		t.Fatal(err)
	}
	want := `# HELP a_total A \\ help\nline.
# TYPE a_total counter
a_total{x="q\"\\\n"} 3
# HELP h_seconds H.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1"} 1
h_seconds_bucket{le="1"} 2
h_seconds_bucket{le="+Inf"} 3
h_seconds_sum 0.5
h_seconds_count 3
`
	if b.String() != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestGatherForgetsRoutersThatLeft: a removed router's observations go.
func TestGatherForgetsRoutersThatLeft(t *testing.T) {
	node, rs := nodeWith(t, 2)
	obs := NewObserver()
	obs.Takeover(rs[0], time.Second)
	obs.Takeover(rs[1], time.Second)
	if err := node.Remove(context.Background(), rs[0]); err != nil {
		t.Fatal(err)
	}
	fams := Gather(NodeOf(node), &Options{Observer: obs})
	if obs.lookup(rs[0]) != nil || obs.lookup(rs[1]) == nil {
		t.Errorf("observations kept: removed %v, present %v; want only the present router's", obs.lookup(rs[0]) != nil, obs.lookup(rs[1]) != nil)
	}
	for _, f := range fams {
		for _, s := range f.Samples {
			if len(s.Labels) > 0 && s.Labels[0] == "VI_1" && f.Def.Labels[0] == "iname" {
				t.Errorf("%s still has the removed router", f.Name)
			}
		}
	}
}

// BenchmarkText200Routers: what vrrpd's /metrics costs for 200 routers:
// gathering and writing the text.
func BenchmarkText200Routers(b *testing.B) {
	node, rs := nodeWith(b, 200)
	obs := NewObserver()
	for _, r := range rs {
		obs.Takeover(r, 300*time.Millisecond)
		obs.BackendDone(r, "acquire", time.Millisecond, nil)
	}
	n := NodeOf(node)
	opts := &Options{Observer: obs}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		var w countWriter
		if err := WriteText(&w, Gather(n, opts)); err != nil {
			b.Fatal(err)
		}
		size = int(w)
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}

// BenchmarkObserve: what the Observer costs the protocol loop per backend
// operation.
func BenchmarkObserve(b *testing.B) {
	_, rs := nodeWith(b, 1)
	obs := NewObserver()
	b.ReportAllocs()
	for b.Loop() {
		obs.BackendDone(rs[0], "announce", time.Millisecond, nil)
	}
}

type countWriter int

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
