package vrrp

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
)

// Tests of the loop's order of events, with a transport fed by hand and
// the loop held busy by a command that waits (inside a testing/synctest
// bubble: time is fake and moves only when every goroutine waits).

// handTransport delivers the packets put to it, with the time they
// waited in it as their Age (as a socket's receive stamp gives), and
// records what is sent.
type handTransport struct {
	mu       sync.Mutex
	queue    []handPacket
	notify   chan struct{}
	sent     []uint8 // VRIDs
	sendHook func(vrid uint8)
	closed   chan struct{}
}

type handPacket struct {
	p    advert.Packet
	at   time.Time
	step time.Duration // added to the age it reports
}

func newHandTransport() *handTransport {
	return &handTransport{notify: make(chan struct{}, 1), closed: make(chan struct{})}
}

// putStepped queues p as arrived now, but with step added to the age
// ReceiveBatch reports: a socket's age after the wall clock stepped
// forward by step.
func (t *handTransport) putStepped(p advert.Packet, step time.Duration) {
	t.mu.Lock()
	t.queue = append(t.queue, handPacket{p: p, at: time.Now(), step: step})
	t.mu.Unlock()
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// put queues p as arrived now (less p.Age).
func (t *handTransport) put(p advert.Packet) {
	t.mu.Lock()
	t.queue = append(t.queue, handPacket{p: p, at: time.Now().Add(-p.Age)})
	t.mu.Unlock()
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

func (t *handTransport) Open(context.Context, Endpoint) (Transport, error) { return t, nil }
func (t *handTransport) LocalAddr() netip.Addr                             { return netip.MustParseAddr("10.0.0.2") }
func (t *handTransport) Close() error {
	select {
	case <-t.closed:
	default:
		close(t.closed)
	}
	return nil
}

func (t *handTransport) SendBatch(ps []advert.Packet) (int, error) { return SendEach(ps, t.send) }

func (t *handTransport) send(p *advert.Packet) error {
	t.mu.Lock()
	t.sent = append(t.sent, p.Msg[1])
	hook := t.sendHook
	t.mu.Unlock()
	if hook != nil {
		hook(p.Msg[1])
	}
	return nil
}

func (t *handTransport) sends() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sent)
}

func (t *handTransport) Link() (bool, <-chan struct{}) { return true, nil }

func (t *handTransport) WaitReceive() error {
	for {
		t.mu.Lock()
		n := len(t.queue)
		t.mu.Unlock()
		if n > 0 {
			return nil
		}
		select {
		case <-t.notify:
		case <-t.closed:
			return errors.New("closed")
		}
	}
}

func (t *handTransport) ReceiveBatch(ps []advert.Packet, bufs [][]byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for ; n < len(ps) && len(t.queue) > 0; n++ {
		q := t.queue[0]
		t.queue = t.queue[1:]
		k := copy(bufs[n], q.p.Msg)
		ps[n] = q.p
		ps[n].Msg = bufs[n][:k]
		ps[n].Age = time.Since(q.at) + q.step
	}
	return n, nil
}

// masterAdvert is an advert of VRID vrid from the master 10.0.0.1 at
// priority 200, 1 s interval, listing 10.0.vrid.100.
func masterAdvert(t *testing.T, vrid uint8, age time.Duration) advert.Packet {
	t.Helper()
	src := netip.MustParseAddr("10.0.0.1")
	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: vrid, Priority: 200, Interval: time.Second,
		Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, vrid, 100})}}
	msg, err := a.Append(nil, src, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	return advert.Packet{Src: src, Dst: advert.GroupIPv4, HopLimit: 255, Msg: msg, Age: age}
}

// advertWithInterval re-encodes p's advert with another interval.
func advertWithInterval(t *testing.T, p advert.Packet, interval time.Duration) []byte {
	t.Helper()
	var a advert.Advert
	if _, err := a.Decode(p.Msg, p.Src, p.Dst, advert.ChecksumStandard); err != nil {
		t.Fatal(err)
	}
	a.Interval = interval
	msg, err := a.Append(nil, p.Src, p.Dst, advert.ChecksumStandard)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func backupConfig(vrid uint8) Config {
	return Config{Name: "VI_" + string('0'+vrid), VRID: int(vrid), Interface: "eth0", Priority: 100,
		VIPs: []VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, vrid, 100}), 24)}}}
}

// busy holds the loop inside a command until the returned func is called.
func busy(n *Node) (release func()) {
	held, done := make(chan struct{}), make(chan struct{})
	n.do(func(*core, time.Time) {
		close(held)
		<-done
	})
	<-held
	return func() { close(done) }
}

