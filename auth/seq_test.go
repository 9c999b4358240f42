package auth

import (
	"errors"
	"math"
	"net/netip"
	"testing"
)

// keepalivedPeer models keepalived's AH sequence numbers (keepalived/vrrp/
// vrrp.c): ONE counter per instance, shared by send and receive.
// vrrp_update_pkt increments it for each advert sent; vrrp_in_chk_ipsecah,
// once the ICV verified, accepts a packet iff its number is above the
// counter, and then sets the counter to it. (The "cycle" flag, set when the
// counter passes 0xFFFFFFFD, plays no part: these numbers are far below.)
type keepalivedPeer struct {
	addr    netip.Addr
	counter uint32
}

// send seals keepalived's next advert.
func (k *keepalivedPeer) send(t *testing.T, dst netip.Addr) sealed {
	k.counter++
	return seal(t, NewAH(key12345, false, 0), k.addr, dst, k.counter)
}

// receive reports whether keepalived accepts p.
func (k *keepalivedPeer) receive(t *testing.T, p sealed) bool {
	// The ICV is checked first, and must hold (a fresh AH has no replay
	// state, so only the ICV and layout are checked here).
	if err := p.verify(NewAH(key12345, false, 0)); err != nil {
		t.Fatalf("keepalived would reject the ICV: %v", err)
	}
	seq := uint32(p.ah[8])<<24 | uint32(p.ah[9])<<16 | uint32(p.ah[10])<<8 | uint32(p.ah[11])
	if seq > k.counter {
		k.counter = seq
		return true
	}
	return false
}

// vrrpkitPeer is a router running this package.
type vrrpkitPeer struct {
	addr netip.Addr
	ah   *AH
}

func (v *vrrpkitPeer) send(t *testing.T, dst netip.Addr) sealed {
	seq, err := v.ah.NextSeq()
	if err != nil {
		t.Fatal(err)
	}
	return seal(t, v.ah, v.addr, dst, seq)
}

func (v *vrrpkitPeer) receive(p sealed) error { return p.verify(v.ah) }

// The failure keepalived has: two masters whose counters are equal (a
// partition heals after both counted the same adverts) send at the same
// moments, each counter goes up by one for its own advert, and each then
// rejects the other's advert as a replay — every interval, forever, so
// neither ever learns of the other and both stay master.
func TestKeepalivedPairInLockstepNeverHeals(t *testing.T) {
	a := &keepalivedPeer{addr: h1, counter: 100}
	b := &keepalivedPeer{addr: h2, counter: 100}
	for round := range 10 {
		pa, pb := a.send(t, group4), b.send(t, group4)
		if a.receive(t, pb) || b.receive(t, pa) {
			t.Fatalf("round %d: a keepalived peer accepted the other's advert; the model is wrong", round)
		}
	}
}

// vrrpkit's rule 1 (replay state per sender) heals the same lockstep at
// once: each router accepts the other's advert, whose number is above the
// last one it accepted from that sender.
func TestVrrpkitPairInLockstepHeals(t *testing.T) {
	a := &vrrpkitPeer{h1, NewAH(key12345, false, 100)}
	b := &vrrpkitPeer{h2, NewAH(key12345, false, 100)}
	for round := range 10 {
		pa, pb := a.send(t, group4), b.send(t, group4)
		if err := a.receive(pb); err != nil {
			t.Fatalf("round %d: a rejected b: %v", round, err)
		}
		if err := b.receive(pa); err != nil {
			t.Fatalf("round %d: b rejected a: %v", round, err)
		}
	}
}

// A vrrpkit master and a keepalived master in lockstep: keepalived rejects
// ours (its counter went up with its own advert) but we accept its, so we
// learn of it. If it has the higher priority we become backup; if we do, we
// answer its lower-priority advert at once (as keepalived does, "forcing new
// election"), and rule 2 numbers that answer above everything we accepted,
// so keepalived accepts it, sees our priority and backs off.
func TestMixedPairInLockstepHeals(t *testing.T) {
	v := &vrrpkitPeer{h1, NewAH(key12345, false, 100)}
	k := &keepalivedPeer{addr: h2, counter: 100}
	pv, pk := v.send(t, group4), k.send(t, group4)
	if err := v.receive(pk); err != nil {
		t.Fatalf("vrrpkit rejected keepalived's advert: %v", err)
	}
	if k.receive(t, pv) {
		t.Fatal("keepalived accepted an advert numbered like its own; the model is wrong")
	}
	answer := v.send(t, group4)
	if !k.receive(t, answer) {
		t.Fatalf("keepalived (counter %d) rejected vrrpkit's answer %x", k.counter, answer.ah[8:12])
	}
	// keepalived is backup now and silent; our adverts keep being accepted.
	for range 5 {
		if !k.receive(t, v.send(t, group4)) {
			t.Fatal("keepalived rejected a later advert")
		}
	}
}

