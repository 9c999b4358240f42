package vrrptest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// LANConfig configures an in-memory LAN.
type LANConfig struct {
	// Seed drives every random choice (loss, delay, jitter, duplication,
	// reordering): the same seed and the same calls give the same run.
	Seed uint64
	// Clock times deliveries. With a *ManualClock, deliveries are
	// callbacks run when the clock is advanced, on that goroutine: fully
	// deterministic. With another clock (SystemClock, also inside a
	// testing/synctest bubble) they run on timer goroutines. Default:
	// vrrp.SystemClock.
	Clock vrrp.Clock
	// Link is every host's link unless SetLink says otherwise.
	Link LinkConfig
}

// LinkConfig is how one host's link into the LAN behaves. A packet from A
// to B crosses A's link and B's link.
type LinkConfig struct {
	Loss      float64       // probability that the link loses a packet, 0..1
	Delay     time.Duration // one-way latency of the link
	Jitter    time.Duration // uniform extra latency, 0..Jitter
	Duplicate float64       // probability that the link delivers a packet twice
	// Reorder is the probability that a packet is held back by an extra
	// 0..2×(Delay+Jitter)+1ms, so that later packets overtake it.
	// Otherwise packets between two hosts arrive in the order they were
	// sent, jitter or not.
	Reorder float64
}

// LANStats counts what the LAN did with packets.
type LANStats struct {
	Sent       uint64 // Send calls that put a packet on the wire
	Delivered  uint64 // copies handed to a receiving transport
	Lost       uint64 // copies lost to Loss
	Duplicated uint64 // extra copies made by Duplicate
	Blocked    uint64 // copies not delivered: partition, link down, crashed host
}

// LAN is an in-memory Ethernet segment carrying VRRP packets between hosts,
// as encoded bytes, with IP source, destination and hop limit — and IPsec
// AH built as on the wire — so that decoding and authentication run in
// simulations too. Each Host is a vrrp.Network. Loss, delay, jitter,
// duplication, reordering, partitions, link state and crashes are all
// controlled here, every random choice from the seed.
//
// A run is the same for the same seed even when the hosts' Nodes run on
// goroutines of their own (under testing/synctest, with a ManualClock
// advanced by StepInstant): every random choice about a packet comes from
// its sender's own source, packets due at the same instant are delivered
// in an order fixed by sender and send count, and all of them at once, so
// that a reader sees either none or all of an instant's deliveries.
type LAN struct {
	clock    vrrp.Clock
	mu       sync.Mutex
	timer    vrrp.Timer   // fires at the earliest pending delivery
	timerAt  time.Time    // when timer is set for; zero if not set
	pending  deliveryHeap // packets in flight
	seed     uint64
	def      LinkConfig
	hosts    []*Host
	byName   map[string]*Host
	groupOf  map[*Host]int          // partition; absent = 0
	fifo     map[[2]*Host]time.Time // last arrival on each path
	stats    LANStats
	ipID     uint16
	ifindexN int
}

// NewLAN returns an empty LAN.
func NewLAN(cfg LANConfig) *LAN {
	if cfg.Clock == nil {
		cfg.Clock = vrrp.SystemClock{}
	}
	l := &LAN{
		clock:   cfg.Clock,
		seed:    cfg.Seed,
		def:     cfg.Link,
		byName:  make(map[string]*Host),
		groupOf: make(map[*Host]int),
		fifo:    make(map[[2]*Host]time.Time),
	}
	if af, ok := cfg.Clock.(interface {
		AfterFunc(time.Duration, func()) vrrp.Timer
	}); ok {
		l.timer = af.AfterFunc(time.Hour, l.fire)
	} else {
		l.timer = realTimer{time.AfterFunc(time.Hour, l.fire)}
	}
	l.timer.Stop()
	return l
}

// HostConfig describes a host on the LAN.
type HostConfig struct {
	Name string
	// Interface is the host's interface on the LAN. Default: "eth0".
	Interface string
	// Addrs are the host's addresses. LocalAddr is the first IPv4 one for
	// IPv4 transports and the first IPv6 link-local one for IPv6 (fe80::N,
	// N the host's number, when none is given). Unicast packets are
	// delivered to the host holding the destination.
	Addrs []netip.Addr
}

