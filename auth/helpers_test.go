package auth

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// readVRRP returns the plain (protocol 112) VRRP messages of a capture.
func readVRRP(t testing.TB, name string) [][]byte {
	t.Helper()
	frames, err := pcapfile.ReadFile(filepath.Join("testdata", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range frames {
		if p, err := f.IP(); err == nil && p.Protocol == protocolVRRP {
			out = append(out, p.Payload)
		}
	}
	return out
}

// advertMsg is the VRRPv2 advert keepalived sends with AH: VRID 51,
// priority 200, one address, auth type 2.
var advertMsg = []byte{0x21, 0x33, 0xc8, 0x01, 0x02, 0x01, 0x0a, 0x66, 0x0a, 0x00, 0x00, 0x64, 0, 0, 0, 0, 0, 0, 0, 0}

// ipv4Header builds the header a sender puts before AH: TOS 0xc0, TTL 255,
// the header checksum filled in.
func ipv4Header(src, dst netip.Addr, id uint16, msgLen int) []byte {
	h := make([]byte, ipv4Len)
	h[0] = 0x45
	h[1] = 0xc0
	binary.BigEndian.PutUint16(h[2:], uint16(ipv4Len+AHLen+msgLen))
	binary.BigEndian.PutUint16(h[4:], id)
	h[8] = 255
	h[9] = ProtocolAH
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	var sum uint32
	for i := 0; i < ipv4Len; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return h
}

// sealed is one AH packet.
type sealed struct{ ip, ah, msg []byte }

// seal builds and seals a packet from src to dst with sequence number seq.
func seal(t testing.TB, tx *AH, src, dst netip.Addr, seq uint32) sealed {
	t.Helper()
	p := sealed{ip: ipv4Header(src, dst, uint16(seq)|1, len(advertMsg)), ah: make([]byte, AHLen), msg: advertMsg}
	if err := tx.SealAH(p.ah, p.ip, p.msg, seq); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p sealed) verify(rx *AH) error { return rx.Verify(p.ip, p.ah, p.msg) }

// reseal recomputes the ICV of p as it is, so that a test can make a packet
// whose only fault is the one it is after.
func reseal(p sealed, unicast bool) {
	tx := NewAH(key12345, unicast, 0)
	tx.mu.Lock()
	defer tx.mu.Unlock()
	copy(p.ah[12:], tx.icv(p.ip, p.ah, p.msg, unicast))
}
