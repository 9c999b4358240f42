package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// build writes a classic pcap file with the given byte order and
// resolution, holding frames.
func build(order binary.ByteOrder, nano bool, linkType uint32, frames []Frame) []byte {
	var b bytes.Buffer
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	h := make([]byte, 24)
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], linkType)
	b.Write(h)
	for _, f := range frames {
		r := make([]byte, 16)
		order.PutUint32(r[0:], uint32(f.Time.Unix()))
		frac := uint32(f.Time.Nanosecond() / 1000)
		if nano {
			frac = uint32(f.Time.Nanosecond())
		}
		order.PutUint32(r[4:], frac)
		order.PutUint32(r[8:], uint32(len(f.Data)))
		order.PutUint32(r[12:], uint32(f.OrigLen))
		b.Write(r)
		b.Write(f.Data)
	}
	return b.Bytes()
}

func TestReadsEveryByteOrderAndResolution(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 1, 2, 3, 456789123, time.UTC)
	frames := []Frame{
		{Time: t0, Data: []byte{1, 2, 3}, OrigLen: 3},
		{Time: t0.Add(time.Second), Data: []byte{4, 5}, OrigLen: 60},
	}
	for _, tc := range []struct {
		name  string
		order binary.ByteOrder
		nano  bool
		res   time.Duration
	}{
		{"little-micro", binary.LittleEndian, false, time.Microsecond},
		{"big-micro", binary.BigEndian, false, time.Microsecond},
		{"little-nano", binary.LittleEndian, true, time.Nanosecond},
		{"big-nano", binary.BigEndian, true, time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(build(tc.order, tc.nano, LinkTypeEthernet, frames)))
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range frames {
				got, err := r.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if wt := want.Time.Truncate(tc.res); !got.Time.Equal(wt) {
					t.Errorf("frame %d time %v, want %v", i, got.Time, wt)
				}
				if !bytes.Equal(got.Data, want.Data) || got.OrigLen != want.OrigLen {
					t.Errorf("frame %d = %x/%d, want %x/%d", i, got.Data, got.OrigLen, want.Data, want.OrigLen)
				}
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("after last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestRejectsOtherFormats(t *testing.T) {
	if _, err := NewReader(bytes.NewReader([]byte("\x0a\x0d\x0d\x0a pcapng......................"))); !errors.Is(err, ErrNotPcap) {
		t.Errorf("pcapng: %v, want ErrNotPcap", err)
	}
	if _, err := NewReader(bytes.NewReader(nil)); !errors.Is(err, ErrNotPcap) {
		t.Errorf("empty: %v, want ErrNotPcap", err)
	}
	sll := build(binary.LittleEndian, false, 113, nil)
	if _, err := NewReader(bytes.NewReader(sll)); !errors.Is(err, ErrLinkType) {
		t.Errorf("Linux cooked capture: %v, want ErrLinkType", err)
	}
}

func TestTruncatedRecordIsUnexpectedEOF(t *testing.T) {
	b := build(binary.LittleEndian, false, LinkTypeEthernet, []Frame{{Time: time.Unix(1, 0), Data: make([]byte, 10), OrigLen: 10}})
	r, err := NewReader(bytes.NewReader(b[:len(b)-3]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestEtherSkipsVLANTags(t *testing.T) {
	f := Frame{Data: []byte{
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		0x81, 0x00, 0, 5, // 802.1Q, VLAN 5
		0x86, 0xdd, // IPv6
		0x60, 0,
	}}
	et, p, err := f.Ether()
	if err != nil || et != EtherTypeIPv6 || !bytes.Equal(p, []byte{0x60, 0}) {
		t.Fatalf("Ether() = %#x, %x, %v; want 0x86dd, 6000, nil", et, p, err)
	}
	if _, _, err := (Frame{Data: make([]byte, 13)}).Ether(); !errors.Is(err, ErrShortFrame) {
		t.Fatalf("short frame: %v, want ErrShortFrame", err)
	}
}

// The keepalived captures the other packages test against must read.
func TestReadsSharedCaptures(t *testing.T) {
	frames, err := ReadFile("../../advert/testdata/v2-pass-mcast.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 14 {
		t.Fatalf("%d frames, want 14 (tshark counts 14)", len(frames))
	}
	et, p, err := frames[0].Ether()
	if err != nil || et != EtherTypeIPv4 || p[9] != 112 {
		t.Fatalf("first frame: type %#x, protocol %d, %v; want an IPv4 VRRP packet", et, p[9], err)
	}
	if frames[0].Time.Year() != 2026 {
		t.Errorf("time %v, want a 2026 capture", frames[0].Time)
	}
}

func TestIPTrimsPaddingAndParsesBothFamilies(t *testing.T) {
	frames, err := ReadFile("../../advert/testdata/v3-ipv4-unicast.pcap")
	if err != nil {
		t.Fatal(err)
	}
	p, err := frames[0].IP()
	if err != nil {
		t.Fatal(err)
	}
	if p.Src.String() != "10.0.0.1" || p.Dst.String() != "10.0.0.2" || p.Protocol != 112 || p.TTL != 255 || len(p.Header) != 20 || len(p.Payload) != 12 {
		t.Errorf("IPv4: %v → %v proto %d ttl %d header %d payload %d; want 10.0.0.1 → 10.0.0.2 proto 112 ttl 255 header 20 payload 12",
			p.Src, p.Dst, p.Protocol, p.TTL, len(p.Header), len(p.Payload))
	}
	// Padding after the IP packet, as a 60-byte minimum Ethernet frame has.
	padded := Frame{Data: append(append([]byte{}, frames[0].Data...), make([]byte, 14)...)}
	if p2, err := padded.IP(); err != nil || len(p2.Payload) != 12 {
		t.Errorf("padded frame: payload %d bytes, %v; want 12", len(p2.Payload), err)
	}

	frames, err = ReadFile("../../advert/testdata/v3-ipv6-unicast.pcap")
	if err != nil {
		t.Fatal(err)
	}
	p, err = frames[5].IP()
	if err != nil {
		t.Fatal(err)
	}
	if p.Src.String() != "fd00::1" || p.Dst.String() != "fd00::2" || p.Protocol != 112 || p.TTL != 64 || len(p.Payload) != 24 {
		t.Errorf("IPv6: %v → %v next %d hop %d payload %d; want fd00::1 → fd00::2 next 112 hop 64 payload 24",
			p.Src, p.Dst, p.Protocol, p.TTL, len(p.Payload))
	}
	if _, err := frames[3].IP(); err != nil {
		t.Errorf("neighbor solicitation frame: %v", err)
	}
	arp, _ := ReadFile("../../advert/testdata/v2-pass-mcast.pcap")
	if _, err := arp[1].IP(); !errors.Is(err, ErrNotIP) {
		t.Errorf("ARP frame: %v, want ErrNotIP", err)
	}
}
