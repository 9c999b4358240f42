package vrrp_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// TestSocketNetworkOpensInItsNamespace: a SocketNetwork made inside a host
// opens transports there even when Open is called from a goroutine in
// another namespace, and they carry adverts between hosts.
func TestSocketNetworkOpensInItsNamespace(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	nets := make([]*vrrp.SocketNetwork, 2)
	for i, h := range []*netlab.Host{h1, h2} {
		if err := h.Do(func() (err error) {
			nets[i], err = vrrp.NewSocketNetwork()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nets[i].Close() })
	}
	ctx := context.Background()
	open := func(n *vrrp.SocketNetwork) vrrp.Transport {
		tr, err := n.Open(ctx, vrrp.Endpoint{Interface: "eth0"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		return tr
	}
	t1, t2 := open(nets[0]), open(nets[1])
	if t1.LocalAddr() != h1.IPv4 || t2.LocalAddr() != h2.IPv4 {
		t.Fatalf("LocalAddr %v, %v: want %v, %v (opened in the wrong namespace?)", t1.LocalAddr(), t2.LocalAddr(), h1.IPv4, h2.IPv4)
	}
	if up, _ := t1.Link(); !up {
		t.Error("link down")
	}

	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: 1, Priority: 100, Interval: time.Second}
	msg, err := a.Append(nil, h1.IPv4, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan advert.Packet, 1)
	go func() {
		var p advert.Packet
		buf := make([]byte, 1500)
		if err := t2.(*advert.Conn).Receive(&p, buf); err == nil {
			p.Msg = bytes.Clone(p.Msg)
			got <- p
		}
	}()
	if _, err := t1.SendBatch([]advert.Packet{{Msg: msg}}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p.Src != h1.IPv4 || p.HopLimit != 255 || !bytes.Equal(p.Msg, msg) {
			t.Errorf("received %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
}
