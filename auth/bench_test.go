package auth

import (
	"testing"
	"time"
)

// Sealing one advert: the AH header and HMAC-MD5-96 over 64 bytes.
func BenchmarkSealAH(b *testing.B) {
	tx := NewAH(key12345, false, 0)
	ip := ipv4Header(h1, group4, 1, len(advertMsg))
	ah := make([]byte, AHLen)
	b.ReportAllocs()
	seq := uint32(0)
	for b.Loop() {
		seq++
		if err := tx.SealAH(ah, ip, advertMsg, seq); err != nil {
			b.Fatal(err)
		}
	}
}

// Verifying one advert: layout, ICV, SPI, replay check and record. The
// packets are sealed beforehand with increasing numbers; when they run out
// the sender is forgotten and they are verified again.
func BenchmarkVerify(b *testing.B) {
	tx := NewAH(key12345, false, 0)
	pkts := make([]sealed, 1024)
	for i := range pkts {
		pkts[i] = seal(b, tx, h1, group4, uint32(i+1))
	}
	rx := NewAH(key12345, false, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(pkts) {
			rx.Forget(h1)
			i = 0
		}
		if err := pkts[i].verify(rx); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// Sealing one advert with auth_hmac: numbering it and the HMAC-SHA256
// over the pseudo-header, a 12-byte VRRPv3 message and the trailer.
func BenchmarkSealHMAC(b *testing.B) {
	tx := mustHMAC(b, testConfig(b))
	buf := make([]byte, 0, 64)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		if _, _, err := tx.Seal(append(buf[:0], v3Msg...), v3Msg, h1, now); err != nil {
			b.Fatal(err)
		}
	}
}

// Verifying one advert with auth_hmac: layout, freshness, key, HMAC and
// the replay check and record. The adverts are sealed beforehand; when
// they run out the sender is forgotten and they are verified again.
func BenchmarkVerifyHMAC(b *testing.B) {
	tx := mustHMAC(b, testConfig(b))
	type pkt struct {
		msg, tr []byte
		at      time.Time
	}
	pkts := make([]pkt, 1024)
	for i := range pkts {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		m, tr, _ := sealAt(b, tx, h1, at)
		pkts[i] = pkt{m, tr, at}
	}
	rx := mustHMAC(b, testConfig(b))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(pkts) {
			rx.Forget(h1)
			i = 0
		}
		if _, err := rx.Verify(pkts[i].msg, pkts[i].tr, h1, pkts[i].at); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
