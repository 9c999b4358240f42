package auth

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// kaHMAC models keepalived 2.4.3's auth_hmac sequences
// (keepalived/vrrp/vrrp_auth_hmac.c), for the scenarios below. Send: the
// clock's sequence when it is newer than the last one sent, else the last
// plus one — except, in time mode, when the last one's seconds are ahead
// of the clock by more than the window: then the clock's. Receive, per
// sender: in time mode, a sequence whose seconds are further than the
// window from the clock is stale; a remembered mark whose seconds are
// outside the window of the clock is forgotten first; then the sequence
// must be newer than the mark, and becomes it.
type kaHMAC struct {
	timeMode bool
	window   int32
	sent     Seq
	marks    map[netip.Addr]Seq
}

func newKA(timeMode bool) *kaHMAC {
	return &kaHMAC{timeMode: timeMode, window: 5, marks: map[netip.Addr]Seq{}}
}

func (k *kaHMAC) next(now time.Time) Seq {
	clk := SeqAt(now)
	switch {
	case clk.After(k.sent):
		k.sent = clk
	case k.timeMode && -secondsBehind(now, k.sent.Seconds()) > k.window:
		k.sent = clk
	default:
		k.sent++
	}
	return k.sent
}

// accepts reports whether keepalived accepts seq from src at now (the
// HMAC having verified).
func (k *kaHMAC) accepts(src netip.Addr, seq Seq, now time.Time) bool {
	if k.timeMode {
		if d := secondsBehind(now, seq.Seconds()); d > k.window || d < -k.window {
			return false
		}
	}
	mark, ok := k.marks[src]
	if ok && k.timeMode {
		if d := secondsBehind(now, mark.Seconds()); d > k.window || d < -k.window {
			ok = false
		}
	}
	if ok && !seq.After(mark) {
		return false
	}
	k.marks[src] = seq
	return true
}

// advert seals v3Msg from src with sequence seq under the shared test key.
type advert struct {
	src     netip.Addr
	seq     Seq
	msg, tr []byte
}

func advertWith(t *testing.T, src netip.Addr, seq Seq) advert {
	t.Helper()
	tr, err := mustHMAC(t, testConfig(t)).AppendTrailer(nil, v3Msg, src, seq)
	if err != nil {
		t.Fatal(err)
	}
	return advert{src: src, seq: seq, msg: v3Msg, tr: tr}
}

// send numbers and seals an advert from our sender h at now.
func send(t *testing.T, h *HMAC, src netip.Addr, now time.Time) advert {
	t.Helper()
	msg, tr, seq := sealAt(t, h, src, now)
	return advert{src: src, seq: seq, msg: msg, tr: tr}
}

func (a advert) to(h *HMAC, now time.Time) error {
	_, err := h.Verify(a.msg, a.tr, a.src, now)
	return err
}

func at(d time.Duration) time.Time { return t0.Add(d) }

// The sequence is the clock's, with the counter counting adverts sealed
// within one 1/65536 s, carrying into the sub-seconds: strictly growing.
func TestSeqFollowsTheClock(t *testing.T) {
	h := mustHMAC(t, testConfig(t))
	now := at(1500 * time.Millisecond)
	s1 := h.NextSeq(now)
	if s1 != SeqAt(now) || s1.Seconds() != uint32(now.Unix()) || s1.SubSeconds() != 32768 || s1.Counter() != 0 {
		t.Fatalf("first sequence %v at %v", s1, now)
	}
	prev := s1
	for i := range 70000 {
		s := h.NextSeq(now)
		if !s.After(prev) || s != prev+1 {
			t.Fatalf("advert %d within one instant: %v after %v", i, s, prev)
		}
		prev = s
	}
	if prev.SubSeconds() != 32769 || prev.Counter() != 70000-65536 {
		t.Errorf("after 70000 adverts in one instant: %v, want the counter carried into the sub-seconds", prev)
	}
	if s := h.NextSeq(at(2 * time.Second)); s != SeqAt(at(2*time.Second)) {
		t.Errorf("once the clock passes the count: %v, want the clock's", s)
	}
}

