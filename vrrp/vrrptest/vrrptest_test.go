package vrrptest_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestManualClockTimers(t *testing.T) {
	c := vrrptest.NewManualClock(t0)
	tm := c.NewTimer(time.Second)
	c.Advance(999 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("fired early")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-tm.C(); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("fired with %v", got)
	}
	// Go 1.23 semantics: no stale value after Reset or Stop.
	tm.Reset(time.Second)
	c.Advance(time.Second)
	if tm.Stop() {
		t.Fatal("Stop of a fired timer reported active")
	}
	select {
	case <-tm.C():
		t.Fatal("stale value after Stop")
	default:
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a stopped timer reported active")
	}
	if !tm.Reset(2 * time.Second) {
		t.Fatal("Reset of a pending timer reported inactive")
	}
	if next, ok := c.Next(); !ok || !next.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("Next = %v %v", next, ok)
	}
	if !c.Step() || !c.Now().Equal(t0.Add(4*time.Second)) || c.Pending() != 0 {
		t.Fatalf("Step: now %v pending %d", c.Now(), c.Pending())
	}
}

func TestManualClockPendingAtCountsTimersDueThen(t *testing.T) {
	c := vrrptest.NewManualClock(t0)
	a := c.NewTimer(time.Second)
	c.NewTimer(time.Second)
	c.AfterFunc(time.Second, func() {})
	c.NewTimer(2 * time.Second)
	if got := c.PendingAt(t0.Add(time.Second)); got != 3 {
		t.Fatalf("PendingAt(1 s) = %d, want 3", got)
	}
	if got := c.PendingAt(t0.Add(1500 * time.Millisecond)); got != 0 {
		t.Fatalf("PendingAt(1.5 s) = %d, want 0", got)
	}
	a.Stop()
	if got := c.PendingAt(t0.Add(time.Second)); got != 2 {
		t.Fatalf("after Stop: PendingAt(1 s) = %d, want 2", got)
	}
	a.Reset(time.Second) // from now, t0: due at 1 s again
	c.Advance(time.Second)
	if got, rest := c.PendingAt(t0.Add(time.Second)), c.PendingAt(t0.Add(2*time.Second)); got != 0 || rest != 1 {
		t.Fatalf("after firing: PendingAt(1 s) = %d, PendingAt(2 s) = %d, want 0 and 1", got, rest)
	}
}

// Transport.Link: the channel closes when LocalAddr changes, not when an
// address that is not LocalAddr comes or goes.
func TestLANSignalsLocalAddrChanges(t *testing.T) {
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Clock: vrrptest.NewManualClock(t0)})
	h := lan.AddHost(vrrptest.HostConfig{Name: "a"}) // no IPv4 address
	tr, err := h.Open(context.Background(), vrrp.Endpoint{Interface: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	lm := tr
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	ll := h.Addr(true)
	_, changed := lm.Link()
	first := netip.MustParseAddr("10.0.0.1")
	h.SetAddrs(first, ll)
	if !closed(changed) {
		t.Fatal("an address appearing did not close the channel")
	}
	if got := tr.LocalAddr(); got != first {
		t.Fatalf("LocalAddr %v, want %v", got, first)
	}
	_, changed = lm.Link()
	h.SetAddrs(first, netip.MustParseAddr("10.0.0.2"), ll)
	if closed(changed) {
		t.Fatal("a second address, LocalAddr unchanged, closed the channel")
	}
	h.SetAddrs(ll)
	if !closed(changed) || tr.LocalAddr().IsValid() {
		t.Fatalf("removing LocalAddr: channel closed %v, LocalAddr %v", closed(changed), tr.LocalAddr())
	}
}

type pair struct {
	lan  *vrrptest.LAN
	c    *vrrptest.ManualClock
	a, b *vrrptest.Host
	ta   vrrp.Transport
	tb   vrrp.Transport
}

func newPair(t *testing.T, seed uint64, link vrrptest.LinkConfig) *pair {
	c := vrrptest.NewManualClock(t0)
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Seed: seed, Clock: c, Link: link})
	p := &pair{lan: lan, c: c,
		a: lan.AddHost(vrrptest.HostConfig{Name: "a", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}}),
		b: lan.AddHost(vrrptest.HostConfig{Name: "b", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}})}
	var err error
	if p.ta, err = p.a.Open(context.Background(), vrrp.Endpoint{Interface: "eth0"}); err != nil {
		t.Fatal(err)
	}
	if p.tb, err = p.b.Open(context.Background(), vrrp.Endpoint{Interface: "eth0"}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pair) send(t *testing.T, n int) {
	for i := range n {
		if err := vrrptest.Send(p.ta, &advert.Packet{Dst: advert.GroupIPv4, Msg: []byte{0x31, 1, byte(i), 0}}); err != nil {
			t.Fatal(err)
		}
	}
}

