package advert

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"golang.org/x/sys/unix"
)

// FuzzFrame: no datagram and no control message makes framing panic or
// return slices outside the buffer.
func FuzzFrame(f *testing.F) {
	f.Add([]byte{0x45, 0xc0, 0, 28, 0, 1, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18, 0x31, 1, 100, 0, 0, 100, 0, 0}, false)
	f.Add([]byte{0x45, 0xc0, 0, 44, 0, 1, 0, 0, 255, 51, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18, 112, 4, 0, 0, 10, 0, 0, 1, 0, 0, 0, 1}, false)
	f.Add([]byte{0x4f, 0, 0}, false)
	f.Add([]byte{0x31, 1, 100, 0}, true)
	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool) {
		c := &Conn{cfg: Config{IPv6: ipv6}}
		s := &sockets{ifindex: 2}
		// An IP(V6)_PKTINFO saying "interface 2", then the fuzzed bytes
		// as further control data.
		oob := make([]byte, unix.CmsgSpace(20))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		if ipv6 {
			h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
			binary.NativeEndian.PutUint32(oob[unix.CmsgLen(0)+16:], 2)
		} else {
			binary.NativeEndian.PutUint32(oob[unix.CmsgLen(0):], 2)
		}
		h.SetLen(unix.CmsgLen(20))
		oob = append(oob, b...)
		oob = oob[:min(len(oob), oobLen)]
		d := datagram{b: append([]byte(nil), b...), oob: oob, name: unix.AF_INET}
		var p Packet
		if c.frame(s, &p, d, 0) {
			for _, sl := range [][]byte{p.Msg, p.AH, p.IPHeader} {
				if len(sl) > len(b) {
					t.Fatalf("slice of %d bytes from a %d-byte datagram", len(sl), len(b))
				}
			}
			if !ipv6 && len(p.IPHeader)+len(p.AH)+len(p.Msg) > len(b) {
				t.Fatal("parts longer than the datagram")
			}
		}
	})
}

// TestConnCountsWhatItCannotFrame: a datagram longer than the caller's
// buffer, and an AH packet that does not carry VRRP, are dropped and
// counted; the next good packet is returned.
func TestConnCountsWhatItCannotFrame(t *testing.T) {
	lab := netlab.New(t, 2)
	c1 := listenOn(t, lab.Host(1), Config{})
	c2 := listenOn(t, lab.Host(2), Config{AH: true})
	small := []byte{0x31, 1, 100, 0, 0, 100, 0, 0}
	buf := make([]byte, 64) // room for a 20-byte header and 44 bytes
	// Each pair goes through one socket, so it arrives in order.
	for _, step := range []struct {
		bad  Packet
		good Packet
	}{
		{Packet{Msg: make([]byte, 100)}, Packet{Msg: small}},
		{Packet{Msg: small, Sealer: notVRRPSealer{}}, Packet{Msg: small, Sealer: cheapSealer{}}},
	} {
		if err := c1.Send(&step.bad); err != nil {
			t.Fatal(err)
		}
		if err := c1.Send(&step.good); err != nil {
			t.Fatal(err)
		}
		var p Packet
		if err := c2.Receive(&p, buf); err != nil {
			t.Fatal(err)
		}
		if string(p.Msg) != string(small) || (step.good.Sealer != nil) != (p.AH != nil) {
			t.Errorf("received %+v, want the good packet %+v", p, step.good)
		}
	}
	if st := c2.Stats(); st.Truncated != 1 || st.Malformed != 1 || st.Received != 2 {
		t.Errorf("stats %+v, want 1 truncated, 1 malformed, 2 received", st)
	}
}

// notVRRPSealer writes an AH header whose next header is not VRRP.
type notVRRPSealer struct{}

func (notVRRPSealer) SealAH(ah, ipHeader, msg []byte, seq uint32) error {
	ah[0], ah[1] = 6, 4 // TCP
	return nil
}