// A restarted router numbers from the clock again: above everything it
// sent before, so every receiver — ours and keepalived — accepts it; and
// a receiver accepts a restarted keepalived's adverts.
func TestRestartedNodeIsAccepted(t *testing.T) {
	ours, ka := mustHMAC(t, testConfig(t)), newKA(true)
	tx := mustHMAC(t, testConfig(t))
	for i := range 4 {
		a := send(t, tx, h1, at(time.Duration(i)*time.Second))
		if err := a.to(ours, at(time.Duration(i)*time.Second)); err != nil || !ka.accepts(h1, a.seq, at(time.Duration(i)*time.Second)) {
			t.Fatalf("advert %d: %v", i, err)
		}
	}
	// Crashed at 3 s, running again at 3.5 s with no state.
	restarted := mustHMAC(t, testConfig(t))
	a := send(t, restarted, h1, at(3500*time.Millisecond))
	if err := a.to(ours, at(3500*time.Millisecond)); err != nil {
		t.Errorf("the restarted router's first advert: %v", err)
	}
	if !ka.accepts(h1, a.seq, at(3500*time.Millisecond)) {
		t.Error("keepalived refuses the restarted router's first advert")
	}

	// keepalived restarted: its sequence starts from its clock.
	kaTx := newKA(true)
	s := kaTx.next(at(4 * time.Second))
	if err := advertWith(t, h1, s).to(ours, at(4*time.Second)); err != nil {
		t.Errorf("a restarted keepalived's first advert: %v", err)
	}
}

// A router whose clock went back across its restart would number below
// what receivers remember, and be refused until its clock passes it (so
// would keepalived's). ResumeAfter with the last sequence of the previous
// run, kept by the embedding program, avoids that.
func TestRestartAfterClockStepBackResumes(t *testing.T) {
	rx, ka := mustHMAC(t, testConfig(t)), newKA(true)
	a := send(t, mustHMAC(t, testConfig(t)), h1, at(10*time.Second))
	if err := a.to(rx, at(10*time.Second)); err != nil || !ka.accepts(h1, a.seq, at(10*time.Second)) {
		t.Fatal(err)
	}
	// Restarted with the clock 2 s behind.
	again := mustHMAC(t, testConfig(t))
	b := send(t, again, h1, at(8*time.Second))
	if err := b.to(rx, at(10500*time.Millisecond)); err != ErrTrailerReplay {
		t.Errorf("numbered from a clock 2 s behind: %v, want ErrTrailerReplay", err)
	}
	if ka.accepts(h1, b.seq, at(10500*time.Millisecond)) {
		t.Error("the keepalived model accepts it; the comparison is wrong")
	}
	resumed := mustHMAC(t, testConfig(t))
	resumed.ResumeAfter(a.seq)
	c := send(t, resumed, h1, at(8*time.Second))
	if c.seq != a.seq+1 {
		t.Errorf("resumed after %v: %v", a.seq, c.seq)
	}
	if err := c.to(rx, at(10500*time.Millisecond)); err != nil || !ka.accepts(h1, c.seq, at(10500*time.Millisecond)) {
		t.Errorf("resumed: %v", err)
	}
}

// A sender's clock stepped back by less than the window: it counts on
// from its last sequence, whose seconds stay within every receiver's
// window, so nothing is refused.
func TestClockStepBackWithinWindow(t *testing.T) {
	tx, ka := mustHMAC(t, testConfig(t)), newKA(true)
	rx, kaRx := mustHMAC(t, testConfig(t)), newKA(true)
	real := []time.Duration{10 * time.Second, 11 * time.Second, 12 * time.Second}
	clock := []time.Duration{10 * time.Second, 8 * time.Second, 9 * time.Second} // stepped back 3 s after the first
	var last Seq
	for i := range real {
		a := send(t, tx, h1, at(clock[i]))
		if k := ka.next(at(clock[i])); k != a.seq {
			t.Errorf("advert %d: sequence %v, keepalived's %v", i, a.seq, k)
		}
		if i > 0 && a.seq != last+1 {
			t.Errorf("advert %d: %v, want %v + 1", i, a.seq, last)
		}
		last = a.seq
		if err := a.to(rx, at(real[i])); err != nil || !kaRx.accepts(h1, a.seq, at(real[i])) {
			t.Errorf("advert %d at %v: %v", i, real[i], err)
		}
	}
}

// A sender's clock stepped forward (by an hour), then corrected: while it
// is wrong its adverts are stale to receivers with the right time, and
// their replay state does not move; once corrected, the sender leaves the
// stranded sequence for the clock's — as keepalived 2.4.3 does — and is
// accepted at once.
func TestCorrectedForwardClockStepRecovers(t *testing.T) {
	tx, ka := mustHMAC(t, testConfig(t)), newKA(true)
	rx, kaRx := mustHMAC(t, testConfig(t)), newKA(true)
	step := time.Hour
	for i, c := range []struct {
		real, clock time.Duration
		want        error
	}{
		{10 * time.Second, 10 * time.Second, nil},
		{11 * time.Second, 11*time.Second + step, ErrTrailerStale},
		{12 * time.Second, 12*time.Second + step, ErrTrailerStale},
		{13 * time.Second, 13 * time.Second, nil}, // corrected
		{14 * time.Second, 14 * time.Second, nil},
	} {
		a := send(t, tx, h1, at(c.clock))
		if k := ka.next(at(c.clock)); k != a.seq {
			t.Errorf("advert %d: sequence %v, keepalived's %v", i, a.seq, k)
		}
		if err := a.to(rx, at(c.real)); err != c.want {
			t.Errorf("advert %d, sent at %v by a clock reading %v: %v, want %v", i, c.real, c.clock, err, c.want)
		}
		if got := kaRx.accepts(h1, a.seq, at(c.real)); got != (c.want == nil) {
			t.Errorf("advert %d: keepalived accepts: %v", i, got)
		}
	}
}