// Host is one machine on the LAN; it implements vrrp.Network for its
// interface.
type Host struct {
	lan     *LAN
	name    string
	iface   string
	ifindex int
	addrs   []netip.Addr
	link    LinkConfig
	down    bool // link down
	crashed bool
	trs     []*lanTransport
	linkCh  chan struct{} // closed at the next change of link or LocalAddr
	rng     *rand.Rand    // every random choice about the packets it sends
	sent    uint64        // packets it sent, for the order of deliveries
}

var _ vrrp.Network = (*Host)(nil)

// AddHost adds a host. Names must be unique.
func (l *LAN) AddHost(cfg HostConfig) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cfg.Interface == "" {
		cfg.Interface = "eth0"
	}
	if l.byName[cfg.Name] != nil {
		panic("vrrptest: host " + cfg.Name + " added twice")
	}
	l.ifindexN++
	h := &Host{lan: l, name: cfg.Name, iface: cfg.Interface, ifindex: l.ifindexN,
		addrs: append([]netip.Addr(nil), cfg.Addrs...), link: l.def, linkCh: make(chan struct{}),
		rng: rand.New(rand.NewPCG(l.seed, l.seed^0x9e3779b97f4a7c15^uint64(l.ifindexN)))}
	hasLL := false
	for _, a := range h.addrs {
		hasLL = hasLL || (a.Is6() && a.IsLinkLocalUnicast())
	}
	if !hasLL {
		var b [16]byte
		b[0], b[1] = 0xfe, 0x80
		binary.BigEndian.PutUint32(b[12:], uint32(l.ifindexN))
		h.addrs = append(h.addrs, netip.AddrFrom16(b))
	}
	l.hosts = append(l.hosts, h)
	l.byName[cfg.Name] = h
	return h
}

// Host returns the host named name, or nil.
func (l *LAN) Host(name string) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byName[name]
}

// Stats returns the LAN's counters.
func (l *LAN) Stats() LANStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// SetLink changes how host's link behaves.
func (l *LAN) SetLink(host string, c LinkConfig) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.byName[host]; h != nil {
		h.link = c
	}
}

// SetAllLinks changes every host's link, and the default for new hosts.
func (l *LAN) SetAllLinks(c LinkConfig) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.def = c
	for _, h := range l.hosts {
		h.link = c
	}
}

// Partition splits the LAN: hosts in different groups cannot reach each
// other; hosts in no group form one more group together.
func (l *LAN) Partition(groups ...[]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.groupOf)
	for i, g := range groups {
		for _, name := range g {
			if h := l.byName[name]; h != nil {
				l.groupOf[h] = i + 1
			}
		}
	}
}

// Heal joins every partition again.
func (l *LAN) Heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.groupOf)
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Interface returns the host's interface name.
func (h *Host) Interface() string { return h.iface }

// Addr returns LocalAddr of the host's IPv4 (ipv6 false) or IPv6
// transports.
func (h *Host) Addr(ipv6 bool) netip.Addr {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	return h.localAddr(ipv6)
}

func (h *Host) localAddr(ipv6 bool) netip.Addr {
	for _, a := range h.addrs {
		if ipv6 && a.Is6() && a.IsLinkLocalUnicast() {
			return a
		}
		if !ipv6 && a.Is4() {
			return a
		}
	}
	return netip.Addr{}
}

// SetAddrs replaces the host's addresses (an empty IPv4 list leaves IPv4
// transports without a LocalAddr). When that changes LocalAddr of either
// family, the transports' Link channels are closed, as vrrp.Transport asks.
func (h *Host) SetAddrs(addrs ...netip.Addr) {
	h.lan.mu.Lock()
	old4, old6 := h.localAddr(false), h.localAddr(true)
	h.addrs = append([]netip.Addr(nil), addrs...)
	if h.localAddr(false) == old4 && h.localAddr(true) == old6 {
		h.lan.mu.Unlock()
		return
	}
	h.changedLocked()
	h.lan.mu.Unlock()
}

// SetLinkUp takes the host's link down or up: while down it sends and
// receives nothing, and its transports' Link reports it.
func (h *Host) SetLinkUp(up bool) {
	h.lan.mu.Lock()
	if h.down == !up {
		h.lan.mu.Unlock()
		return
	}
	h.down = !up
	h.changedLocked()
	h.lan.mu.Unlock()
}

// changedLocked signals a link or LocalAddr change to the watchers.
func (h *Host) changedLocked() {
	close(h.linkCh)
	h.linkCh = make(chan struct{})
}

