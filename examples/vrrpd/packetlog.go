package main

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// packetLogNetwork is -D/--log-detail's per-packet detail: it wraps the
// real network and logs every advert sent and received at Debug. It is
// not installed without -D, so the hot path pays nothing for it.
type packetLogNetwork struct {
	vrrp.Network
	log *zap.Logger
}

func (n packetLogNetwork) Open(ctx context.Context, ep vrrp.Endpoint) (vrrp.Transport, error) {
	tr, err := n.Network.Open(ctx, ep)
	if err != nil {
		return nil, err
	}
	lm, _ := tr.(vrrp.LinkMonitor)
	return &packetLogTransport{Transport: tr, lm: lm, log: n.log, ep: ep}, nil
}

// packetLogTransport logs each packet. It keeps the link monitoring of the
// transport it wraps: the node faults routers on link loss through it.
type packetLogTransport struct {
	vrrp.Transport
	lm  vrrp.LinkMonitor
	log *zap.Logger
	ep  vrrp.Endpoint
}

var never = make(chan struct{})

// Link forwards to the wrapped transport's LinkMonitor, or reports the
// link up for good when it has none (what the node assumes then).
func (t *packetLogTransport) Link() (bool, <-chan struct{}) {
	if t.lm == nil {
		return true, never
	}
	return t.lm.Link()
}

func (t *packetLogTransport) Send(p *advert.Packet) error {
	err := t.Transport.Send(p)
	if err != nil {
		t.log.Debug("("+t.ep.Interface+") send failed", zap.Error(err))
		return err
	}
	src := p.Src
	if !src.IsValid() {
		src = t.LocalAddr()
	}
	t.log.Debug("(" + t.ep.Interface + ") sent " + describe(src, p, p.Sealer != nil))
	return nil
}

func (t *packetLogTransport) Receive(p *advert.Packet, buf []byte) error {
	err := t.Transport.Receive(p, buf)
	if err == nil {
		// Receive is called from the transport's one reader goroutine.
		t.log.Debug("(" + t.ep.Interface + ") received " + describe(p.Src, p, p.AH != nil) + " ttl " + strconv.Itoa(int(p.HopLimit)))
	}
	return err
}

// describe summarises a packet the way tcpdump -v does for VRRP.
func describe(src netip.Addr, p *advert.Packet, ah bool) string {
	var a advert.Advert
	var b strings.Builder
	b.WriteString("from " + src.String() + " to " + p.Dst.String() + ": ")
	if ah {
		b.WriteString("IPsec AH, ")
	}
	if _, err := a.Decode(p.Msg, src, p.Dst, advert.ChecksumEither); err != nil {
		b.WriteString("undecodable VRRP message (" + err.Error() + ")")
		return b.String()
	}
	b.WriteString(a.String())
	return b.String()
}
