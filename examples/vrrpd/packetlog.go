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
	return &packetLogTransport{Transport: tr, log: n.log, ep: ep}, nil
}

// packetLogTransport logs each packet. It wraps the whole Transport (the
// node sends and reads it in batches and watches its link through it),
// adding a log line for each packet SendBatch sends or ReceiveBatch
// returns.
type packetLogTransport struct {
	vrrp.Transport
	log *zap.Logger
	ep  vrrp.Endpoint
}

func (t *packetLogTransport) SendBatch(ps []advert.Packet) (int, error) {
	n, err := t.Transport.SendBatch(ps)
	for i := range n {
		p := &ps[i]
		src := p.Src
		if !src.IsValid() {
			src = t.LocalAddr()
		}
		t.log.Debug("(" + t.ep.Interface + ") sent " + describe(src, p, p.Sealer != nil))
	}
	if err != nil {
		t.log.Debug("("+t.ep.Interface+") send failed", zap.Error(err))
	}
	return n, err
}

func (t *packetLogTransport) ReceiveBatch(ps []advert.Packet, bufs [][]byte) (int, error) {
	n, err := t.Transport.ReceiveBatch(ps, bufs)
	for i := range n {
		p := &ps[i]
		t.log.Debug("(" + t.ep.Interface + ") received " + describe(p.Src, p, p.AH != nil) + " ttl " + strconv.Itoa(int(p.HopLimit)))
	}
	return n, err
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
