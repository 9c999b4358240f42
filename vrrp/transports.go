package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/advert"
)

// transportKey: routers on one interface, family and multicast group share
// a Transport.
type transportKey struct {
	iface string
	ipv6  bool
	group netip.Addr
}

// transport is the Node's side of one shared Transport: the routers on it
// by VRID, and its life (open, failed, reopening).
type transport struct {
	key     transportKey
	ep      Endpoint
	tr      Transport // nil while not open
	gen     int       // bumped at each open; stale receives are dropped
	routers [256]*Router
	count   int
	up      bool // link up and running (true without a LinkMonitor)
	// monitored: tr is a LinkMonitor, which signals LocalAddr changes;
	// otherwise a router without a source address polls for one.
	monitored bool
	stop      chan struct{}

	reopenAt   time.Time
	backoff    time.Duration
	openedAt   time.Time
	unknownLog rateLimit

	// batch is tr when the loop reads it itself (see batchTransport); nil
	// when a receive goroutine reads it.
	batch batchTransport
	// polling: the waiter said packets are waiting; the loop reads them
	// at pollAt, and again each rxCoalesce while bursts go on, then hands
	// waiting back to the waiter (rearm).
	polling bool
	pollAt  time.Time
	rearm   chan struct{}
}

// batchTransport is a Transport that a reader takes in batches
// (advert.Conn): the loop reads it itself, and a goroutine only waits for
// packets to arrive. The waiter is woken once per burst rather than once
// per packet, and the loop reads whatever waits before it acts on a timer,
// so that no advert that arrived before a deadline is left unread.
type batchTransport interface {
	// WaitReceive blocks until packets may be waiting, once: packets that
	// arrive after it returned wake nobody until it is called again.
	WaitReceive() error
	// ReceiveBatch reads the packets waiting without blocking.
	ReceiveBatch(ps []advert.Packet, bufs [][]byte) (int, error)
}

// rxCoalesce is how long the loop lets packets gather before it reads a
// transport that woke it, and between reads while they keep coming. The
// packets' arrival times are their own (Packet.Age) and timers read every
// transport first, so the wait delays only reactions to adverts (a
// master answering a lower priority, a master stepping down), by at most
// this, never a takeover. 200 routers at 100 ms send bursts of 200
// adverts a few milliseconds long: read this way, a backup wakes a few
// times per burst instead of once per packet.
const rxCoalesce = time.Millisecond

// rxBatch is how many packets the loop reads in one call.
const rxBatch = 32

// readable says that the waiter of t (of open generation gen) woke.
type readable struct {
	t   *transport
	gen int
}

// rxBufSize holds the largest VRRP packet: 255 IPv6 addresses (4088 bytes
// of message) or an IPv4 header with options, AH and 255 IPv4 addresses.
const rxBufSize = 4096 + 128

// rxBufs per transport: enough for a burst of adverts while the loop is
// busy; the socket buffers the rest.
const rxBufs = 32

type rxBuf struct {
	t    *transport
	gen  int
	free chan *rxBuf
	// at is when the packet arrived, on the Node's clock: when Receive
	// returned it, less the time the transport says it waited in the
	// socket (Packet.Age). Down timers run from arrival, so that a busy
	// loop does not push them later.
	at  time.Time
	pkt advert.Packet
	buf [rxBufSize]byte
}

// pushTransport is implemented by vrrptest's in-memory transports. In step
// mode (the deterministic simulation) the Node registers callbacks instead
// of running a receive goroutine and a link watcher: the LAN calls them on
// the clock's goroutine.
type pushTransport interface {
	Push(deliver func(p *advert.Packet), fail func(err error), changed func())
}

// afterFuncClock is a Clock that calls functions at given times, as
// vrrptest.ManualClock does; step mode needs it.
type afterFuncClock interface {
	AfterFunc(d time.Duration, f func()) Timer
}

