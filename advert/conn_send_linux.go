package advert

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// Send transmits one packet: to p.Dst (zero means the group) from p.Src
// (zero means LocalAddr), with TTL / hop limit 255. With p.Sealer it is
// sent as IPv4 AH, sealed over the header exactly as sent.
func (c *Conn) Send(p *Packet) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	s, err := c.current()
	if err != nil {
		return err
	}
	src, dst := p.Src, p.Dst
	if !src.IsValid() {
		src = s.mon.localAddr()
	}
	if !dst.IsValid() {
		dst = c.group
	}
	// Built only on error: the steady state allocates nothing.
	dstAddr := func() net.Addr { return &net.IPAddr{IP: dst.AsSlice()} }
	switch {
	case !src.IsValid():
		return c.opError("write", dstAddr(), errors.New("no source address: the interface has none"))
	case src.Is6() != c.cfg.IPv6 || dst.Is6() != c.cfg.IPv6:
		return c.opError("write", dstAddr(), fmt.Errorf("%s → %s on an %s conn", src, dst, familyName(c.cfg.IPv6)))
	case len(p.Msg) == 0:
		return c.opError("write", dstAddr(), errors.New("empty message"))
	case p.Sealer != nil && c.cfg.IPv6:
		return c.opError("write", dstAddr(), errors.New("AH is IPv4 only"))
	}
	if c.cfg.IPv6 {
		c.sm.setIPv6(p.Msg, src, dst, s.ifindex)
	} else {
		proto, ahLen := uint8(ProtocolNumber), 0
		if p.Sealer != nil {
			proto, ahLen = protocolAH, ahHeaderLen
		}
		total := ipv4HeaderLen + ahLen + len(p.Msg)
		if total > 0xffff {
			return c.opError("write", dstAddr(), fmt.Errorf("message of %d bytes too long", len(p.Msg)))
		}
		if cap(c.sbuf) < total {
			c.sbuf = make([]byte, total, max(total, 1500))
		}
		b := c.sbuf[:total]
		// A zero identification would be filled in by the kernel after
		// the AH ICV was computed over it.
		c.ipID++
		if c.ipID == 0 {
			c.ipID = 1
		}
		putIPv4Header(b, total, c.ipID, proto, src, dst)
		if p.Sealer != nil {
			ah := b[ipv4HeaderLen : ipv4HeaderLen+ahHeaderLen]
			clear(ah)
			msg := b[ipv4HeaderLen+ahHeaderLen:]
			copy(msg, p.Msg)
			if err := p.Sealer.SealAH(ah, b[:ipv4HeaderLen], msg, p.Seq); err != nil {
				return c.opError("write", dstAddr(), fmt.Errorf("seal AH: %w", err))
			}
		} else {
			copy(b[ipv4HeaderLen:], p.Msg)
		}
		c.sm.setIPv4(b, dst)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return c.opError("write", dstAddr(), net.ErrClosed)
	}
	// Never blocks: a full send buffer is an error, not a wait in the
	// protocol's loop.
	errno := c.sm.send(uintptr(s.vrrpFD))
	s.mu.RUnlock()
	if errno != 0 {
		return c.opError("write", dstAddr(), os.NewSyscallError("sendmsg", errno))
	}
	c.sent.Add(1)
	return nil
}
