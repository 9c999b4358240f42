package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/vrrpkit/vrrpkit/health"
)

// askWitness checks one witness once: an ICMP echo (CAP_NET_RAW), or a
// TCP connection (health.TCP) when it has a port.
func askWitness(ctx context.Context, w witness) error {
	if w.Port != 0 {
		res := (&health.TCP{Addr: netip.AddrPortFrom(w.Addr, w.Port)}).Check(ctx)
		if !res.Up {
			return errors.New(res.Reason)
		}
		return nil
	}
	return ping(ctx, w.Addr)
}

// askWitnesses checks every witness at once, each bounded by timeout.
func askWitnesses(ctx context.Context, ws []witness, timeout time.Duration) []witnessResult {
	out := make([]witnessResult, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			out[i] = witnessResult{Witness: w, Err: askWitness(ctx, w)}
		}()
	}
	wg.Wait()
	return out
}

// ping sends one ICMP echo request to a and waits for the matching reply
// until ctx ends. Replies are matched by identifier, sequence number, a
// random payload and the source, since a raw ICMP socket sees every
// reply the host receives.
func ping(ctx context.Context, a netip.Addr) error {
	network, listen, proto := "ip4:icmp", "0.0.0.0", 1
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if a.Is6() && !a.Is4In6() {
		network, listen, proto = "ip6:ipv6-icmp", "::", 58
		reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	a = a.Unmap()
	c, err := icmp.ListenPacket(network, listen)
	if err != nil {
		return fmt.Errorf("ping %v: %w", a, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()

	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	id := os.Getpid() & 0xffff
	seq := int(binary.BigEndian.Uint16(nonce[:2]))
	msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: nonce[:]}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	dst := &net.IPAddr{IP: a.AsSlice()}
	if _, err := c.WriteTo(b, dst); err != nil {
		return fmt.Errorf("ping %v: %w", a, err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("ping %v: no reply: %w", a, ctx.Err())
			}
			return fmt.Errorf("ping %v: %w", a, err)
		}
		src, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		if s, ok := netip.AddrFromSlice(src.IP); !ok || s.Unmap() != a {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq == seq && string(e.Data) == string(nonce[:]) {
			return nil
		}
	}
}
