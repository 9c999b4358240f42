package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// RawIPv4 sends hand-built IPv4 packets out of a host's lab interface:
// any source address, TTL and protocol, as an attacker on the LAN can.
type RawIPv4 struct {
	fd  int
	id  uint16
	buf []byte
}

// RawIPv4 opens a raw socket in h's namespace, bound to its interface.
func (h *Host) RawIPv4() (*RawIPv4, error) {
	r := &RawIPv4{fd: -1}
	err := h.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		r.fd = fd
		return unix.BindToDevice(fd, h.Ifname)
	})
	if err != nil {
		if r.fd >= 0 {
			unix.Close(r.fd)
		}
		return nil, fmt.Errorf("netlab: raw socket on %s: %w", h.Name, err)
	}
	return r, nil
}

// Close closes the socket.
func (r *RawIPv4) Close() error { return unix.Close(r.fd) }

// Packet returns a packet of payloadLen bytes after an IPv4 header from
// src to dst with ttl and proto; the caller writes the payload at [20:].
// It is valid until the next call.
func (r *RawIPv4) Packet(src, dst netip.Addr, ttl, proto uint8, payloadLen int) []byte {
	total := 20 + payloadLen
	r.buf = append(r.buf[:0], make([]byte, total)...)
	b := r.buf
	r.id++
	b[0], b[1] = 0x45, 0xc0
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], r.id|1)
	b[8], b[9] = ttl, proto
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	return b
}

// Send sends payload from src to dst with ttl and proto.
func (r *RawIPv4) Send(src, dst netip.Addr, ttl, proto uint8, payload []byte) error {
	b := r.Packet(src, dst, ttl, proto, len(payload))
	copy(b[20:], payload)
	return r.SendPacket(b)
}

// SendPacket sends an IPv4 packet as it is (the kernel fills in the
// header checksum). A full send queue drops it silently, as it would drop
// a flood's packets.
func (r *RawIPv4) SendPacket(b []byte) error {
	if len(b) < 20 {
		return errors.New("netlab: raw send: shorter than an IPv4 header")
	}
	err := unix.Sendto(r.fd, b, 0, &unix.SockaddrInet4{Addr: [4]byte(b[16:20])})
	if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
		return nil
	}
	return err
}
