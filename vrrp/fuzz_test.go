package vrrp_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/pcapfile"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

// The fuzzed receiver is host 10.0.0.2 / fd00::2 / fe80::2 of the lab the
// captures in ../advert/testdata were taken in: keepalived ran on 10.0.0.1.
var (
	fuzzSelf4 = netip.MustParseAddr("10.0.0.2")
	fuzzSelf6 = netip.MustParseAddr("fd00::2")
	fuzzLL6   = netip.MustParseAddr("fe80::2")
	fuzzPeer4 = netip.MustParseAddr("10.0.0.1")
	fuzzPeer6 = netip.MustParseAddr("fd00::1")
)

// fuzzAddrs are the addresses a short src or dst selects from: the ones
// the receive path tells apart (its own, the peers', the groups), and some
// no sender should use.
var fuzzAddrs = []netip.Addr{
	fuzzPeer4, fuzzSelf4, netip.MustParseAddr("10.0.0.3"), advert.GroupIPv4,
	netip.MustParseAddr("fe80::1"), fuzzPeer6, fuzzSelf6, advert.GroupIPv6,
	netip.IPv4Unspecified(), netip.IPv6Unspecified(), netip.MustParseAddr("255.255.255.255"),
	netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("ff02::1"),
}

// fuzzAddr turns fuzzed bytes into an address: 4 or 16 bytes as they are,
// anything else picks from fuzzAddrs.
func fuzzAddr(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	}
	sel := len(b)
	for _, c := range b {
		sel += int(c)
	}
	return fuzzAddrs[sel%len(fuzzAddrs)]
}

func fuzzVIPs(prefixes ...string) []vrrp.VIP {
	vips := make([]vrrp.VIP, len(prefixes))
	for i, p := range prefixes {
		vips[i].Prefix = netip.MustParsePrefix(p)
	}
	return vips
}

// fuzzConfigs4 are the IPv4 routers the fuzzer picks from: each capture's
// keepalived.conf as the peer on 10.0.0.2 would write it, and a few more
// receive checks (the checksum without pseudo-header, the unicast source
// check).
var fuzzConfigs4 = []vrrp.Config{
	{Version: 2, AuthType: advert.AuthPass, AuthPass: auth.MustPassword("secret12"), VIPs: fuzzVIPs("10.0.0.100/24", "10.0.0.101/32")}, // v2-pass-mcast
	{Version: 2, AuthType: advert.AuthAH, AuthPass: auth.MustPassword("key12345"), VIPs: fuzzVIPs("10.0.0.100/24")},                    // v2-ah-mcast
	{Version: 2, AuthType: advert.AuthAH, AuthPass: auth.MustPassword("key12345"), VIPs: fuzzVIPs("10.0.0.100/24"), // v2-ah-unicast
		Peers: []netip.Addr{fuzzPeer4, netip.MustParseAddr("10.0.0.3")}},
	{Version: 3, VIPs: fuzzVIPs("10.0.0.100/24", "10.0.0.101/32")},                // v3-ipv4-mcast
	{Version: 3, VIPs: fuzzVIPs("10.0.0.100/24"), Peers: []netip.Addr{fuzzPeer4}}, // v3-ipv4-unicast
	{Version: 3, VIPs: fuzzVIPs("10.0.0.100/24", "10.0.0.101/32"), AcceptEitherChecksum: true, // keepalived's
		Checksum: advert.ChecksumNoPseudoHeader}, // v3_checksum_as_v2
	{Version: 3, VIPs: fuzzVIPs("10.0.0.100/24"), Peers: []netip.Addr{fuzzPeer4}, AcceptAnySource: true},
	{Version: 2, VIPs: fuzzVIPs("10.0.0.100/24")}, // v2 without authentication
}

// fuzzConfigs6: v3-ipv6-mcast and v3-ipv6-unicast.
var fuzzConfigs6 = []vrrp.Config{
	{Version: 3, IPv6: true, VIPs: fuzzVIPs("fd00::100/64", "fd00::101/128")},
	{Version: 3, IPv6: true, VIPs: fuzzVIPs("fd00::100/64"), Peers: []netip.Addr{fuzzPeer6}, UnicastSrc: fuzzSelf6},
}

// fuzzPriorities: below, equal to (200) and above the captures' sender,
// and the address owner.
var fuzzPriorities = []int{100, 200, 254, 255}

// fuzzNode is one Node running (Run on a goroutine of its own, inside the
// caller's testing/synctest bubble) on an in-memory LAN of its own: an
// IPv4 and an IPv6 router with the same VRID, as the captures use (51).
type fuzzNode struct {
	t        *testing.T
	clock    *vrrptest.ManualClock
	host     *vrrptest.Host
	node     *vrrp.Node
	cancel   context.CancelFunc
	done     chan error
	routers  []*vrrp.Router
	backends []*vrrptest.Backend
	prio     []int
	// maxInterval bounds the Master_Adver_Interval a v3 backup can learn
	// from an advert (RFC 5798 §5.2.7: 12 bits of centiseconds).
	maxInterval time.Duration
	// mismatch: since when a router's VIPs have not matched its state
	// (the Node holds backend calls while adverts are due, 20 ms at most).
	mismatch []time.Time
}

