package advert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// keepalivedAH is a test-only AH sealer with keepalived's ICV (HMAC-MD5-96
// keyed with the zero-padded password, over the IPv4 header with TOS,
// flags/offset and checksum zeroed — and the TTL too for unicast — the AH
// header with the ICV zeroed, and the VRRP message). It lets the socket
// tests check, before package auth lands, that the ICV covers exactly the
// bytes on the wire: our packets must equal keepalived's byte for byte.
type keepalivedAH struct{ key [16]byte }

func newKeepalivedAH(pass string) *keepalivedAH {
	var k keepalivedAH
	copy(k.key[:], pass)
	return &k
}

func (k *keepalivedAH) icv(ipHeader, ah, msg []byte) []byte {
	h := bytes.Clone(ipHeader)
	h[1] = 0                              // TOS
	binary.BigEndian.PutUint16(h[6:], 0)  // flags, fragment offset
	binary.BigEndian.PutUint16(h[10:], 0) // checksum
	if !netip.AddrFrom4([4]byte(h[16:20])).IsMulticast() {
		h[8] = 0 // keepalived zeroes the TTL in unicast mode only
	}
	a := bytes.Clone(ah)
	clear(a[12:])
	m := hmac.New(md5.New, k.key[:])
	m.Write(h)
	m.Write(a)
	m.Write(msg)
	return m.Sum(nil)[:12]
}

func (k *keepalivedAH) SealAH(ah, ipHeader, msg []byte, seq uint32) error {
	ah[0] = ProtocolNumber
	ah[1] = 4 // (24 / 4) - 2
	copy(ah[4:8], ipHeader[12:16])
	binary.BigEndian.PutUint32(ah[8:12], seq)
	copy(ah[12:24], k.icv(ipHeader, ah, msg))
	return nil
}

func (k *keepalivedAH) verify(ipHeader, ah, msg []byte) bool {
	return len(ah) == 24 && hmac.Equal(ah[12:24], k.icv(ipHeader, ah, msg))
}

// firstCapturedAH returns the IP packets carrying AH in a keepalived capture.
func capturedAH(t testing.TB, name string) []pcapfile.IPPacket {
	t.Helper()
	frames, err := pcapfile.ReadFile(filepath.Join("testdata", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var out []pcapfile.IPPacket
	for _, f := range frames {
		p, err := f.IP()
		if err == nil && p.Protocol == protocolAH {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no AH packet in %s", name)
	}
	return out
}

// TestConnSendsAHAsKeepalived: with keepalived's message, sequence number
// and key, the packet our Conn puts on the wire is keepalived's, byte for
// byte (TOS 0xc0, ID 1, no DF, TTL 255, AH, ICV), and the receiving Conn
// hands over the IP header, AH header and message that verify.
func TestConnSendsAHAsKeepalived(t *testing.T) {
	for _, name := range []string{"v2-ah-mcast", "v2-ah-unicast"} {
		t.Run(name, func(t *testing.T) {
			want := capturedAH(t, name)[0] // 10.0.0.1 → 224.0.0.18 or 10.0.0.2, ID 1, seq 1
			lab := netlab.New(t, 2)
			capt := lab.Capture()
			h1, h2 := lab.Host(1), lab.Host(2)
			if want.Src != h1.IPv4 {
				t.Fatalf("capture from %v, lab host 1 is %v", want.Src, h1.IPv4)
			}
			c1 := listenOn(t, h1, Config{AH: true})
			c2 := listenOn(t, h2, Config{AH: true})
			in2 := receiveAll(c2)

			sealer := newKeepalivedAH("key12345")
			msg := want.Payload[ahHeaderLen:]
			seq := binary.BigEndian.Uint32(want.Payload[8:12])
			if err := c1.Send(&Packet{Dst: want.Dst, Msg: msg, Sealer: sealer, Seq: seq}); err != nil {
				t.Fatal(err)
			}
			p := next(t, in2, "h2")
			if p.Src != h1.IPv4 || p.Dst != want.Dst || p.HopLimit != 255 || !bytes.Equal(p.Msg, msg) {
				t.Errorf("received %+v", p)
			}
			if !sealer.verify(p.IPHeader, p.AH, p.Msg) {
				t.Errorf("received AH does not verify: header %x AH %x", p.IPHeader, p.AH)
			}
			var a Advert
			if _, err := a.Decode(p.Msg, p.Src, p.Dst, ChecksumStandard); err != nil || a.AuthType != AuthAH {
				t.Errorf("decode: %v, auth type %v", err, a.AuthType)
			}

			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			f, err := capt.WaitFor(ctx, wireMatch(protocolAH, h1.IPv4, msg))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := pcapfile.Frame{Data: f.Data}.IP()
			if !bytes.Equal(got.Header, want.Header) || !bytes.Equal(got.Payload, want.Payload) {
				t.Errorf("on the wire:\n got %x %x\nwant %x %x (keepalived)", got.Header, got.Payload, want.Header, want.Payload)
			}
			if !bytes.Equal(p.IPHeader, got.Header) {
				t.Errorf("received IP header %x, on the wire %x", p.IPHeader, got.Header)
			}
		})
	}
}

// TestConnReceivesBothProtocols: a Conn with AH returns plain VRRP and AH
// packets alike, from one Receive. (They come from two sockets: the order
// between a plain packet and an AH one sent just after it is not kept.)
func TestConnReceivesBothProtocols(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	c1 := listenOn(t, h1, Config{})
	c2 := listenOn(t, h2, Config{AH: true})
	in2 := receiveAll(c2)
	plain := encode(t, testAdvert(3, 1, 100), h1.IPv4, GroupIPv4)
	sealer := newKeepalivedAH("secret")
	for i := range 3 {
		if err := c1.Send(&Packet{Msg: plain}); err != nil {
			t.Fatal(err)
		}
		if err := c1.Send(&Packet{Msg: plain, Sealer: sealer, Seq: uint32(i + 1)}); err != nil {
			t.Fatal(err)
		}
		a, b := next(t, in2, "plain or AH"), next(t, in2, "plain or AH")
		if a.AH != nil {
			a, b = b, a
		}
		if p := a; p.AH != nil || !bytes.Equal(p.Msg, plain) {
			t.Errorf("%d: want plain VRRP, got %+v", i, p)
		}
		if p := b; !bytes.Equal(p.Msg, plain) || !sealer.verify(p.IPHeader, p.AH, p.Msg) || binary.BigEndian.Uint32(p.AH[8:]) != uint32(i+1) {
			t.Errorf("%d: want AH seq %d, got %+v", i, i+1, p)
		}
	}
}

type failingSealer struct{}

var errSeal = errors.New("no key")

func (failingSealer) SealAH(ah, ipHeader, msg []byte, seq uint32) error { return errSeal }

func TestConnSendReportsSealError(t *testing.T) {
	lab := netlab.New(t, 1)
	c := listenOn(t, lab.Host(1), Config{})
	err := c.Send(&Packet{Msg: []byte{0x21, 1, 100, 0, 2, 1, 0, 0}, Sealer: failingSealer{}})
	if !errors.Is(err, errSeal) {
		t.Fatalf("Send = %v, want the sealer's error", err)
	}
}