// RFC 5798 §6.4.2: a backup that receives an advert resets its
// Master_Down_Timer. An advert that arrived before the timer ran out, but
// waited while the loop was busy, still counts: with both the timer and
// the packet ready when the loop gets to them, the packet goes first and
// there is no takeover.
func TestQueuedAdvertBeforeDeadlineBeatsDueDownTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newHandTransport()
		n, _ := NewNode(NodeConfig{Network: tr})
		r, err := n.Add(backupConfig(1))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		mdi := MasterDownInterval(3, 100, time.Second)
		tr.put(masterAdvert(t, 1, 0))
		last := time.Now()
		synctest.Wait()
		// Many rounds: the loop's select picks among ready cases at
		// random, and the old loop took the timer first half the time.
		for round := range 20 {
			// Just before the deadline, the loop gets busy; an advert
			// arrives (the receive goroutine reads and queues it); the
			// deadline passes; then the loop is free.
			time.Sleep(time.Until(last.Add(mdi - 100*time.Millisecond)))
			release := busy(n)
			tr.put(masterAdvert(t, 1, 0))
			last = time.Now()
			synctest.Wait()
			time.Sleep(200 * time.Millisecond)
			release()
			synctest.Wait()
			if st := r.State(); st != Backup || tr.sends() != 0 {
				t.Fatalf("round %d: %v after %d adverts sent; the queued advert should have kept it Backup", round, st, tr.sends())
			}
		}
		cancel()
		<-done
	})
}

// The down timer runs from the advert's arrival, not from when the loop
// got to it: the time it waited in the transport while the loop was busy
// (the transport's Packet.Age, from the kernel's stamp on a socket) does
// not delay a takeover.
func TestDownTimerRunsFromArrival(t *testing.T) {
	for _, wait := range []time.Duration{300 * time.Millisecond, 700 * time.Millisecond} {
		t.Run(wait.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newHandTransport()
				n, _ := NewNode(NodeConfig{Network: tr})
				r, err := n.Add(backupConfig(1))
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- n.Run(ctx) }()
				synctest.Wait()
				for range r.Events() {
					if r.State() == Backup {
						break
					}
				}
				time.Sleep(time.Second) // the transport has been empty a while
				synctest.Wait()
				release := busy(n)
				arrived := time.Now()
				tr.put(masterAdvert(t, 1, 0))
				synctest.Wait()
				time.Sleep(wait)
				release()
				for ev := range r.Events() {
					if ev.Kind == EventState && ev.To == Master {
						want := arrived.Add(MasterDownInterval(3, 100, time.Second))
						if !ev.Time.Equal(want) {
							t.Errorf("master at arrival%+v, want arrival+Master_Down_Interval (%v)",
								ev.Time.Sub(arrived), MasterDownInterval(3, 100, time.Second))
						}
						break
					}
				}
				cancel()
				<-done
			})
		})
	}
}

// A clock step cannot shorten a down timer: a transport's Packet.Age,
// which a socket computes from the wall clock, is bounded by the last read
// that found the transport empty (a +0.9 s NTP step made a backup with a
// live master take over at 100 ms adverts).
func TestClockStepDoesNotShortenTheDownTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newHandTransport()
		n, _ := NewNode(NodeConfig{Network: tr})
		cfg := backupConfig(1)
		cfg.Interval = 100 * time.Millisecond
		r, err := n.Add(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		synctest.Wait()
		// A live master's adverts every 100 ms, each stamped as if it had
		// arrived 900 ms earlier: the wall clock stepped forward.
		for range 30 {
			p := masterAdvert(t, 1, 0)
			p.Msg = advertWithInterval(t, p, 100*time.Millisecond)
			tr.putStepped(p, 900*time.Millisecond)
			time.Sleep(100 * time.Millisecond)
			if st := r.State(); st == Master {
				t.Fatalf("a backup with a live master became master: ages from a stepped clock shortened its down timer")
			}
		}
		cancel()
		<-done
	})
}