// fuzzHoldBound is how long a router's VIPs may lag its state: the
// Node's hold policy delays backend calls by 20 ms at most.
const fuzzHoldBound = 25 * time.Millisecond

// newFuzzNode starts the routers mode selects: bits 0-2 the IPv4 config,
// bit 3 the IPv6 one, bits 4-5 the priority, bit 6 nopreempt.
func newFuzzNode(t *testing.T, mode uint8) *fuzzNode {
	clock := vrrptest.NewManualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Seed: 1, Clock: clock})
	h := lan.AddHost(vrrptest.HostConfig{Name: "h2", Addrs: []netip.Addr{fuzzSelf4, fuzzSelf6, fuzzLL6}})
	n, err := vrrp.NewNode(vrrp.NodeConfig{Clock: clock, Network: h})
	if err != nil {
		t.Fatal(err)
	}
	fn := &fuzzNode{t: t, clock: clock, host: h, node: n, maxInterval: 4095 * 10 * time.Millisecond}
	prio := fuzzPriorities[mode>>4&3]
	for _, cfg := range []vrrp.Config{fuzzConfigs4[mode&7], fuzzConfigs6[mode>>3&1]} {
		cfg.VRID = 51
		cfg.Interface = h.Interface()
		cfg.Interval = time.Second
		cfg.Priority = prio
		cfg.NoPreempt = mode&64 != 0 && prio != vrrp.OwnerPriority
		b := &vrrptest.Backend{}
		cfg.Backend = b
		r, err := n.Add(cfg)
		if err != nil {
			t.Fatalf("mode %#x: %v", mode, err)
		}
		fn.routers = append(fn.routers, r)
		fn.backends = append(fn.backends, b)
		fn.prio = append(fn.prio, prio)
	}
	fn.mismatch = make([]time.Time, len(fn.routers))
	ctx, cancel := context.WithCancel(context.Background())
	fn.cancel, fn.done = cancel, make(chan error, 1)
	go func() { fn.done <- n.Run(ctx) }()
	synctest.Wait()
	return fn
}

// stop stops the Node and waits for Run.
func (fn *fuzzNode) stop() {
	fn.cancel()
	synctest.Wait()
	if err := <-fn.done; err != nil {
		fn.t.Fatalf("Run: %v", err)
	}
}

// advance moves the clock d on, instant by instant, checking the routers'
// state after each.
func (fn *fuzzNode) advance(d time.Duration) {
	target := fn.clock.Now().Add(d)
	synctest.Wait()
	for fn.clock.StepInstant(target) {
		synctest.Wait()
		fn.check("timer")
	}
	fn.clock.AdvanceTo(target)
	synctest.Wait()
	fn.check("advance")
}

// handled sums what the routers counted as received or dropped.
func (fn *fuzzNode) handled() uint64 {
	var sum uint64
	for _, r := range fn.routers {
		s := r.Stats()
		sum += s.AdvertsReceived + s.TotalDrops()
	}
	return sum
}

// fuzzRead is long enough for the Node to read an injected packet (its
// read policy lets packets gather 1 ms).
const fuzzRead = 2 * time.Millisecond

// inject hands p to the Node as if it came off the wire, and lets it be
// read.
func (fn *fuzzNode) inject(p *advert.Packet) {
	before := fn.handled()
	fn.host.Inject(p)
	fn.advance(fuzzRead)
	if d := fn.handled() - before; d > 1 {
		fn.t.Fatalf("one packet was counted %d times", d)
	}
}

// check: whatever arrives, a router on a working link is Backup or Master,
// holds the VIPs exactly while it is Master, and keeps its priority (only
// the program and trackers change it).
func (fn *fuzzNode) check(when string) {
	fn.t.Helper()
	for i, r := range fn.routers {
		st := r.State()
		if st != vrrp.Backup && st != vrrp.Master {
			fn.t.Fatalf("after %s: %s in %v", when, r.Name(), st)
		}
		if held := fn.backends[i].Held(); held != (st == vrrp.Master) {
			now := fn.clock.Now()
			if fn.mismatch[i].IsZero() {
				fn.mismatch[i] = now
			} else if now.Sub(fn.mismatch[i]) > fuzzHoldBound {
				fn.t.Fatalf("after %s: %s is %v but holds VIPs=%v for %v", when, r.Name(), st, held, now.Sub(fn.mismatch[i]))
			}
		} else {
			fn.mismatch[i] = time.Time{}
		}
		if p := r.Priority(); p != fn.prio[i] {
			fn.t.Fatalf("after %s: %s has priority %d, configured %d", when, r.Name(), p, fn.prio[i])
		}
	}
}

