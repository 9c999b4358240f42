package advert

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestSendBatch: 70 adverts in one SendBatch (three sendmmsg calls' worth)
// with an empty one at index 40: the first 40 go out, the call says
// which one failed and why, the rest go out with the next call; the
// receiver gets the 69 in order, AH-sealed ones with an ICV that
// verifies, and Stats counts them.
func TestSendBatch(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	for _, cfg := range []Config{{}, {AH: true}, {IPv6: true}} {
		t.Run(familyName(cfg.IPv6)+map[bool]string{true: "+AH"}[cfg.AH], func(t *testing.T) {
			c1 := listenOn(t, h1, cfg)
			c2 := listenOn(t, h2, cfg)
			src, vip := c1.LocalAddr(), netip.MustParseAddr("10.0.0.100")
			if cfg.IPv6 {
				vip = netip.MustParseAddr("fd00::100")
			}
			sealer := newKeepalivedAH("key12345")
			const total, bad = 70, 40
			ps := make([]Packet, total)
			for i := range ps {
				if i != bad {
					ps[i].Msg = encode(t, testAdvert(3, uint8(i+1), 100, vip), src, c1.group)
				}
				if cfg.AH {
					ps[i].Sealer, ps[i].Seq = sealer, uint32(i+1)
				}
			}
			n, err := c1.SendBatch(ps)
			if n != bad || err == nil || !strings.Contains(err.Error(), "empty message") {
				t.Fatalf("SendBatch = %d, %v; want %d and the empty message's error", n, err, bad)
			}
			if n, err := c1.SendBatch(ps[bad+1:]); n != total-bad-1 || err != nil {
				t.Fatalf("SendBatch of the rest = %d, %v; want %d, nil", n, err, total-bad-1)
			}
			if got := c1.Stats().Sent; got != total-1 {
				t.Errorf("Stats().Sent = %d, want %d", got, total-1)
			}

			rps := make([]Packet, 32)
			bufs := make([][]byte, 32)
			for i := range bufs {
				bufs[i] = make([]byte, 2048)
			}
			want := 1
			for deadline := time.Now().Add(waitTimeout); want <= total && time.Now().Before(deadline); {
				if want == bad+1 {
					want++
				}
				n, err := c2.ReceiveBatch(rps, bufs)
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					p := &rps[i]
					if p.Src != src || int(p.Msg[1]) != want {
						t.Fatalf("received VRID %d from %v, want VRID %d from %v", p.Msg[1], p.Src, want, src)
					}
					if cfg.AH && !sealer.verify(p.IPHeader, p.AH, p.Msg) {
						t.Errorf("VRID %d: AH ICV does not verify", want)
					}
					if want++; want == bad+1 {
						want++
					}
				}
				if n == 0 {
					if err := c2.WaitReceive(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if want <= total {
				t.Fatalf("received up to VRID %d of %d", want-1, total)
			}
		})
	}
}

// The sockets hold a whole burst of adverts: their receive buffer is
// receiveBuffer (the kernel reports twice what was set, its bookkeeping
// included), past the system default of about 200 packets.
func TestConnReceiveBufferHoldsABurst(t *testing.T) {
	lab := netlab.New(t, 1)
	c := listenOn(t, lab.Host(1), Config{AH: true})
	for _, fd := range []int{c.s.vrrpFD, c.s.ahFD} {
		got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
		if err != nil {
			t.Fatal(err)
		}
		if got < receiveBuffer {
			t.Errorf("socket %d: SO_RCVBUF %d, want at least %d", fd, got, receiveBuffer)
		}
	}
}
