package vrrp

import (
	"io"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
)

// portIO is the loop's side of one open Transport: the goroutines that
// wait for its packets and watch its link, and its place in the read
// policy. A new one is made at each open, so that a goroutine of a closed
// transport reporting late is told apart.
type portIO struct {
	p  *port
	tr Transport

	stop  chan struct{} // closed to stop the goroutines
	rearm chan struct{} // the loop read what waited: wait again

	poll pollState
	// emptyAt is when a read last found the transport empty (or it
	// opened): every packet it holds arrived after that.
	emptyAt time.Time
	// monitored: Link gives a channel; otherwise LocalAddr is polled at
	// sourceAt.
	monitored bool
	sourceAt  time.Time

	// The adverts of the step being sent, and their indexes in the
	// output's sends; reused.
	txBatch []advert.Packet
	txSends []int
}

// portFailure is a waiter's report that its transport failed.
type portFailure struct {
	p   *port
	pio *portIO
	err error
}

// rxBatch is how many packets the loop reads in one call.
const rxBatch = 32

// rxBufSize holds the largest VRRP packet: 255 IPv6 addresses (4088 bytes
// of message) or an IPv4 header with options, AH and 255 IPv4 addresses.
const rxBufSize = 4096 + 128

// rxBuffers are the loop's receive buffers, shared by every transport.
type rxBuffers struct {
	pkts []advert.Packet
	bufs [][]byte
}

func (b *rxBuffers) init() {
	if b.pkts != nil {
		return
	}
	b.pkts = make([]advert.Packet, rxBatch)
	b.bufs = make([][]byte, rxBatch)
	for i := range b.bufs {
		b.bufs[i] = make([]byte, rxBufSize)
	}
}

// reconcilePort makes p's transport what the core wants: closed when it
// is not wanted, failed or opened for an older Endpoint; open when it is
// wanted (and not waiting to retry). The core hears of each change at
// once.
func (n *Node) reconcilePort(p *port, now time.Time) {
	if pio := n.ios[p]; pio != nil && (!p.want || !p.open || p.stale) {
		n.stopPortIO(pio)
		n.core.portClosed(p)
	}
	if n.ios[p] == nil && p.opening() {
		n.openPort(p, now)
	}
}

// openPort opens p's transport and tells the core how that went.
func (n *Node) openPort(p *port, now time.Time) {
	tr, err := n.cfg.Network.Open(n.workCtx, p.ep)
	if err != nil {
		n.core.portFailed(now, p, err)
		return
	}
	pio := &portIO{p: p, tr: tr, stop: make(chan struct{}), rearm: make(chan struct{}, 1), emptyAt: now}
	up, changed := tr.Link()
	pio.monitored = changed != nil
	if !pio.monitored {
		pio.sourceAt = now.Add(sourcePoll)
	}
	n.ios[p] = pio
	n.ioList = append(n.ioList, pio)
	n.rx.init()
	n.ioWG.Add(1)
	go n.waitPackets(pio)
	if pio.monitored {
		n.ioWG.Add(1)
		go n.watchLink(pio, changed)
	}
	n.core.portOpened(now, p, up, tr.LocalAddr())
}

func (n *Node) stopPortIO(pio *portIO) {
	if n.ios[pio.p] == pio {
		delete(n.ios, pio.p)
	}
	for i, x := range n.ioList {
		if x == pio {
			n.ioList = append(n.ioList[:i:i], n.ioList[i+1:]...)
			break
		}
	}
	select {
	case <-pio.stop:
		return
	default:
	}
	close(pio.stop)
	pio.tr.Close()
}

// waitPackets waits for packets on pio's transport and tells the loop; it
// waits again once the loop has read what there was (rearm).
func (n *Node) waitPackets(pio *portIO) {
	defer n.ioWG.Done()
	for {
		if err := pio.tr.WaitReceive(); err != nil {
			select {
			case <-pio.stop:
			default:
				n.mu.Lock()
				n.failures = append(n.failures, portFailure{p: pio.p, pio: pio, err: err})
				n.mu.Unlock()
				n.poke()
			}
			return
		}
		n.mu.Lock()
		n.woken = append(n.woken, pio)
		n.mu.Unlock()
		n.poke()
		select {
		case <-pio.rearm:
		case <-pio.stop:
			return
		}
	}
}

