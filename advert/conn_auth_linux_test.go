package advert_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestConnAHWithAuth: package auth's AH seals on host 1 through the
// socket, and auth on host 2 verifies what the socket hands over (IPv4
// header as received, AH header, message), multicast and unicast; a
// replayed sequence number is then refused.
func TestConnAHWithAuth(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	open := func(h *netlab.Host) *advert.Conn {
		var c *advert.Conn
		if err := h.Do(func() (err error) {
			c, err = advert.Listen(context.Background(), advert.Config{Interface: "eth0", AH: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c1, c2 := open(h1), open(h2)
	key, err := auth.NewPassword("key12345")
	if err != nil {
		t.Fatal(err)
	}
	for _, unicast := range []bool{false, true} {
		dst := advert.GroupIPv4
		if unicast {
			dst = h2.IPv4
		}
		sender, receiver := auth.NewAH(key, unicast, 0), auth.NewAH(key, unicast, 0)
		a := advert.Advert{Version: 2, VRID: 51, Priority: 200, Interval: time.Second, AuthType: advert.AuthAH}
		msg, err := a.Append(nil, h1.IPv4, dst, advert.ChecksumStandard)
		if err != nil {
			t.Fatal(err)
		}
		var first advert.Packet
		buf := make([]byte, 1500)
		for i := range 2 {
			seq, err := sender.NextSeq()
			if err != nil {
				t.Fatal(err)
			}
			if err := c1.Send(&advert.Packet{Dst: dst, Msg: msg, Sealer: sender, Seq: seq}); err != nil {
				t.Fatal(err)
			}
			var p advert.Packet
			if err := c2.Receive(&p, buf); err != nil {
				t.Fatal(err)
			}
			if p.Dst != dst || !bytes.Equal(p.Msg, msg) {
				t.Fatalf("unicast %v: received %+v", unicast, p)
			}
			if err := receiver.Verify(p.IPHeader, p.AH, p.Msg); err != nil {
				t.Errorf("unicast %v, packet %d: auth rejects what the socket received: %v", unicast, i, err)
			}
			if i == 0 {
				first = advert.Packet{IPHeader: bytes.Clone(p.IPHeader), AH: bytes.Clone(p.AH), Msg: bytes.Clone(p.Msg)}
			}
		}
		if err := receiver.Verify(first.IPHeader, first.AH, first.Msg); err == nil {
			t.Errorf("unicast %v: a replayed packet verifies", unicast)
		}
	}
}
