package auth

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// Every advert keepalived 2.4.3 signed, in every recorded mode, verifies
// with the key of its configuration at the time it was captured: each
// receiver (one per destination in unicast mode) accepts the sequence in
// order, the shutdown's priority-0 advert last, and the same advert again
// is a replay.
func TestCapturedSignedAdvertsVerify(t *testing.T) {
	for _, m := range recordedModes {
		t.Run(m.name, func(t *testing.T) {
			cfg := recordedConfig(t, m.name)
			pkts := readSigned(t, m.name)
			rx := map[netip.Addr]*HMAC{}
			for i, p := range pkts {
				if len(p.trailer) != TrailerLen {
					t.Fatalf("advert %d: %d bytes after the message, want a %d-byte trailer", i, len(p.trailer), TrailerLen)
				}
				h := rx[p.dst]
				if h == nil {
					h = mustHMAC(t, cfg)
					rx[p.dst] = h
				}
				tr, err := h.Verify(p.msg, p.trailer, p.src, p.time)
				if err != nil {
					t.Fatalf("advert %d (%v → %v, priority %d, seq %v): %v", i, p.src, p.dst, p.prio(), tr.Seq, err)
				}
				if tr.KeyID != uint8(cfg.ActiveKey) {
					t.Errorf("advert %d: key id %d, the configuration's active key is %d", i, tr.KeyID, cfg.ActiveKey)
				}
				if d := tr.Seq.Skew(p.time); d < 0 || d > time.Second {
					t.Errorf("advert %d: time stamp %v, %v behind the capture's", i, tr.Seq, d)
				}
			}
			want := 5
			if m.unicast {
				want = 10
			}
			if len(pkts) < want || pkts[len(pkts)-1].prio() != 0 || pkts[0].prio() != 200 {
				t.Errorf("%d adverts, first priority %d, last %d; want ≥ %d from 200 to 0", len(pkts), pkts[0].prio(), pkts[len(pkts)-1].prio(), want)
			}
			last := pkts[len(pkts)-1]
			if _, err := rx[last.dst].Verify(last.msg, last.trailer, last.src, last.time); err != ErrTrailerReplay {
				t.Errorf("the last advert again: %v, want ErrTrailerReplay", err)
			}
		})
	}
}

// Sealing the message keepalived sent, with its key and its sequence,
// gives keepalived's trailer byte for byte — in every family, version,
// checksum mode and key form (hex, quoted text, file).
func TestSealMatchesCapturedTrailers(t *testing.T) {
	for _, m := range recordedModes {
		t.Run(m.name, func(t *testing.T) {
			tx := mustHMAC(t, recordedConfig(t, m.name))
			for i, p := range readSigned(t, m.name) {
				tr, err := ParseTrailer(p.trailer)
				if err != nil {
					t.Fatal(err)
				}
				msg := bytes.Clone(p.msg)
				got, err := tx.AppendTrailer(nil, msg, p.src, tr.Seq)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, p.trailer) {
					t.Errorf("advert %d: sealed\n% x\nwant\n% x", i, got, p.trailer)
				}
				if !bytes.Equal(msg, p.msg) {
					t.Errorf("advert %d: AppendTrailer modified the message", i)
				}
				// The message at the end of the same buffer, as a sender
				// encodes it: the trailer goes after it.
				b, err := tx.AppendTrailer(msg, msg, p.src, tr.Seq)
				if err != nil || !bytes.Equal(b, p.payload) {
					t.Errorf("advert %d: message and trailer in one buffer: % x, %v; want % x", i, b, err, p.payload)
				}
			}
		})
	}
}

// keepalived seals each advert once: the copies to the two unicast peers
// carry one trailer (only the IPv4 checksum, whose pseudo-header names the
// destination, differs), so a receiver that sees both takes the second for
// a replay.
func TestCapturedUnicastCopiesShareOneTrailer(t *testing.T) {
	for _, name := range []string{"v2-ipv4-unicast", "v3-ipv4-unicast", "v2-ipv6-unicast", "v3-ipv6-unicast"} {
		t.Run(name, func(t *testing.T) {
			pkts := readSigned(t, name)
			if len(pkts)%2 != 0 {
				t.Fatalf("%d adverts: not pairs", len(pkts))
			}
			both := mustHMAC(t, recordedConfig(t, name))
			for i := 0; i < len(pkts); i += 2 {
				a, b := pkts[i], pkts[i+1]
				if a.dst == b.dst || !bytes.Equal(a.trailer, b.trailer) {
					t.Fatalf("adverts %d, %d to %v and %v: trailers\n% x\n% x", i, i+1, a.dst, b.dst, a.trailer, b.trailer)
				}
				if _, err := both.Verify(a.msg, a.trailer, a.src, a.time); err != nil {
					t.Fatalf("advert %d: %v", i, err)
				}
				if _, err := both.Verify(b.msg, b.trailer, b.src, b.time); err != ErrTrailerReplay {
					t.Errorf("advert %d, the copy to the second peer: %v, want ErrTrailerReplay", i+1, err)
				}
			}
		})
	}
}