func (n *Node) openTransport(t *transport, now time.Time) {
	t.reopenAt = time.Time{}
	ctx := n.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	tr, err := n.cfg.Network.Open(ctx, t.ep)
	if err == nil && n.stepping {
		if _, ok := tr.(pushTransport); !ok {
			tr.Close()
			err = errors.New("step mode needs a push transport")
		}
	}
	if err != nil {
		n.log.Error("vrrp: open transport failed; retrying",
			zap.String("interface", t.ep.Interface), zap.Bool("ipv6", t.ep.IPv6),
			zap.Duration("retry_in", t.backoff), zap.Error(err))
		n.transportDown(t, "open "+t.ep.Interface+": "+err.Error(), now)
		return
	}
	t.tr = tr
	t.gen++
	t.openedAt = now
	t.up = true
	gen := t.gen
	lm, hasLink := tr.(LinkMonitor)
	t.monitored = hasLink
	if hasLink {
		t.up, _ = lm.Link()
	}
	bt, batch := tr.(batchTransport)
	if n.stepping {
		tr.(pushTransport).Push(
			func(p *advert.Packet) { n.stepPacket(t, gen, p) },
			func(err error) { n.stepDo(func(now time.Time) { n.transportFailed(t, gen, err, now) }) },
			func() {
				if hasLink {
					up, _ := lm.Link()
					n.stepDo(func(now time.Time) { n.linkChanged(t, gen, up, now) })
				} else {
					n.stepDo(func(now time.Time) { n.linkChanged(t, gen, true, now) })
				}
			})
	} else if batch {
		t.stop = make(chan struct{})
		t.batch, t.rearm = bt, make(chan struct{}, 1)
		t.polling, t.pollAt = false, time.Time{}
		if n.rxPkts == nil {
			n.rxPkts = make([]advert.Packet, rxBatch)
			n.rxBufs = make([][]byte, rxBatch)
			for i := range n.rxBufs {
				n.rxBufs[i] = make([]byte, rxBufSize)
			}
		}
		n.ioWG.Add(1)
		go n.waitReadable(t, gen, bt, t.stop, t.rearm)
		if hasLink {
			n.ioWG.Add(1)
			go n.watchLink(t, gen, lm, t.stop)
		}
	} else {
		t.stop = make(chan struct{})
		free := make(chan *rxBuf, rxBufs)
		for range rxBufs {
			free <- &rxBuf{t: t, gen: gen, free: free}
		}
		n.ioWG.Add(1)
		go n.receive(tr, free, t.stop)
		if hasLink {
			n.ioWG.Add(1)
			go n.watchLink(t, gen, lm, t.stop)
		}
	}
	for _, r := range t.routers {
		if r == nil {
			continue
		}
		n.setFault(r, faultTransport, false, "", now)
		n.setFault(r, faultLink, !t.up, "link down on "+t.ep.Interface, now)
		n.refreshSource(r, now)
	}
}

// transportDown faults the routers of t and schedules a reopen.
func (n *Node) transportDown(t *transport, detail string, now time.Time) {
	t.reopenAt = now.Add(t.backoff)
	t.backoff = min(2*t.backoff, n.cfg.MaxReopenBackoff)
	for _, r := range t.routers {
		if r != nil {
			n.setFault(r, faultTransport, true, detail, now)
		}
	}
}

func (n *Node) closeTransport(t *transport) {
	if t.tr == nil {
		return
	}
	t.tr.Close()
	t.tr = nil
	t.batch, t.polling, t.pollAt = nil, false, time.Time{}
	if t.stop != nil {
		close(t.stop)
		t.stop = nil
	}
}

// transportFailed handles a receive error: fault the routers, close the
// transport and reopen it after a backoff.
func (n *Node) transportFailed(t *transport, gen int, err error, now time.Time) {
	if gen != t.gen || t.tr == nil {
		return // an old generation, or closed on purpose
	}
	if now.Sub(t.openedAt) > 30*time.Second {
		t.backoff = n.cfg.ReopenBackoff // it worked for a while: start over
	}
	n.log.Error("vrrp: receive failed; reopening",
		zap.String("interface", t.ep.Interface), zap.Bool("ipv6", t.ep.IPv6),
		zap.Duration("retry_in", t.backoff), zap.Error(err))
	n.closeTransport(t)
	n.transportDown(t, "receive on "+t.ep.Interface+": "+err.Error(), now)
}