// keepalived → vrrpkit: a restarted vrrpkit router has no replay state and
// accepts a keepalived master's adverts whatever their numbers.
func TestRestartedVrrpkitAcceptsKeepalived(t *testing.T) {
	k := &keepalivedPeer{addr: h2, counter: 57}
	v := &vrrpkitPeer{h1, NewAH(key12345, false, 1_800_000_000)} // started at Unix time
	for range 3 {
		if err := v.receive(k.send(t, group4)); err != nil {
			t.Fatal(err)
		}
	}
}

// keepalived → vrrpkit: keepalived restarts and counts from 0 again, below
// what we accepted from it before, so we reject it — until it hears one of
// our adverts (keepalived then jumps its counter to our number) and sends
// again, above both. The driver may also Forget a peer it knows restarted.
func TestRestartedKeepalivedIsAcceptedAgain(t *testing.T) {
	v := &vrrpkitPeer{h1, NewAH(key12345, false, 1_800_000_000)}
	k := &keepalivedPeer{addr: h2, counter: 500}
	if err := v.receive(k.send(t, group4)); err != nil {
		t.Fatal(err)
	}
	k.counter = 0 // restart
	restarted := k.send(t, group4)
	if err := v.receive(restarted); !errors.Is(err, ErrReplay) {
		t.Fatalf("a restarted keepalived's advert 1 after 501: %v, want ErrReplay", err)
	}
	if !k.receive(t, v.send(t, group4)) {
		t.Fatal("keepalived rejected our advert after its restart")
	}
	if err := v.receive(k.send(t, group4)); err != nil {
		t.Fatalf("keepalived's advert after hearing ours: %v", err)
	}

	// Or at once, with Forget.
	w := &vrrpkitPeer{h3, NewAH(key12345, false, 0)}
	k.counter = 500
	if err := w.receive(k.send(t, group4)); err != nil {
		t.Fatal(err)
	}
	k.counter = 0
	w.ah.Forget(h2)
	if err := w.receive(k.send(t, group4)); err != nil {
		t.Fatalf("after Forget: %v", err)
	}
}

// vrrpkit → keepalived: we take over from a keepalived master whose counter
// is far above our own last number (say we started with a low initial
// value). Rule 2 numbers our first advert above the highest number we
// accepted, which is keepalived's counter, so it accepts it. Counting from
// our own last number alone, it would reject ours for hundreds of intervals.
func TestNewVrrpkitMasterIsAcceptedByKeepalived(t *testing.T) {
	k := &keepalivedPeer{addr: h2, counter: 0}
	v := &vrrpkitPeer{h1, NewAH(key12345, false, 0)}
	var last sealed
	for range 500 {
		last = k.send(t, group4)
	}
	if err := v.receive(last); err != nil {
		t.Fatal(err)
	}
	// keepalived goes quiet (say it lost its uplink's tracker and went to
	// backup without a priority 0 advert); we become master.
	p := v.send(t, group4)
	if !k.receive(t, p) {
		t.Fatalf("keepalived (counter %d) rejected our first advert as master", k.counter)
	}
}

// vrrpkit → keepalived: a restarted vrrpkit router counts from the Unix
// time (rule 3), above any keepalived counter (which grows by about one a
// second at most, from 0 when keepalived started), so keepalived accepts its
// first advert without our having heard anything.
func TestRestartedVrrpkitIsAcceptedByKeepalived(t *testing.T) {
	k := &keepalivedPeer{addr: h2, counter: 86_400 * 365} // a year of adverts
	v := &vrrpkitPeer{h1, NewAH(key12345, false, 1_800_000_000)}
	if !k.receive(t, v.send(t, group4)) {
		t.Fatal("keepalived rejected a restarted vrrpkit router's first advert")
	}
}

