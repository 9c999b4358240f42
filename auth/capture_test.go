package auth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
)

// ahPacket is one AH-wrapped advert of a keepalived capture.
type ahPacket struct {
	src, dst netip.Addr
	ip       []byte // the IPv4 header as captured
	ah       []byte
	msg      []byte
	seq      uint32
}

func readAH(t testing.TB, name string) []ahPacket {
	t.Helper()
	frames, err := pcapfile.ReadFile(filepath.Join("testdata", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var out []ahPacket
	for _, f := range frames {
		p, err := f.IP()
		if err != nil || p.Protocol != ProtocolAH {
			continue
		}
		out = append(out, ahPacket{
			src: p.Src, dst: p.Dst, ip: p.Header, ah: p.Payload[:AHLen], msg: p.Payload[AHLen:],
			seq: binary.BigEndian.Uint32(p.Payload[8:12]),
		})
	}
	return out
}

// keepalived's key: `auth_pass key12345` in both captures' configurations.
var key12345 = Password{'k', 'e', 'y', '1', '2', '3', '4', '5'}

var (
	h1 = netip.MustParseAddr("10.0.0.1")
	h2 = netip.MustParseAddr("10.0.0.2")
	h3 = netip.MustParseAddr("10.0.0.3")
)

// Every AH ICV keepalived 2.2.7 sent verifies with key12345, in multicast
// mode with the TTL covered, and the sequence numbers 1, 2, ... are accepted
// in order; the same packet again is a replay (RFC 4302 §3.4.3).
func TestCapturedMulticastAHVerifies(t *testing.T) {
	pkts := readAH(t, "v2-ah-mcast")
	if len(pkts) != 4 {
		t.Fatalf("%d AH packets, want 4", len(pkts))
	}
	rx := NewAH(key12345, false, 0)
	for i, p := range pkts {
		if p.seq != uint32(i+1) || p.ip[8] != 255 {
			t.Errorf("packet %d: seq %d TTL %d, want seq %d TTL 255", i, p.seq, p.ip[8], i+1)
		}
		ipCopy := bytes.Clone(p.ip)
		if err := rx.Verify(p.ip, p.ah, p.msg); err != nil {
			t.Fatalf("packet %d (seq %d): %v", i, p.seq, err)
		}
		if !bytes.Equal(ipCopy, p.ip) {
			t.Errorf("Verify modified the IP header")
		}
	}
	if seq, ok := rx.Accepted(h1); !ok || seq != 4 {
		t.Errorf("Accepted(10.0.0.1) = %d, %v; want 4", seq, ok)
	}
	err := rx.Verify(pkts[2].ip, pkts[2].ah, pkts[2].msg)
	if !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), "sequence number 3 from 10.0.0.1, not above 4") {
		t.Errorf("replayed packet: %v, want ErrReplay naming 3 and 4", err)
	}
}

// In unicast mode keepalived leaves the TTL out of the ICV (routers on the
// way decrement it), so the capture verifies only in unicast mode, and
// Verify says so when the modes differ. One advert to two peers carries one
// sequence number: each peer accepts its copy, and a receiver seeing both
// takes the second for a replay.
func TestCapturedUnicastAHVerifies(t *testing.T) {
	pkts := readAH(t, "v2-ah-unicast")
	if len(pkts) != 8 {
		t.Fatalf("%d AH packets, want 8", len(pkts))
	}
	rx := map[netip.Addr]*AH{h2: NewAH(key12345, true, 0), h3: NewAH(key12345, true, 0)}
	for i, p := range pkts {
		if want := uint32(i/2 + 1); p.seq != want {
			t.Errorf("packet %d to %v: seq %d, want %d", i, p.dst, p.seq, want)
		}
		if err := rx[p.dst].Verify(p.ip, p.ah, p.msg); err != nil {
			t.Fatalf("packet %d to %v (seq %d): %v", i, p.dst, p.seq, err)
		}
	}

	both := NewAH(key12345, true, 0)
	if err := both.Verify(pkts[0].ip, pkts[0].ah, pkts[0].msg); err != nil {
		t.Fatal(err)
	}
	if err := both.Verify(pkts[1].ip, pkts[1].ah, pkts[1].msg); !errors.Is(err, ErrReplay) {
		t.Errorf("the copy to 10.0.0.3 after the one to 10.0.0.2: %v, want ErrReplay", err)
	}

	mcast := NewAH(key12345, false, 0)
	err := mcast.Verify(pkts[0].ip, pkts[0].ah, pkts[0].msg)
	if !errors.Is(err, ErrICV) || !strings.Contains(err.Error(), "TTL zeroed") {
		t.Errorf("unicast packet in multicast mode: %v, want ErrICV explaining the TTL", err)
	}
	m := readAH(t, "v2-ah-mcast")[0]
	err = NewAH(key12345, true, 0).Verify(m.ip, m.ah, m.msg)
	if !errors.Is(err, ErrICV) || !strings.Contains(err.Error(), "TTL included") {
		t.Errorf("multicast packet in unicast mode: %v, want ErrICV explaining the TTL", err)
	}
}

// A wrong key fails the ICV, and says nothing about the key.
func TestCapturedAHWrongKey(t *testing.T) {
	p := readAH(t, "v2-ah-mcast")[0]
	wrong, _ := NewPassword("key12346")
	err := NewAH(wrong, false, 0).Verify(p.ip, p.ah, p.msg)
	if !errors.Is(err, ErrICV) || strings.Contains(err.Error(), "key1234") {
		t.Errorf("wrong key: %v, want ErrICV without the key", err)
	}
}

// SealAH produces keepalived's AH header byte for byte from the IP header
// and message keepalived sent, and leaves the IP header alone.
func TestSealAHMatchesCapturedBytes(t *testing.T) {
	for _, c := range []struct {
		name    string
		unicast bool
	}{{"v2-ah-mcast", false}, {"v2-ah-unicast", true}} {
		tx := NewAH(key12345, c.unicast, 0)
		for i, p := range readAH(t, c.name) {
			ip := bytes.Clone(p.ip)
			ah := make([]byte, AHLen)
			if err := tx.SealAH(ah, ip, p.msg, p.seq); err != nil {
				t.Fatalf("%s packet %d: %v", c.name, i, err)
			}
			if !bytes.Equal(ah, p.ah) {
				t.Errorf("%s packet %d: sealed\n% x\nwant\n% x", c.name, i, ah, p.ah)
			}
			if !bytes.Equal(ip, p.ip) {
				t.Errorf("%s packet %d: SealAH modified the IP header", c.name, i)
			}
		}
		if last, _ := tx.Seqs(); last != 4 {
			t.Errorf("%s: last sent %d after sealing 1..4", c.name, last)
		}
	}
}