// A timer batch sends every due advert before any of its state changes
// are logged, evented or handed to the backend; and so do timers that run
// out shortly after one another (within holdWindow).
func TestTimerBatchSendsBeforeItsOtherWork(t *testing.T) {
	for _, spacing := range []time.Duration{0, 200 * time.Microsecond} {
		t.Run(spacing.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newHandTransport()
				var mu sync.Mutex
				var order []string
				rec := &orderBackend{mu: &mu, order: &order}
				// Log lines go into the order too.
				logged := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
					zapcore.AddSync(io.Discard), zapcore.InfoLevel), zap.Hooks(func(e zapcore.Entry) error {
					mu.Lock()
					defer mu.Unlock()
					order = append(order, "log "+e.Message)
					return nil
				}))
				tr.sendHook = func(vrid uint8) {
					mu.Lock()
					defer mu.Unlock()
					order = append(order, "send "+string('0'+vrid))
				}
				n, _ := NewNode(NodeConfig{Network: tr, Logger: logged})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- n.Run(ctx) }()
				// Added spacing apart (at once: their down timers run out
				// together, in one batch).
				start := time.Now()
				var routers []*Router
				for vrid := uint8(1); vrid <= 5; vrid++ {
					c := backupConfig(vrid)
					c.Backend = rec
					r, err := n.Add(c)
					if err != nil {
						t.Fatal(err)
					}
					routers = append(routers, r)
					time.Sleep(spacing)
				}
				synctest.Wait()
				mu.Lock()
				order = order[:0] // the starts
				mu.Unlock()
				time.Sleep(time.Until(start.Add(MasterDownInterval(3, 100, time.Second) + 50*time.Millisecond)))
				synctest.Wait()
				for _, r := range routers {
					if r.State() != Master {
						t.Fatalf("%s: %v", r.Name(), r.State())
					}
				}
				mu.Lock()
				got := append([]string(nil), order...)
				mu.Unlock()
				sends := 0
				for i, s := range got {
					if len(s) > 4 && s[:4] == "send" {
						if i != sends {
							t.Fatalf("order %v: an advert went out after other work", got)
						}
						sends++
					}
				}
				if sends != 5 {
					t.Fatalf("order %v: want 5 adverts first", got)
				}
				cancel()
				<-done
			})
		})
	}
}

// orderBackend records its calls in a shared order.
type orderBackend struct {
	mu    *sync.Mutex
	order *[]string
}

func (b *orderBackend) note(op string, set AddressSet) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.order = append(*b.order, op+" "+set.Router)
	return nil
}

func (b *orderBackend) Acquire(_ context.Context, s AddressSet) error  { return b.note("acquire", s) }
func (b *orderBackend) Release(_ context.Context, s AddressSet) error  { return b.note("release", s) }
func (b *orderBackend) Announce(_ context.Context, s AddressSet) error { return b.note("announce", s) }

// In a takeover of many routers whose down timers run out one after
// another, their backends start only once no advert is due within
// holdWindow: every advert goes out before the address changes compete
// with them. A steady stream of deadlines delays the backends maxHold at
// most.
func TestBackendsWaitForTheDueAdverts(t *testing.T) {
	for _, c := range []struct {
		name    string
		routers int
		spacing time.Duration // between the routers' down timers
	}{
		{"burst", 10, 100 * time.Microsecond},
		{"stream", 40, time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newHandTransport()
				var mu sync.Mutex
				var firstAcquire time.Time
				var lastSend time.Time
				rec := funcBackend(func(op string) {
					mu.Lock()
					defer mu.Unlock()
					if op == "acquire" && firstAcquire.IsZero() {
						firstAcquire = time.Now()
					}
				})
				tr.sendHook = func(uint8) {
					mu.Lock()
					defer mu.Unlock()
					lastSend = time.Now()
				}
				n, _ := NewNode(NodeConfig{Network: tr})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- n.Run(ctx) }()
				// Added one after another, so their down timers run
				// out c.spacing apart.
				start := time.Now()
				for i := range c.routers {
					cfg := backupConfig(uint8(i + 1))
					cfg.Backend = rec
					if _, err := n.Add(cfg); err != nil {
						t.Fatal(err)
					}
					time.Sleep(c.spacing)
				}
				mdi := MasterDownInterval(3, 100, time.Second)
				time.Sleep(time.Until(start.Add(mdi + time.Duration(c.routers)*c.spacing + 100*time.Millisecond)))
				mu.Lock()
				acquired, sent := firstAcquire, lastSend
				mu.Unlock()
				firstDue := start.Add(mdi)
				switch {
				case acquired.IsZero():
					t.Error("no acquire")
				case c.name == "burst" && acquired.Before(sent):
					t.Errorf("first acquire %v after the first deadline, before the last advert (%v)",
						acquired.Sub(firstDue), sent.Sub(firstDue))
				case c.name == "stream" && acquired.Sub(firstDue) > newHoldPolicy().max:
					t.Errorf("first acquire %v after the first deadline, want within the hold's max %v",
						acquired.Sub(firstDue), newHoldPolicy().max)
				}
				cancel()
				<-done
			})
		})
	}
}

// funcBackend calls f with each operation.
type funcBackend func(op string)

func (f funcBackend) Acquire(context.Context, AddressSet) error  { f("acquire"); return nil }
func (f funcBackend) Release(context.Context, AddressSet) error  { f("release"); return nil }
func (f funcBackend) Announce(context.Context, AddressSet) error { f("announce"); return nil }