func (n *Node) linkChanged(t *transport, gen int, up bool, now time.Time) {
	if gen != t.gen || t.tr == nil {
		return
	}
	if up != t.up {
		t.up = up
		n.log.Info("Netlink reports " + t.ep.Interface + " " + upDown(up))
	}
	for _, r := range t.routers {
		if r == nil {
			continue
		}
		n.setFault(r, faultLink, !up, "link down on "+t.ep.Interface, now)
		// LinkMonitor signals LocalAddr changes on the same channel.
		n.refreshSource(r, now)
	}
}

// receive only reads: it hands each packet to the loop and takes the
// buffer back when the loop is done with it.
func (n *Node) receive(tr Transport, free chan *rxBuf, stop chan struct{}) {
	defer n.ioWG.Done()
	for {
		var b *rxBuf
		select {
		case b = <-free:
		case <-stop:
			return
		}
		b.pkt = advert.Packet{}
		if err := tr.Receive(&b.pkt, b.buf[:]); err != nil {
			t, gen := b.t, b.gen
			free <- b
			select {
			case <-stop:
			default:
				n.do(func(now time.Time) { n.transportFailed(t, gen, err, now) })
			}
			return
		}
		b.at = n.clock.Now()
		if age := b.pkt.Age; age > 0 {
			b.at = b.at.Add(-age)
		}
		select {
		case n.rx <- b:
		case <-stop:
			return
		}
	}
}

// waitReadable waits for packets on a batch transport and tells the loop;
// it waits again once the loop has read what there was (rearm).
func (n *Node) waitReadable(t *transport, gen int, bt batchTransport, stop, rearm chan struct{}) {
	defer n.ioWG.Done()
	for {
		if err := bt.WaitReceive(); err != nil {
			select {
			case <-stop:
			default:
				n.do(func(now time.Time) { n.transportFailed(t, gen, err, now) })
			}
			return
		}
		select {
		case n.readable <- readable{t: t, gen: gen}:
		case <-stop:
			return
		}
		select {
		case <-rearm:
		case <-stop:
			return
		}
	}
}

// onReadable: t's waiter woke. The loop reads t after rxCoalesce, so that
// a burst is read in a few batches.
func (n *Node) onReadable(s readable, now time.Time) {
	t := s.t
	if s.gen != t.gen || t.batch == nil || t.polling {
		return
	}
	t.polling = true
	t.pollAt = now.Add(rxCoalesce)
}

// readAll reads every batch transport: on each timer, before the timers
// due are handled. A transport being polled is read again after
// rxCoalesce while packets keep coming, and handed back to its waiter
// once they stop.
func (n *Node) readAll(now time.Time) {
	for _, t := range n.transList {
		if t.batch == nil {
			continue
		}
		got := n.readBatches(t)
		if t.batch == nil || !t.polling || t.pollAt.After(now) {
			continue
		}
		if got >= 2 {
			t.pollAt = now.Add(rxCoalesce)
			continue
		}
		t.polling, t.pollAt = false, time.Time{}
		select {
		case t.rearm <- struct{}{}:
		default:
		}
	}
}

// readBatches reads and handles what waits on t, and says how many
// packets it read.
func (n *Node) readBatches(t *transport) int {
	total := 0
	for t.batch != nil {
		k, err := t.batch.ReceiveBatch(n.rxPkts, n.rxBufs)
		read := n.clock.Now()
		for i := range k {
			p := &n.rxPkts[i]
			at := read
			if p.Age > 0 {
				at = at.Add(-p.Age)
			}
			if n.dueBy(at) {
				n.onTimer(at)
			}
			if t.tr != nil {
				n.handlePacket(t, p, at)
			}
		}
		total += k
		if err != nil {
			n.transportFailed(t, t.gen, err, n.clock.Now())
			return total
		}
		if k < len(n.rxPkts) {
			break
		}
	}
	return total
}

