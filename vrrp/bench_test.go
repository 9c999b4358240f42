package vrrp_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// BenchmarkSimulated255Routers runs two hosts with 255 virtual routers
// each (VRIDs 1..255 on one interface, one shared transport per host), one
// host master of all of them, for 10 simulated minutes at 1 s adverts:
// 153,000 adverts encoded, sent through the in-memory LAN, received,
// decoded, checked and handled. One op is the whole 10 minutes.
func BenchmarkSimulated255Routers(b *testing.B) {
	b.ReportAllocs()
	var adverts uint64
	for b.Loop() {
		w := newWorld(b, 1, zapcore.FatalLevel+1)
		for i, prio := range []int{200, 100} {
			spec := nodeSpec{name: fmt.Sprintf("h%d", i+1), addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})}
			for vrid := 1; vrid <= 255; vrid++ {
				rs := defaultRouter(vrid)
				rs.Priority = prio
				spec.routers = append(spec.routers, rs)
			}
			w.addNode(spec).start()
		}
		w.advance(10 * time.Minute)
		master, backup := w.nodes[0], w.nodes[1]
		adverts = 0
		for i, r := range master.routers {
			if r.State() != vrrp.Master || backup.routers[i].State() != vrrp.Backup {
				b.Fatalf("VRID %d: %v / %v", i+1, r.State(), backup.routers[i].State())
			}
			adverts += r.Stats().AdvertsSent
		}
		if got := backup.routers[254].Stats().AdvertsReceived; got < 590 {
			b.Fatalf("backup received %d adverts for VRID 255 in 10 minutes", got)
		}
	}
	b.ReportMetric(float64(adverts), "adverts/op")
}
