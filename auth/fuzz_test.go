package auth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func classified(err error) bool {
	for _, s := range ahSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzVerify: arbitrary bytes, split as a receiver splits a packet (IPv4
// header by its IHL, 24 bytes of AH, the rest), never panic, and every
// rejection is classified. A packet that verifies is then a replay.
func FuzzVerify(f *testing.F) {
	for _, c := range []struct {
		name    string
		unicast bool
	}{{"v2-ah-mcast", false}, {"v2-ah-unicast", true}} {
		for _, p := range readAH(f, c.name) {
			f.Add(append(append(bytes.Clone(p.ip), p.ah...), p.msg...), c.unicast)
		}
	}
	f.Fuzz(func(t *testing.T, pkt []byte, unicast bool) {
		ihl := 20
		if len(pkt) > 0 {
			ihl = int(pkt[0]&0x0f) * 4
		}
		ihl = min(ihl, len(pkt))
		ah := pkt[ihl:]
		ah = ah[:min(len(ah), AHLen)]
		msg := pkt[ihl+len(ah):]
		in := bytes.Clone(pkt)
		rx := NewAH(key12345, unicast, 0)
		err := rx.Verify(pkt[:ihl], ah, msg)
		if !bytes.Equal(in, pkt) {
			t.Fatal("Verify modified its input")
		}
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error %q", err)
			}
			return
		}
		if err := rx.Verify(pkt[:ihl], ah, msg); !errors.Is(err, ErrReplay) {
			t.Fatalf("the same packet twice: %v, want ErrReplay", err)
		}
	})
}

// FuzzSealVerify: whatever a sender seals, a receiver with the same key and
// mode verifies, once; the mutable fields may change on the way; any change
// to a covered byte fails.
func FuzzSealVerify(f *testing.F) {
	for _, p := range readAH(f, "v2-ah-unicast") {
		f.Add(p.msg, []byte("key12345"), bytes.Clone(p.ip[12:16]), bytes.Clone(p.ip[16:20]), p.seq, uint16(1), true, uint8(0x10), uint8(3), uint16(7))
	}
	for _, p := range readAH(f, "v2-ah-mcast") {
		f.Add(p.msg, []byte("key12345"), bytes.Clone(p.ip[12:16]), bytes.Clone(p.ip[16:20]), p.seq, uint16(1), false, uint8(0), uint8(0), uint16(0))
	}
	f.Fuzz(func(t *testing.T, msg, key, src, dst []byte, seq uint32, id uint16, unicast bool, tos, ttlDrop uint8, flip uint16) {
		if len(src) != 4 || len(dst) != 4 || len(msg) > 1400 {
			return
		}
		var pw Password
		copy(pw[:], key)
		s, d := netip.AddrFrom4([4]byte(src)), netip.AddrFrom4([4]byte(dst))
		p := sealed{ip: ipv4Header(s, d, id, len(msg)), ah: make([]byte, AHLen), msg: bytes.Clone(msg)}
		err := NewAH(pw, unicast, 0).SealAH(p.ah, p.ip, p.msg, seq)
		if seq == 0 || id == 0 || s.IsUnspecified() {
			if err == nil {
				t.Fatal("sealed a packet the kernel would change after the ICV")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.BigEndian.Uint32(p.ah[4:8]); got != binary.BigEndian.Uint32(src) {
			t.Fatalf("SPI %#x, source % x", got, src)
		}
		// In transit: TOS rewritten, checksum recomputed, and in unicast mode
		// the TTL decremented.
		p.ip[1] = tos
		p.ip[10], p.ip[11] = ^p.ip[10], 0
		if unicast {
			p.ip[8] -= ttlDrop
		}
		rx := NewAH(pw, unicast, 0)
		if err := p.verify(rx); err != nil {
			t.Fatalf("sealed packet does not verify: %v", err)
		}
		if err := p.verify(rx); !errors.Is(err, ErrReplay) {
			t.Fatalf("replay: %v", err)
		}
		// Flip one covered bit: identification, addresses, AH, message.
		covered := []int{4, 5, 12, 13, 14, 15, 16, 17, 18, 19}
		for i := range AHLen {
			covered = append(covered, ipv4Len+i)
		}
		for i := range p.msg {
			covered = append(covered, ipv4Len+AHLen+i)
		}
		if !unicast {
			covered = append(covered, 8)
		}
		q := p.clone()
		pos := covered[int(flip)%len(covered)]
		switch {
		case pos < ipv4Len:
			q.ip[pos] ^= 1 << (flip % 8)
		case pos < ipv4Len+AHLen:
			q.ah[pos-ipv4Len] ^= 1 << (flip % 8)
		default:
			q.msg[pos-ipv4Len-AHLen] ^= 1 << (flip % 8)
		}
		if err := q.verify(NewAH(pw, unicast, 0)); err == nil {
			t.Fatalf("verified with byte %d changed", pos)
		} else if !classified(err) {
			t.Fatalf("unclassified error %q", err)
		}
	})
}