// Crash makes the host vanish: its transports close (Receive returns an
// error), packets in flight to it are lost and nothing it does reaches the
// LAN, until Restart.
func (h *Host) Crash() {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	h.crashed = true
	for _, t := range h.trs {
		t.closeLocked()
	}
	h.trs = nil
}

// Restart brings a crashed host back (with its link as it was); open new
// transports on it.
func (h *Host) Restart() {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	h.crashed = false
}

// FailReceive makes every open transport of the host fail with err, as a
// socket error would: WaitReceive and ReceiveBatch return err, and the
// transport is dead.
func (h *Host) FailReceive(err error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	for _, t := range h.trs {
		t.failErr = err
		t.closeLocked()
	}
	h.trs = nil
}

// Open opens a transport on the host's interface (vrrp.Network).
func (h *Host) Open(ctx context.Context, ep vrrp.Endpoint) (vrrp.Transport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if h.crashed {
		return nil, &net.OpError{Op: "open", Net: "vrrp", Err: errors.New("host " + h.name + " is down")}
	}
	if ep.Interface != h.iface {
		return nil, &net.OpError{Op: "open", Net: "vrrp", Err: fmt.Errorf("host %s has no interface %q", h.name, ep.Interface)}
	}
	group := ep.Group
	if !group.IsValid() {
		group = advert.GroupIPv4
		if ep.IPv6 {
			group = advert.GroupIPv6
		}
	}
	t := &lanTransport{h: h, ep: ep, group: group, notify: make(chan struct{}, 1), done: make(chan struct{})}
	h.trs = append(h.trs, t)
	return t, nil
}

// Inject delivers p to the host's transports of p's family as if it came
// off the wire: now, bypassing loss and delay (for tests of the receive
// checks).
func (h *Host) Inject(p *advert.Packet) {
	f := &frame{src: p.Src, dst: p.Dst, hop: p.HopLimit,
		msg: append([]byte(nil), p.Msg...), ip: append([]byte(nil), p.IPHeader...), ah: append([]byte(nil), p.AH...)}
	if len(p.AH) == 0 {
		f.ah = nil
	}
	l := h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deliverLocked(h, f, l.clock.Now())
}

// frame is a packet on the wire; deliveries share it read-only.
type frame struct {
	src, dst netip.Addr
	hop      uint8
	msg      []byte
	ip, ah   []byte // IPv4 with AH only
}

type lanTransport struct {
	h     *Host
	ep    vrrp.Endpoint
	group netip.Addr

	// Guarded by the LAN's mutex.
	closed  bool
	failErr error
	queue   []arrival
	notify  chan struct{} // a packet was queued (capacity 1)
	done    chan struct{} // closed by Close or a failure
}

// arrival is a frame in a transport's queue and when it arrived.
type arrival struct {
	f  *frame
	at time.Time
}

var _ vrrp.Transport = (*lanTransport)(nil)

func (t *lanTransport) LocalAddr() netip.Addr {
	l := t.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	return t.h.localAddr(t.ep.IPv6)
}

func (t *lanTransport) Link() (bool, <-chan struct{}) {
	l := t.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	return !t.h.down && !t.h.crashed, t.h.linkCh
}

func (t *lanTransport) Close() error {
	l := t.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	t.closeLocked()
	for i, x := range t.h.trs {
		if x == t {
			t.h.trs = append(t.h.trs[:i:i], t.h.trs[i+1:]...)
			break
		}
	}
	return nil
}

func (t *lanTransport) closeLocked() {
	if t.closed {
		return
	}
	t.closed = true
	t.queue = nil
	close(t.done)
}

// SendBatch puts ps on the LAN in order, as send does each.
func (t *lanTransport) SendBatch(ps []advert.Packet) (int, error) { return vrrp.SendEach(ps, t.send) }