// settle lets the network stay silent for longer than the longest
// Master_Down_Interval an advert can ask for: alone on the LAN, every
// router must then be master, whatever it heard before (RFC 5798 §6.4.2).
func (fn *fuzzNode) settle() {
	fn.advance(vrrp.MasterDownInterval(3, 1, fn.maxInterval) + time.Second)
	for _, r := range fn.routers {
		if r.State() != vrrp.Master {
			fn.t.Fatalf("alone and silent for %v, %s is still %v", vrrp.MasterDownInterval(3, 1, fn.maxInterval), r.Name(), r.State())
		}
	}
}

// fuzzReceive runs one input: the routers start, time passes (before),
// the packet arrives, time passes (between), a second packet arrives —
// msg2 from the same source, or without msg2 the same packet again (a
// duplicate, or an AH replay) — and the network goes silent.
//
// Mode bit 7 repairs what random bytes almost never get right, so that
// mutated fields reach the checks behind it: the VRRP checksum, and the AH
// header, sealed again with the captures' key.
func fuzzReceive(t *testing.T, mode uint8, before, between uint16, src, dst []byte, hop uint8, msg, msg2, ah, ipHeader []byte) {
	synctest.Test(t, func(t *testing.T) {
		fuzzReceiveInBubble(t, mode, before, between, src, dst, hop, msg, msg2, ah, ipHeader)
	})
}

func fuzzReceiveInBubble(t *testing.T, mode uint8, before, between uint16, src, dst []byte, hop uint8, msg, msg2, ah, ipHeader []byte) {
	fn := newFuzzNode(t, mode)
	defer fn.stop()
	p := &advert.Packet{Src: fuzzAddr(src), Dst: fuzzAddr(dst), HopLimit: hop, Msg: msg, IPHeader: ipHeader}
	if len(ah) > 0 {
		p.AH = ah
	}
	p2 := *p
	if len(msg2) > 0 {
		p2.Msg = msg2
	}
	if mode&0x80 != 0 {
		unicast := len(fuzzConfigs4[mode&7].Peers) > 0
		repair(p, unicast, 0)
		if len(msg2) > 0 {
			repair(&p2, unicast, 1)
		} else {
			p2 = *p
		}
	}
	fn.advance(time.Duration(before) * time.Millisecond)
	fn.inject(p)
	fn.advance(time.Duration(between) * time.Millisecond)
	fn.inject(&p2)
	fn.settle()
}

// fuzzAHKey is the captures' AH key (auth_pass key12345).
var fuzzAHKey = func() auth.Password {
	k, err := auth.NewPassword("key12345")
	if err != nil {
		panic(err)
	}
	return k
}()

// repair gives p's message a correct VRRP checksum (RFC 3768 §5.3.8, RFC
// 5798 §5.2.8: v3 with the pseudo-header), and if p has AH, an IPv4 header
// and AH header sealed with fuzzAHKey and the AH header's sequence number
// plus seqAdd. Msg, IPHeader and AH are copied, never changed in place.
func repair(p *advert.Packet, unicast bool, seqAdd uint32) {
	msg := append([]byte(nil), p.Msg...)
	if len(msg) >= 8 {
		msg[6], msg[7] = 0, 0
		acc := fuzzCsum(0, msg)
		if msg[0]>>4 == 3 {
			acc = fuzzCsum(acc, p.Src.AsSlice())
			acc = fuzzCsum(acc, p.Dst.AsSlice())
			acc += uint64(len(msg)) + 112
		}
		for acc > 0xffff {
			acc = acc&0xffff + acc>>16
		}
		binary.BigEndian.PutUint16(msg[6:], ^uint16(acc))
	}
	p.Msg = msg
	if p.AH == nil || !p.Src.Is4() || !p.Dst.Is4() {
		return
	}
	ip := make([]byte, 20)
	copy(ip, p.IPHeader)
	ip[0], ip[8], ip[9] = 0x45, p.HopLimit, 51
	binary.BigEndian.PutUint16(ip[2:], uint16(20+24+len(msg)))
	if ip[4] == 0 && ip[5] == 0 {
		ip[5] = 1
	}
	src, dst := p.Src.As4(), p.Dst.As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	seq := seqAdd
	if len(p.AH) >= 12 {
		seq += binary.BigEndian.Uint32(p.AH[8:12])
	}
	ah := make([]byte, 24)
	if auth.NewAH(fuzzAHKey, unicast, 0).SealAH(ah, ip, msg, max(seq, 1)) == nil {
		p.IPHeader, p.AH = ip, ah
	}
}

