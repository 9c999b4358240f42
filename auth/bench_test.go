package auth

import (
	"testing"
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