// send puts p on the LAN: to every other host listening on the group, or
// to the host holding the unicast destination.
func (t *lanTransport) send(p *advert.Packet) error {
	l := t.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	h := t.h
	switch {
	case t.closed:
		return &net.OpError{Op: "write", Net: "vrrp", Err: net.ErrClosed}
	case h.crashed || h.down:
		return &net.OpError{Op: "write", Net: "vrrp", Err: errors.New("network is down")}
	}
	src := p.Src
	if !src.IsValid() {
		src = h.localAddr(t.ep.IPv6)
	}
	hop := p.HopLimit
	if hop == 0 {
		hop = 255
	}
	f := &frame{src: src, dst: p.Dst, hop: hop, msg: append([]byte(nil), p.Msg...)}
	if p.Sealer != nil {
		if t.ep.IPv6 || !src.Is4() || !p.Dst.Is4() {
			return &net.OpError{Op: "write", Net: "vrrp", Err: errors.New("AH is IPv4 only")}
		}
		l.ipID++
		if l.ipID == 0 {
			l.ipID = 1
		}
		f.ip = ipv4Header(src, p.Dst, hop, l.ipID, len(f.msg))
		f.ah = make([]byte, 24)
		if err := p.Sealer.SealAH(f.ah, f.ip, f.msg, p.Seq); err != nil {
			return &net.OpError{Op: "write", Net: "vrrp", Err: err}
		}
	}
	l.stats.Sent++
	h.sent++
	for _, d := range l.hosts {
		if d == h || !d.wants(f, t.ep.IPv6) {
			continue
		}
		if d.crashed || d.down || l.groupOf[d] != l.groupOf[h] {
			l.stats.Blocked++
			continue
		}
		if h.chance(h.link.Loss) || h.chance(d.link.Loss) {
			l.stats.Lost++
			continue
		}
		copies := 1
		if h.chance(h.link.Duplicate) || h.chance(d.link.Duplicate) {
			copies = 2
			l.stats.Duplicated++
		}
		now := l.clock.Now()
		path := [2]*Host{h, d}
		for i := range copies {
			delay := h.link.latency(h) + d.link.latency(h)
			if h.chance(h.link.Reorder) || h.chance(d.link.Reorder) {
				span := 2*(h.link.Delay+h.link.Jitter+d.link.Delay+d.link.Jitter) + time.Millisecond
				delay += time.Duration(h.rng.Int64N(int64(span)))
			} else {
				// One path is FIFO, as an Ethernet segment is: jitter
				// delays a packet but does not let it overtake.
				at := now.Add(delay)
				if last := l.fifo[path]; at.Before(last) {
					at = last
				}
				l.fifo[path] = at
				delay = at.Sub(now)
			}
			l.schedule(now.Add(delay), h, i, d, f)
		}
	}
	return nil
}

// wants reports whether the host would receive f: it listens on the
// group, or holds the unicast destination.
func (h *Host) wants(f *frame, ipv6 bool) bool {
	if f.dst.IsMulticast() {
		for _, t := range h.trs {
			if t.ep.IPv6 == ipv6 && t.group == f.dst {
				return true
			}
		}
		return false
	}
	for _, a := range h.addrs {
		if a == f.dst {
			return true
		}
	}
	return false
}

// chance draws from the host's own source.
func (h *Host) chance(p float64) bool { return p > 0 && h.rng.Float64() < p }

// latency draws the link's latency from the sending host's source.
func (c LinkConfig) latency(from *Host) time.Duration {
	d := c.Delay
	if c.Jitter > 0 {
		d += time.Duration(from.rng.Int64N(int64(c.Jitter) + 1))
	}
	return d
}

// schedule queues copy i of from's packet f for delivery to d at time
// at; l.mu is held. Deliveries due at the same time go in the order of
// sender, send count and copy, whichever goroutine sent first.
func (l *LAN) schedule(at time.Time, from *Host, i int, d *Host, f *frame) {
	seq := uint64(from.ifindex)<<48 | from.sent<<8 | uint64(i)<<4 | uint64(d.ifindex&0xf)
	l.pending.push(delivery{at: at, seq: seq, to: d, f: f})
	if l.timerAt.IsZero() || at.Before(l.timerAt) {
		l.timerAt = at
		l.timer.Reset(max(0, at.Sub(l.clock.Now())))
	}
}

// fire delivers every packet due, in order, all under one hold of the
// lock: a reader sees all of an instant's deliveries or none.
func (l *LAN) fire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	for len(l.pending) > 0 && !l.pending[0].at.After(now) {
		next := l.pending.pop()
		l.deliverLocked(next.to, next.f, now)
	}
	l.timerAt = time.Time{}
	if len(l.pending) > 0 {
		l.timerAt = l.pending[0].at
		l.timer.Reset(l.timerAt.Sub(now))
	}
}