// Rule 1: the replay check is per sender. A second router numbering below
// the first is not a replay (keepalived's single counter would call it one);
// each sender's own old numbers are.
func TestReplayIsPerSender(t *testing.T) {
	rx := NewAH(key12345, false, 0)
	if err := seal(t, NewAH(key12345, false, 0), h2, group4, 10).verify(rx); err != nil {
		t.Fatal(err)
	}
	if err := seal(t, NewAH(key12345, false, 0), h3, group4, 5).verify(rx); err != nil {
		t.Fatalf("5 from 10.0.0.3 after 10 from 10.0.0.2: %v", err)
	}
	for _, seq := range []uint32{10, 9, 1} {
		if err := seal(t, NewAH(key12345, false, 0), h2, group4, seq).verify(rx); !errors.Is(err, ErrReplay) {
			t.Errorf("%d from 10.0.0.2 after 10: %v, want ErrReplay", seq, err)
		}
	}
	if err := seal(t, NewAH(key12345, false, 0), h2, group4, 11).verify(rx); err != nil {
		t.Fatal(err)
	}
	if last, highest := rx.Seqs(); last != 0 || highest != 11 {
		t.Errorf("Seqs() = %d, %d; want 0, 11", last, highest)
	}
	if seq, _ := rx.NextSeq(); seq != 12 {
		t.Errorf("NextSeq() = %d, want 12 (rule 2)", seq)
	}
}

// Rule 2 and 3: numbering starts above the initial value, goes up by one per
// advert, and jumps above anything accepted.
func TestNextSeq(t *testing.T) {
	a := NewAH(key12345, false, 1000)
	for want := uint32(1001); want < 1004; want++ {
		if got, err := a.NextSeq(); err != nil || got != want {
			t.Fatalf("NextSeq() = %d, %v; want %d", got, err, want)
		}
	}
	if err := seal(t, NewAH(key12345, false, 0), h2, group4, 5000).verify(a); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.NextSeq(); got != 5001 {
		t.Errorf("NextSeq() after accepting 5000 = %d, want 5001", got)
	}
	// Sealing with an explicit number counts as sending it.
	seal(t, a, h1, group4, 9000)
	if got, _ := a.NextSeq(); got != 9001 {
		t.Errorf("NextSeq() after sealing 9000 = %d, want 9001", got)
	}
}

// RFC 4302 §3.3.3: the sequence number never cycles. Past 2^32-1 there is
// no number left that a receiver would accept.
func TestSeqExhausted(t *testing.T) {
	if _, err := NewAH(key12345, false, math.MaxUint32).NextSeq(); !errors.Is(err, ErrSeqExhausted) {
		t.Errorf("NextSeq at 2^32-1: %v, want ErrSeqExhausted", err)
	}
}

// A key holder that sends 2^32-1 pins a counter kept the way keepalived
// keeps it; ours counts on from the last number we sent instead, which
// our peers accept (their replay check is per sender), and the peer that
// pinned it stays refused below its mark.
func TestPinnedCounterDoesNotStopSending(t *testing.T) {
	a := NewAH(key12345, false, 1000)
	if err := seal(t, NewAH(key12345, false, 0), h2, group4, math.MaxUint32).verify(a); err != nil {
		t.Fatal(err)
	}
	got, err := a.NextSeq()
	if err != nil || got != 1001 {
		t.Fatalf("NextSeq after accepting 2^32-1 = %d, %v; want 1001 (our own count)", got, err)
	}
	if err := seal(t, NewAH(key12345, false, 0), h2, group4, 5000).verify(a); !errors.Is(err, ErrReplay) {
		t.Errorf("the pinning sender's next packet: %v, want ErrReplay", err)
	}
}

// The table of senders is fed by the network and bounded: beyond
// MaxSenders, the sender heard from least recently is forgotten (and its
// next packet accepted whatever its number, as after Forget). Only packets
// with a valid ICV get this far.
func TestSenderTableIsBounded(t *testing.T) {
	rx := NewAH(key12345, false, 0)
	tx := NewAH(key12345, false, 0)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }
	for i := range MaxSenders + 10 {
		if err := seal(t, tx, addr(i), group4, 100).verify(rx); err != nil {
			t.Fatal(err)
		}
		// Sender 0 keeps talking: it is never the least recent.
		if err := seal(t, tx, addr(0), group4, uint32(101+i)).verify(rx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(rx.senders); n != MaxSenders {
		t.Errorf("%d senders remembered, want %d", n, MaxSenders)
	}
	if _, ok := rx.Accepted(addr(0)); !ok {
		t.Error("the busiest sender was forgotten")
	}
	for i := 1; i <= 10; i++ {
		if _, ok := rx.Accepted(addr(i)); ok {
			t.Errorf("sender %d, among the least recent, is still remembered", i)
		}
	}
	last := addr(MaxSenders + 9)
	if seq, ok := rx.Accepted(last); !ok || seq != 100 {
		t.Errorf("the latest sender: %d, %v", seq, ok)
	}
	if err := seal(t, tx, last, group4, 100).verify(rx); !errors.Is(err, ErrReplay) {
		t.Errorf("replay from a remembered sender: %v, want ErrReplay", err)
	}
}

// group4 is the VRRP group 224.0.0.18 (auth does not import advert).
var group4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