func (n *Node) watchLink(t *transport, gen int, lm LinkMonitor, stop chan struct{}) {
	defer n.ioWG.Done()
	for {
		up, changed := lm.Link()
		n.do(func(now time.Time) { n.linkChanged(t, gen, up, now) })
		select {
		case <-changed:
		case <-stop:
			return
		}
		// A closed transport hands out closed channels: do not spin on
		// them until the loop notices and stops us.
		select {
		case <-stop:
			return
		default:
		}
		if _, next := lm.Link(); isClosed(next) {
			pause := n.clock.NewTimer(50 * time.Millisecond)
			select {
			case <-pause.C():
			case <-stop:
				pause.Stop()
				return
			}
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// onRx handles one received packet at its arrival time. Timers that ran
// out before it arrived are handled first: events are taken in the order
// they happened, whichever channel the loop's select picked.
func (n *Node) onRx(b *rxBuf) {
	if b.gen == b.t.gen && b.t.tr != nil {
		if n.dueBy(b.at) {
			n.onTimer(b.at)
		}
		n.handlePacket(b.t, &b.pkt, b.at)
	}
	b.free <- b
}

// drainRx handles the packets already handed to the loop. A timer that
// is due goes after them: an advert that arrived before a down timer ran
// out, and waited because the loop was busy, still counts.
func (n *Node) drainRx() {
	for range len(n.rx) {
		select {
		case b := <-n.rx:
			n.onRx(b)
		default:
			return
		}
	}
}

// Step mode.

// stepStart starts the node in step mode: everything happens on the
// caller's goroutine, driven by the clock's AfterFunc callbacks and the
// push transports.
func (n *Node) stepStart(ctx context.Context) error {
	if _, ok := n.clock.(afterFuncClock); !ok {
		return errors.New("vrrp: step mode needs a clock with AfterFunc")
	}
	n.mu.Lock()
	if n.phase != phaseIdle {
		n.mu.Unlock()
		return errors.New("vrrp: node already started")
	}
	n.phase = phaseRunning
	n.mu.Unlock()
	n.stepping = true
	n.runCtx = ctx
	n.workCtx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n.runPending()
	n.stepArm()
	return nil
}

// stepStop stops a stepped node: gracefully (priority 0, release) or as a
// crash (nothing sent, timers dropped).
func (n *Node) stepStop(graceful bool) {
	if !n.stepping {
		return
	}
	if graceful {
		now := n.clock.Now()
		for _, r := range n.routers {
			n.apply(r, r.m.Shutdown(now, r.acts[:0]), now)
		}
	}
	for _, t := range n.transList {
		n.closeTransport(t)
	}
	if n.stepTimer != nil {
		n.stepTimer.Stop()
	}
	n.stepping = false
	n.mu.Lock()
	n.phase = phaseStopped
	n.mu.Unlock()
	n.cancel()
}

func (n *Node) stepDo(f func(now time.Time)) {
	if !n.stepping {
		return
	}
	f(n.clock.Now())
	n.stepArm()
}

func (n *Node) stepPacket(t *transport, gen int, p *advert.Packet) {
	if !n.stepping || gen != t.gen || t.tr == nil {
		return
	}
	n.handlePacket(t, p, n.clock.Now())
	n.stepArm()
}

func (n *Node) stepArm() {
	if !n.stepping {
		return
	}
	next := n.nextWake()
	if next.Equal(n.armedAt) && n.stepTimer != nil {
		return
	}
	n.armedAt = next
	if next.IsZero() {
		if n.stepTimer != nil {
			n.stepTimer.Stop()
		}
		return
	}
	d := max(0, next.Sub(n.clock.Now()))
	if n.stepTimer == nil {
		n.stepTimer = n.clock.(afterFuncClock).AfterFunc(d, n.stepFire)
		return
	}
	n.stepTimer.Reset(d)
}

func (n *Node) stepFire() {
	if !n.stepping {
		return
	}
	n.armedAt = time.Time{}
	n.onTimer(n.clock.Now())
	n.runLater(true)
	n.stepArm()
}