// fuzzCsum adds b to a one's-complement sum as 16-bit words (RFC 1071).
func fuzzCsum(acc uint64, b []byte) uint64 {
	for ; len(b) >= 2; b = b[2:] {
		acc += uint64(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fuzzSeeds are the VRRP packets keepalived 2.2.7 sent in the captures,
// each with the mode whose IPv4 or IPv6 router is configured as its peer.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	tb.Helper()
	captures := []struct {
		name string
		mode uint8
	}{
		{"v2-pass-mcast", 0},
		{"v2-ah-mcast", 1},
		{"v2-ah-unicast", 2},
		{"v3-ipv4-mcast", 3},
		{"v3-ipv4-unicast", 4},
		{"v3-ipv6-mcast", 0},
		{"v3-ipv6-unicast", 8},
	}
	var seeds []fuzzSeed
	for _, c := range captures {
		frames, err := pcapfile.ReadFile(filepath.Join("..", "advert", "testdata", c.name+".pcap"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range frames {
			ip, err := f.IP()
			if err != nil {
				continue
			}
			s := fuzzSeed{name: c.name, mode: c.mode, src: ip.Src.AsSlice(), dst: ip.Dst.AsSlice(), hop: ip.TTL}
			switch ip.Protocol {
			case 112:
				s.msg = ip.Payload
			case 51: // AH: 24 bytes, then the VRRP message
				if len(ip.Payload) < 24 {
					continue
				}
				s.ah, s.msg, s.ipHeader = ip.Payload[:24], ip.Payload[24:], ip.Header
			default:
				continue
			}
			if k := len(seeds) - 1; k >= 0 && seeds[k].name == s.name && fuzzAddr(seeds[k].src) == ip.Src {
				seeds[k].next = s.msg
			}
			seeds = append(seeds, s)
		}
	}
	if len(seeds) == 0 {
		tb.Fatal("no VRRP packet in the captures")
	}
	return seeds
}

type fuzzSeed struct {
	next              []byte // the message the same sender sent next
	name              string
	mode              uint8
	src, dst          []byte
	hop               uint8
	msg, ah, ipHeader []byte
}

// FuzzReceive feeds arbitrary packets — message, AH header, IPv4 header,
// source, destination, hop limit — to a Node's receive path, at arbitrary
// times, in every mode of the captures: nothing panics, and the routers
// stay in states the protocol allows (see fuzzNode.check and settle).
func FuzzReceive(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		// As backup (at once) and as master (after the first
		// Master_Down_Interval), with each priority.
		for _, prio := range []uint8{0x00, 0x10, 0x30} { // mode bits 4-5
			for _, before := range []uint16{0, 5000} {
				f.Add(s.mode|prio, before, uint16(1000), s.src, s.dst, s.hop, s.msg, []byte(nil), s.ah, s.ipHeader)
				f.Add(s.mode|prio|0x80, before, uint16(1000), s.src, s.dst, s.hop, s.msg, s.next, s.ah, s.ipHeader)
			}
		}
	}
	f.Fuzz(fuzzReceive)
}

// TestReceiveCapturedAdverts runs the fuzz seeds as a test, and checks
// that keepalived's own packets reach the state machine in the mode they
// are seeded with (rather than all being dropped), as they are and
// repaired (so repair keeps a valid packet valid), and that a repaired
// packet with a changed priority does too: the fuzzer starts from the
// paths that matter.
func TestReceiveCapturedAdverts(t *testing.T) {
	reached := make(map[string]bool)
	for i, s := range fuzzSeeds(t) {
		for _, variant := range []string{"raw", "repaired", "priority"} {
			t.Run(fmt.Sprintf("%s/%d/%s", s.name, i, variant), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					fn := newFuzzNode(t, s.mode)
					defer fn.stop()
					p := &advert.Packet{Src: fuzzAddr(s.src), Dst: fuzzAddr(s.dst), HopLimit: s.hop, Msg: s.msg, AH: s.ah, IPHeader: s.ipHeader}
					switch variant {
					case "repaired":
						repair(p, len(fuzzConfigs4[s.mode&7].Peers) > 0, 0)
					case "priority":
						p.Msg = append([]byte(nil), p.Msg...)
						p.Msg[2] ^= 0x40
						repair(p, len(fuzzConfigs4[s.mode&7].Peers) > 0, 0)
					}
					fn.inject(p)
					for _, r := range fn.routers {
						if r.Stats().AdvertsReceived > 0 {
							reached[s.name+"/"+variant] = true
						}
					}
					fn.advance(time.Second)
					fn.inject(p)
					fn.settle()
				})
			})
		}
	}
	for _, s := range fuzzSeeds(t) {
		for _, variant := range []string{"raw", "repaired", "priority"} {
			if !reached[s.name+"/"+variant] {
				t.Errorf("no %s advert of %s reached the state machine", variant, s.name)
			}
		}
	}
}