// received drains b's transport in a goroutine-free way: Receive blocks,
// so only call it for packets known to be queued.
func (p *pair) received(t *testing.T, n int) []byte {
	var out []byte
	buf := make([]byte, 64)
	for range n {
		var pk advert.Packet
		if err := vrrptest.Receive(p.tb, &pk, buf); err != nil {
			t.Fatal(err)
		}
		out = append(out, pk.Msg[2])
	}
	return out
}

func TestLANIsDeterministicForASeed(t *testing.T) {
	link := vrrptest.LinkConfig{Loss: 0.2, Delay: time.Millisecond, Jitter: time.Millisecond, Duplicate: 0.1, Reorder: 0.2}
	run := func(seed uint64) (vrrptest.LANStats, []byte) {
		p := newPair(t, seed, link)
		p.send(t, 200)
		p.c.Advance(time.Second)
		st := p.lan.Stats()
		return st, p.received(t, int(st.Delivered))
	}
	s1, o1 := run(7)
	s2, o2 := run(7)
	s3, _ := run(8)
	if s1 != s2 || string(o1) != string(o2) {
		t.Fatalf("same seed, different runs: %+v %+v", s1, s2)
	}
	if s1 == s3 {
		t.Fatalf("different seeds, same stats %+v", s1)
	}
	if s1.Lost == 0 || s1.Duplicated == 0 {
		t.Fatalf("no loss or duplication: %+v", s1)
	}
	reordered := false
	for i := 1; i < len(o1); i++ {
		reordered = reordered || o1[i] < o1[i-1]
	}
	if !reordered {
		t.Fatal("no reordering")
	}
}

func TestLANKeepsOrderWithoutReorder(t *testing.T) {
	p := newPair(t, 3, vrrptest.LinkConfig{Delay: time.Millisecond, Jitter: 5 * time.Millisecond})
	p.send(t, 100)
	p.c.Advance(time.Second)
	o := p.received(t, 100)
	for i := 1; i < len(o); i++ {
		if o[i] < o[i-1] {
			t.Fatalf("packet %d overtook %d", o[i], o[i-1])
		}
	}
}

func TestLANPartitionLinkCrashAndFailure(t *testing.T) {
	p := newPair(t, 1, vrrptest.LinkConfig{})
	p.lan.Partition([]string{"a"}, []string{"b"})
	p.send(t, 1)
	p.c.Advance(time.Second)
	if st := p.lan.Stats(); st.Delivered != 0 || st.Blocked != 1 {
		t.Fatalf("partition: %+v", st)
	}
	p.lan.Heal()
	lm := p.tb
	up, changed := lm.Link()
	p.b.SetLinkUp(false)
	select {
	case <-changed:
	default:
		t.Fatal("link change not signalled")
	}
	if up2, _ := lm.Link(); !up || up2 {
		t.Fatalf("link up %v then %v", up, up2)
	}
	p.send(t, 1)
	p.c.Advance(time.Second)
	if st := p.lan.Stats(); st.Delivered != 0 {
		t.Fatalf("link down: %+v", st)
	}
	p.b.SetLinkUp(true)
	boom := errors.New("boom")
	p.b.FailReceive(boom)
	var pk advert.Packet
	if err := vrrptest.Receive(p.tb, &pk, make([]byte, 64)); !errors.Is(err, boom) {
		t.Fatalf("Receive after FailReceive: %v", err)
	}
	p.a.Crash()
	if err := vrrptest.Send(p.ta, &advert.Packet{Dst: advert.GroupIPv4, Msg: []byte{1}}); err == nil {
		t.Fatal("Send on a crashed host succeeded")
	}
	if _, err := p.a.Open(context.Background(), vrrp.Endpoint{Interface: "eth0"}); err == nil {
		t.Fatal("Open on a crashed host succeeded")
	}
	p.a.Restart()
	if _, err := p.a.Open(context.Background(), vrrp.Endpoint{Interface: "eth1"}); err == nil {
		t.Fatal("Open of a missing interface succeeded")
	}
}