// deliverLocked hands f to the host's transports that take it; l.mu is
// held.
func (l *LAN) deliverLocked(h *Host, f *frame, now time.Time) {
	if h.crashed || h.down {
		l.stats.Blocked++
		return
	}
	for _, t := range h.trs {
		if t.closed || t.ep.IPv6 != f.dst.Is6() {
			continue
		}
		if f.dst.IsMulticast() && t.group != f.dst {
			continue
		}
		l.stats.Delivered++
		t.queue = append(t.queue, arrival{f: f, at: now})
		select {
		case t.notify <- struct{}{}:
		default:
		}
	}
}

type delivery struct {
	at  time.Time
	seq uint64
	to  *Host
	f   *frame
}

// deliveryHeap is a min-heap by (at, seq), without container/heap's
// boxing: the simulation pushes one entry per packet.
type deliveryHeap []delivery

func (h deliveryHeap) less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h *deliveryHeap) push(d delivery) {
	*h = append(*h, d)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *deliveryHeap) pop() delivery {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = delivery{}
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// realTimer adapts *time.Timer to vrrp.Timer.
type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
func (t realTimer) Stop() bool                 { return t.t.Stop() }

// WaitReceive blocks until a packet is queued, or the transport is closed
// or failed.
func (t *lanTransport) WaitReceive() error {
	l := t.h.lan
	for {
		l.mu.Lock()
		if err := t.errLocked(); err != nil {
			l.mu.Unlock()
			return err
		}
		if len(t.queue) > 0 {
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		select {
		case <-t.notify:
		case <-t.done:
		}
	}
}

func (t *lanTransport) errLocked() error {
	if t.failErr != nil {
		return t.failErr
	}
	if t.closed {
		return &net.OpError{Op: "read", Net: "vrrp", Err: net.ErrClosed}
	}
	return nil
}

// ReceiveBatch copies the packets queued into bufs (IPv4 header and AH
// first when there are any), pointing ps' slices into them; Age is how
// long each waited in the queue.
func (t *lanTransport) ReceiveBatch(ps []advert.Packet, bufs [][]byte) (int, error) {
	l := t.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := t.errLocked(); err != nil {
		return 0, err
	}
	now := l.clock.Now()
	n := 0
	for n < len(ps) && n < len(bufs) && len(t.queue) > 0 {
		a := t.queue[0]
		t.queue[0] = arrival{}
		t.queue = t.queue[1:]
		f, buf := a.f, bufs[n]
		if len(buf) < len(f.ip)+len(f.ah)+len(f.msg) {
			return n, &net.OpError{Op: "read", Net: "vrrp", Err: io.ErrShortBuffer}
		}
		p := &ps[n]
		k := copy(buf, f.ip)
		*p = advert.Packet{Src: f.src, Dst: f.dst, HopLimit: f.hop, Ifindex: t.h.ifindex, Age: now.Sub(a.at)}
		if len(f.ip) > 0 {
			p.IPHeader = buf[:k:k]
			m := copy(buf[k:], f.ah)
			p.AH = buf[k : k+m : k+m]
			k += m
		}
		m := copy(buf[k:], f.msg)
		p.Msg = buf[k : k+m : k+m]
		n++
	}
	if len(t.queue) == 0 {
		t.queue = nil // let the backing array go
	}
	return n, nil
}

// ipv4Header builds the 20-byte header an AH advert goes out with.
func ipv4Header(src, dst netip.Addr, ttl uint8, id uint16, msgLen int) []byte {
	b := make([]byte, 20)
	b[0] = 0x45
	b[1] = 0xc0 // internetwork control, as keepalived
	binary.BigEndian.PutUint16(b[2:], uint16(20+24+msgLen))
	binary.BigEndian.PutUint16(b[4:], id)
	b[8] = ttl
	b[9] = 51
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	return b
}

// Receive waits for one packet on tr and reads it into p, its slices
// pointing into buf: a single read for tests and examples (a Node reads
// in batches).
func Receive(tr vrrp.Transport, p *advert.Packet, buf []byte) error {
	ps, bufs := unsafe.Slice(p, 1), [][]byte{buf}
	for {
		n, err := tr.ReceiveBatch(ps, bufs)
		if n == 1 {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tr.WaitReceive(); err != nil {
			return err
		}
	}
}

// Send sends the one packet p on tr: the counterpart of Receive.
func Send(tr vrrp.Transport, p *advert.Packet) error {
	_, err := tr.SendBatch(unsafe.Slice(p, 1))
	return err
}
