package advert

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Send transmits one packet: to p.Dst (zero means the group) from p.Src
// (zero means LocalAddr), with TTL / hop limit 255. With p.Sealer it is
// sent as IPv4 AH, sealed over the header exactly as sent.
func (c *Conn) Send(p *Packet) error {
	_, err := c.SendBatch(unsafe.Slice(p, 1))
	return err
}

// SendBatch transmits ps in order as Send does, up to 32 packets to a
// sendmmsg(2) call. It returns how many went out before the first that
// did not, and why ps[n] did not (nil when all went out): the caller may
// go on with ps[n+1:].
func (c *Conn) SendBatch(ps []Packet) (int, error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	s, err := c.current()
	if err != nil {
		return 0, err
	}
	sent := 0
	defer func() { c.sent.Add(uint64(sent)) }()
	for sent < len(ps) {
		k := min(len(ps)-sent, maxBatch)
		var prepErr error
		for i := range k {
			if prepErr = c.prepare(i, &ps[sent+i], s); prepErr != nil {
				k = i
				break
			}
		}
		for off := 0; off < k; {
			m, err := c.sb.send(s, off, k)
			if err != nil {
				sent += off
				return sent, c.opError("write", ps[sent].dstAddr(c.group), err)
			}
			off += m
		}
		sent += k
		if prepErr != nil {
			return sent, prepErr
		}
	}
	return sent, nil
}

// dstAddr is p's destination for an error: built only on error, the
// steady state allocates nothing.
func (p *Packet) dstAddr(group netip.Addr) net.Addr {
	dst := p.Dst
	if !dst.IsValid() {
		dst = group
	}
	return &net.IPAddr{IP: dst.AsSlice()}
}

// prepare makes slot i of the send batch ready to send p.
func (c *Conn) prepare(i int, p *Packet, s *sockets) error {
	src, dst := p.Src, p.Dst
	if !src.IsValid() {
		src = s.mon.localAddr()
	}
	if !dst.IsValid() {
		dst = c.group
	}
	switch {
	case !src.IsValid():
		return c.opError("write", p.dstAddr(c.group), errors.New("no source address: the interface has none"))
	case src.Is6() != c.cfg.IPv6 || dst.Is6() != c.cfg.IPv6:
		return c.opError("write", p.dstAddr(c.group), fmt.Errorf("%s → %s on an %s conn", src, dst, familyName(c.cfg.IPv6)))
	case len(p.Msg) == 0:
		return c.opError("write", p.dstAddr(c.group), errors.New("empty message"))
	case p.Sealer != nil && c.cfg.IPv6:
		return c.opError("write", p.dstAddr(c.group), errors.New("AH is IPv4 only"))
	}
	slot := &c.sb.slots[i]
	if c.cfg.IPv6 {
		slot.setIPv6(p.Msg, src, dst, s.ifindex)
		c.sb.hdrs[i].hdr = slot.msg
		return nil
	}
	proto, ahLen := uint8(ProtocolNumber), 0
	if p.Sealer != nil {
		proto, ahLen = protocolAH, ahHeaderLen
	}
	total := ipv4HeaderLen + ahLen + len(p.Msg)
	if total > 0xffff {
		return c.opError("write", p.dstAddr(c.group), fmt.Errorf("message of %d bytes too long", len(p.Msg)))
	}
	if cap(slot.buf) < total {
		slot.buf = make([]byte, total, max(total, 1500))
	}
	b := slot.buf[:total]
	// A zero identification would be filled in by the kernel after the AH
	// ICV was computed over it.
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
			return c.opError("write", p.dstAddr(c.group), fmt.Errorf("seal AH: %w", err))
		}
	} else {
		copy(b[ipv4HeaderLen:], p.Msg)
	}
	slot.setIPv4(b, dst)
	c.sb.hdrs[i].hdr = slot.msg
	return nil
}

// send hands the prepared slots [off, k) to the kernel and says how many
// it took. It never blocks: a full send buffer is an error, not a wait in
// the protocol's loop.
func (b *sendBatch) send(s *sockets, off, k int) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	m, errno := b.sendmmsg(uintptr(s.vrrpFD), off, k)
	switch {
	case errno != 0:
		return 0, os.NewSyscallError("sendmmsg", errno)
	case m == 0:
		return 0, os.NewSyscallError("sendmmsg", unix.EAGAIN)
	}
	return m, nil
}