// A sender's clock stepped back by more than the window: its adverts are
// stale everywhere until its clock is corrected (keepalived's too); then
// they are accepted again.
func TestClockStepBackBeyondWindow(t *testing.T) {
	tx := mustHMAC(t, testConfig(t))
	rx := mustHMAC(t, testConfig(t))
	for i, c := range []struct {
		real, clock time.Duration
		want        error
	}{
		{100 * time.Second, 100 * time.Second, nil},
		{101 * time.Second, 41 * time.Second, ErrTrailerStale}, // stepped back a minute
		{102 * time.Second, 42 * time.Second, ErrTrailerStale},
		{103 * time.Second, 103 * time.Second, nil}, // corrected
	} {
		if err := send(t, tx, h1, at(c.clock)).to(rx, at(c.real)); err != c.want {
			t.Errorf("advert %d: %v, want %v", i, err, c.want)
		}
	}
}

// A new master — a router that never sent, or one that sent long ago —
// numbers from the clock, above anything receivers remember of it.
func TestNewMasterIsAccepted(t *testing.T) {
	for _, mode := range []AntiReplay{AntiReplayTime, AntiReplayMonotonic} {
		cfg := testConfig(t)
		cfg.AntiReplay = mode
		rx, kaRx := mustHMAC(t, cfg), newKA(mode == AntiReplayTime)
		oldMaster, backup := mustHMAC(t, cfg), mustHMAC(t, cfg)
		a := send(t, oldMaster, h1, at(0))
		if err := a.to(rx, at(0)); err != nil || !kaRx.accepts(h1, a.seq, at(0)) {
			t.Fatal(err)
		}
		b := send(t, backup, h2, at(3*time.Second)) // h1 went silent: h2 takes over
		if err := b.to(rx, at(3*time.Second)); err != nil || !kaRx.accepts(h2, b.seq, at(3*time.Second)) {
			t.Errorf("%v: the new master's first advert: %v", mode, err)
		}
		c := send(t, oldMaster, h1, at(24*time.Hour)) // h1 back a day later, preempting
		if err := c.to(rx, at(24*time.Hour)); err != nil || !kaRx.accepts(h1, c.seq, at(24*time.Hour)) {
			t.Errorf("%v: the old master a day later: %v", mode, err)
		}
	}
}

