package advert

import (
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// BenchmarkConnRoundTrip sends an advert from one lab host and receives it
// on another (veth → bridge → veth), one at a time: the cost of Send plus
// Receive through the kernel, and what they allocate (nothing).
func BenchmarkConnRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
		ah   bool
	}{
		{"IPv4", Config{}, false},
		{"IPv4-AH", Config{AH: true}, true},
		{"IPv6", Config{IPv6: true}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lab := netlab.New(b, 2)
			c1 := listenOn(b, lab.Host(1), bc.cfg)
			c2 := listenOn(b, lab.Host(2), bc.cfg)
			var msg []byte
			switch {
			case bc.cfg.IPv6:
				msg = encode(b, testAdvert(3, 1, 100, lab.Host(1).IPv6), c1.LocalAddr(), c1.group)
			case !bc.ah:
				msg = encode(b, testAdvert(3, 1, 100, lab.Host(1).IPv4), c1.LocalAddr(), c1.group)
			default:
				msg = encode(b, &Advert{Version: 2, VRID: 1, Priority: 100, Interval: 1e9, AuthType: AuthAH}, c1.LocalAddr(), c1.group)
			}
			out := &Packet{Msg: msg}
			if bc.ah {
				out.Sealer = cheapSealer{} // the socket's cost, not HMAC-MD5's
			}
			var in Packet
			buf := make([]byte, 1500)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out.Seq = uint32(i + 1)
				if err := c1.Send(out); err != nil {
					b.Fatal(err)
				}
				if err := c2.Receive(&in, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cheapSealer fills the AH header's fixed fields and leaves the ICV zero.
type cheapSealer struct{}

func (cheapSealer) SealAH(ah, ipHeader, msg []byte, seq uint32) error {
	ah[0], ah[1] = ProtocolNumber, 4
	copy(ah[4:8], ipHeader[12:16])
	ah[8], ah[9], ah[10], ah[11] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	return nil
}

// BenchmarkConnSend is the sender's cost per advert (ns/op is per
// packet): one sendmsg(2) each, or SendBatch's sendmmsg(2) of up to 32, as
// a master of 250 routers on one interface sends them.
func BenchmarkConnSend(b *testing.B) {
	lab := netlab.New(b, 1)
	h := lab.Host(1)
	c := listenOn(b, h, Config{})
	ps := make([]Packet, 250)
	for i := range ps {
		ps[i].Msg = encode(b, testAdvert(3, uint8(i+1), 100, h.IPv4), c.LocalAddr(), c.group)
	}
	for _, bc := range []struct {
		name  string
		batch int
	}{{"one-at-a-time", 1}, {"batch-250", 250}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i += bc.batch {
				if bc.batch == 1 {
					if err := c.Send(&ps[i%len(ps)]); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if n, err := c.SendBatch(ps); err != nil {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.batch), "ns/packet")
		})
	}
}