// watchLink tells the loop of every change of pio's link or LocalAddr.
func (n *Node) watchLink(pio *portIO, changed <-chan struct{}) {
	defer n.ioWG.Done()
	for {
		select {
		case <-changed:
		case <-pio.stop:
			return
		}
		n.mu.Lock()
		n.links = append(n.links, pio)
		n.mu.Unlock()
		n.poke()
		// Link must be asked again for the next change. A closed
		// transport hands out closed channels: do not spin on them until
		// the loop stops us.
		_, changed = pio.tr.Link()
		if changed == nil || isClosed(changed) {
			pause := n.clock.NewTimer(50 * time.Millisecond)
			select {
			case <-pause.C():
			case <-pio.stop:
				pause.Stop()
				return
			}
			if changed == nil {
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

// linkChanged reads pio's link and LocalAddr for the core.
func (n *Node) linkChanged(pio *portIO, now time.Time) {
	if n.ios[pio.p] != pio {
		return
	}
	up, _ := pio.tr.Link()
	n.core.linkChanged(now, pio.p, up, pio.tr.LocalAddr())
}

// pollSources asks the transports that cannot watch their interface for
// their LocalAddr, every sourcePoll.
func (n *Node) pollSources(now time.Time) {
	for _, pio := range n.ioList {
		if pio.monitored || pio.sourceAt.After(now) {
			continue
		}
		pio.sourceAt = now.Add(sourcePoll)
		if local := pio.tr.LocalAddr(); local != pio.p.local {
			n.core.linkChanged(now, pio.p, true, local)
		}
	}
	n.flush(now)
}

// readDue reads, within the read policy's budget, the transports whose
// turn it is — every one of them, each until it is empty (up to the
// policy's drain), when a router's timer is due, so that no advert that
// arrived before a deadline is left unread when it runs out. The budget
// goes round: when it runs out, the next wake-up starts at
// the transport after the one that took its last packet, so that the
// first interfaces, always busy, cannot take the whole budget every time
// and leave the last ones' adverts to overflow their sockets (every
// router there would then lose its master).
func (n *Node) readDue(now time.Time) {
	if n.core.due(now) {
		for _, pio := range n.ioList {
			got, full := n.readPort(pio, n.read.drain)
			n.readDone(pio, got, full)
		}
		return
	}
	budget := n.read.budget
	k := len(n.ioList)
	start, next := n.readFrom%max(k, 1), -1
	for j := range k {
		i := (start + j) % k
		pio := n.ioList[i]
		if !n.read.due(&pio.poll, now) {
			continue
		}
		got, full := n.readPort(pio, budget)
		budget -= got
		if got > 0 && budget == 0 && next < 0 {
			next = (i + 1) % k
		}
		n.readDone(pio, got, full)
	}
	if next >= 0 {
		n.readFrom = next
	}
}

// readDone tells the read policy of a read of got packets from pio, full
// when its limit ran out first, and hands pio back to its waiter if the
// policy says so.
func (n *Node) readDone(pio *portIO, got int, full bool) {
	if n.ios[pio.p] != pio {
		return // failed while read
	}
	if n.read.read(&pio.poll, n.clock.Now(), got, full) {
		select {
		case pio.rearm <- struct{}{}:
		default:
		}
	}
}

// readPort reads what waits on pio, at most budget packets, and hands
// each to the core at its arrival time: when the read returned, less the
// time the transport says it waited (Packet.Age), so that a busy loop
// does not push down timers later. A packet cannot have arrived before
// the last read that found the transport empty: that bounds the age,
// which a socket computes from the wall clock, so that a clock step
// (NTP) can never shorten a down timer. It reports how many it read and
// whether the budget ran out first.
func (n *Node) readPort(pio *portIO, budget int) (got int, full bool) {
	c := n.core
	for budget > 0 {
		want := min(budget, rxBatch)
		k, err := pio.tr.ReceiveBatch(n.rx.pkts[:want], n.rx.bufs[:want])
		read := n.clock.Now()
		for i := range k {
			p := &n.rx.pkts[i]
			at := read
			if p.Age > 0 {
				at = at.Add(-p.Age)
			}
			if at.Before(pio.emptyAt) {
				at = pio.emptyAt
			}
			c.receive(at, pio.p, p)
			*p = advert.Packet{}
		}
		got += k
		budget -= k
		if err != nil {
			c.portFailed(read, pio.p, err)
			return got, false
		}
		if k < want {
			pio.emptyAt = read
			return got, false
		}
	}
	return got, true
}

// queueSend adds the core's send i to the batch.
func (pio *portIO) queueSend(i int, s *sendRequest, arena []byte) {
	p := advert.Packet{Src: s.src, Dst: s.dst, HopLimit: 255, Msg: arena[s.off : s.off+s.n], Seq: s.seq}
	if s.r.ah != nil {
		p.Sealer = s.r.ah
	}
	pio.txBatch = append(pio.txBatch, p)
	pio.txSends = append(pio.txSends, i)
}

// sendQueued sends the batch, recording each failure in errs (by send
// index), and empties it.
func (pio *portIO) sendQueued(errs []error) {
	ps, idx := pio.txBatch, pio.txSends
	for len(ps) > 0 {
		k, err := pio.tr.SendBatch(ps)
		if err == nil && k >= len(ps) {
			break
		}
		// A transport that breaks its contract (fewer sent without an
		// error, a count out of range) costs a packet, not a panic.
		if err == nil {
			err = io.ErrShortWrite
		}
		k = min(max(k, 0), len(ps)-1)
		errs[idx[k]] = err
		ps, idx = ps[k+1:], idx[k+1:]
	}
	clear(pio.txBatch) // no references kept to the output's arena
	pio.txBatch, pio.txSends = pio.txBatch[:0], pio.txSends[:0]
}