// An advert whose sequence is not newer than the last one accepted from
// its sender is never accepted again: not a year later in monotonic mode
// (the captured priority-0 advert of a master that left included), and
// in time mode not within the window nor after it.
func TestOldSequenceNeverAcceptedHoweverLongAfter(t *testing.T) {
	cfg := testConfig(t)
	cfg.AntiReplay = AntiReplayMonotonic
	rx := mustHMAC(t, cfg)
	tx := mustHMAC(t, cfg)
	first := send(t, tx, h1, at(0))
	leaving := send(t, tx, h1, at(time.Second)) // its last advert, say priority 0
	for _, a := range []advert{first, leaving} {
		if err := a.to(rx, at(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	year := 365 * 24 * time.Hour
	for _, a := range []advert{first, leaving} {
		if err := a.to(rx, at(year)); err != ErrTrailerReplay {
			t.Errorf("monotonic, %v a year after: %v, want ErrTrailerReplay", a.seq, err)
		}
	}

	trx := mustHMAC(t, testConfig(t))
	if err := leaving.to(trx, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := leaving.to(trx, at(3*time.Second)); err != ErrTrailerReplay {
		t.Errorf("time mode, within the window: %v", err)
	}
	if err := leaving.to(trx, at(year)); err != ErrTrailerStale {
		t.Errorf("time mode, a year after: %v", err)
	}
}

// The replay table holds MaxSenders senders; a sender evicted from it
// leaves its mark as a floor, so its old adverts stay refused; a sender
// heard for the first time after that is accepted above the floor.
func TestEvictedSenderStaysRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.AntiReplay = AntiReplayMonotonic
	rx := mustHMAC(t, cfg)
	old := advertWith(t, h1, SeqAt(at(0)))
	if err := old.to(rx, at(0)); err != nil {
		t.Fatal(err)
	}
	for i := range MaxSenders {
		src := netip.AddrFrom4([4]byte{10, 0, 1, byte(i)})
		if err := advertWith(t, src, SeqAt(at(time.Duration(i+1)*time.Millisecond))).to(rx, at(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := rx.Accepted(h1); ok {
		t.Fatal("h1 is still in a table of MaxSenders others")
	}
	if err := old.to(rx, at(time.Hour)); err != ErrTrailerReplay {
		t.Errorf("the evicted sender's old advert: %v, want ErrTrailerReplay", err)
	}
	if err := advertWith(t, h1, SeqAt(at(time.Second))).to(rx, at(time.Hour)); err != nil {
		t.Errorf("the evicted sender's next advert: %v", err)
	}
	if err := advertWith(t, h3, SeqAt(at(1500*time.Millisecond))).to(rx, at(time.Hour)); err != nil {
		t.Errorf("a new sender above the floor: %v", err)
	}
}

// Where we refuse what keepalived 2.4.3 accepts: the whole group's clocks
// stepped forward together (receivers accepted the stepped sequences) and
// were corrected. keepalived forgets a mark outside the window and so
// accepts, once, an advert it had accepted before the step; we never do,
// and refuse the sender until its sequence passes the stranded mark (or
// Forget is called).
func TestGroupWideClockStepKeepsReplaysOut(t *testing.T) {
	rx, kaRx := mustHMAC(t, testConfig(t)), newKA(true)
	before := advertWith(t, h1, SeqAt(at(10*time.Second)))
	if err := before.to(rx, at(10*time.Second)); err != nil || !kaRx.accepts(h1, before.seq, at(10*time.Second)) {
		t.Fatal(err)
	}
	// Every clock an hour ahead from 11 s to 12 s.
	stepped := advertWith(t, h1, SeqAt(at(11*time.Second+time.Hour)))
	if err := stepped.to(rx, at(11*time.Second+time.Hour)); err != nil || !kaRx.accepts(h1, stepped.seq, at(11*time.Second+time.Hour)) {
		t.Fatal(err)
	}
	// Corrected at 12 s: the advert from 10 s replayed is within the
	// window again.
	if !kaRx.accepts(h1, before.seq, at(12*time.Second)) {
		t.Error("the keepalived model refuses the replay; the comparison is wrong")
	}
	if err := before.to(rx, at(12*time.Second)); err != ErrTrailerReplay {
		t.Errorf("the advert from before the step, replayed: %v, want ErrTrailerReplay", err)
	}
	fresh := advertWith(t, h1, SeqAt(at(13*time.Second)))
	if err := fresh.to(rx, at(13*time.Second)); err != ErrTrailerReplay {
		t.Errorf("a fresh advert below the stranded mark: %v, want ErrTrailerReplay", err)
	}
	rx.Forget(h1)
	if err := fresh.to(rx, at(13*time.Second)); err != nil {
		t.Errorf("after Forget: %v", err)
	}
}

// Serial-number arithmetic carries sequences across the seconds field's
// wrap (7 February 2106): the sequence after 2^32 − 1 s is newer, and the
// freshness window spans the wrap.
func TestSeqAcrossTheWrap(t *testing.T) {
	wrap := time.Unix(1<<32, 0)
	before, after := SeqAt(wrap.Add(-time.Second)), SeqAt(wrap.Add(time.Second))
	if before.Seconds() != 1<<32-1 || after.Seconds() != 1 || !after.After(before) || before.After(after) {
		t.Fatalf("%v then %v", before, after)
	}
	rx := mustHMAC(t, testConfig(t))
	if err := advertWith(t, h1, before).to(rx, wrap); err != nil {
		t.Fatal(err)
	}
	if err := advertWith(t, h1, after).to(rx, wrap); err != nil {
		t.Errorf("across the wrap: %v", err)
	}
	if err := advertWith(t, h1, before).to(rx, wrap); err != ErrTrailerReplay {
		t.Errorf("the older one again: %v", err)
	}
	// After 2038 a fresh sender still numbers from the clock.
	late := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	if s := mustHMAC(t, testConfig(t)).NextSeq(late); s != SeqAt(late) {
		t.Errorf("first sequence in 2040: %v, want %v", s, SeqAt(late))
	}
}

// The copies of one advert to several unicast peers share one trailer;
// each peer accepts its copy.
func TestOneSealPerAdvert(t *testing.T) {
	tx := mustHMAC(t, testConfig(t))
	b, _, err := tx.Seal(bytes.Clone(v3Msg), v3Msg, h1, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, peer := range []*HMAC{mustHMAC(t, testConfig(t)), mustHMAC(t, testConfig(t))} {
		if _, err := peer.Verify(b[:len(v3Msg)], b[len(v3Msg):], h1, t0); err != nil {
			t.Error(err)
		}
	}
}