// Each fault of a captured advert fails with its own sentinel, and none
// of them moves the replay state: the untouched advert still verifies
// afterwards.
func TestCapturedAdvertFaults(t *testing.T) {
	cfg := recordedConfig(t, "v3-ipv4-mcast")
	p := readSigned(t, "v3-ipv4-mcast")[1]
	window := DefaultWindow(time.Second)
	other, err := NewKey(2, bytes.Repeat([]byte{0x5a}, 32))
	if err != nil {
		t.Fatal(err)
	}
	withOther := cfg
	withOther.Keys = append(append([]Key(nil), cfg.Keys...), other)
	for _, c := range []struct {
		name  string
		cfg   HMACConfig
		edit  func(msg, tr []byte) (src netip.Addr)
		at    time.Time
		class error
	}{
		{"a flipped bit in the priority", cfg, func(msg, tr []byte) netip.Addr { msg[2] ^= 0x01; return p.src }, p.time, ErrTrailerHMAC},
		{"a flipped bit in an address", cfg, func(msg, tr []byte) netip.Addr { msg[11] ^= 0x80; return p.src }, p.time, ErrTrailerHMAC},
		{"a flipped bit in the counter", cfg, func(msg, tr []byte) netip.Addr { tr[11] ^= 0x01; return p.src }, p.time, ErrTrailerHMAC},
		{"a flipped bit in the HMAC", cfg, func(msg, tr []byte) netip.Addr { tr[27] ^= 0x10; return p.src }, p.time, ErrTrailerHMAC},
		{"another source address", cfg, func(msg, tr []byte) netip.Addr { return netip.MustParseAddr("10.0.0.9") }, p.time, ErrTrailerHMAC},
		{"another configured key's id", withOther, func(msg, tr []byte) netip.Addr { tr[1] = 2; return p.src }, p.time, ErrTrailerHMAC},
		{"an unknown key id", cfg, func(msg, tr []byte) netip.Addr { tr[1] = 9; return p.src }, p.time, ErrUnknownKeyID},
		{"an unknown trailer type", cfg, func(msg, tr []byte) netip.Addr { tr[0] = 2; return p.src }, p.time, ErrTrailerMalformed},
		{"reserved bits set", cfg, func(msg, tr []byte) netip.Addr { tr[3] = 1; return p.src }, p.time, ErrTrailerMalformed},
		{"received a window and a second late", cfg, func(msg, tr []byte) netip.Addr { return p.src }, p.time.Add(window + time.Second), ErrTrailerStale},
		{"received a window and a second early", cfg, func(msg, tr []byte) netip.Addr { return p.src }, p.time.Add(-window - time.Second), ErrTrailerStale},
		{"the checksum changed", cfg, func(msg, tr []byte) netip.Addr { msg[6] ^= 0xff; return p.src }, p.time, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rx := mustHMAC(t, c.cfg)
			msg, tr := bytes.Clone(p.msg), bytes.Clone(p.trailer)
			src := c.edit(msg, tr)
			_, err := rx.Verify(msg, tr, src, c.at)
			if err != c.class {
				t.Fatalf("%v, want %v", err, c.class)
			}
			if c.class == nil {
				return // the checksum is not covered: it is written after sealing
			}
			if _, err := rx.Verify(p.msg, p.trailer, p.src, p.time); err != nil {
				t.Errorf("the untouched advert after the rejected one: %v", err)
			}
		})
	}

	// A replay, and an older advert after a newer one: ErrTrailerReplay.
	pkts := readSigned(t, "v3-ipv4-mcast")
	rx := mustHMAC(t, cfg)
	for _, q := range pkts[:3] {
		if _, err := rx.Verify(q.msg, q.trailer, q.src, q.time); err != nil {
			t.Fatal(err)
		}
	}
	for i, q := range pkts[:3] {
		if _, err := rx.Verify(q.msg, q.trailer, q.src, pkts[2].time); !errors.Is(err, ErrTrailerReplay) {
			t.Errorf("advert %d again after advert 2: %v, want ErrTrailerReplay", i, err)
		}
	}
}
