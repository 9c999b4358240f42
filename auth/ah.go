package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"math"
	"net/netip"
	"sync"
)

// Wire constants of keepalived's AH (RFC 2402 / RFC 4302 layout).
const (
	// ProtocolAH is the IP protocol number of IPsec AH.
	ProtocolAH = 51
	// AHLen is the AH header keepalived sends: 12 bytes of header and a
	// 96-bit ICV.
	AHLen = 24

	protocolVRRP = 112
	ahPayloadLen = AHLen/4 - 2 // RFC 4302 §2.2: length in 32-bit words, minus 2
	icvLen       = 12          // HMAC-MD5-96 (RFC 2403)
	ipv4Len      = 20          // keepalived sends no IP options

	opSeal   = "seal AH"
	opVerify = "verify AH"
)

// MaxSenders bounds the per-sender replay table. A VRRP group has a handful
// of routers; only packets whose ICV verified (senders that hold the key)
// enter the table, and beyond MaxSenders the sender heard from least
// recently is forgotten.
const MaxSenders = 64

// AH is the IPsec AH state of one virtual router, keepalived-compatible:
// VRRPv2 over IPv4 only, HMAC-MD5-96 keyed with the 8-byte password, SPI =
// the sender's IPv4 address. It seals outgoing packets (it implements
// advert.AHSealer), verifies incoming ones, and keeps the sequence numbers:
// see the package documentation for the rules and why. It is safe for
// concurrent use.
type AH struct {
	unicast bool

	mu       sync.Mutex
	mac      hash.Hash
	lastSent uint32
	highest  uint32 // highest sequence number accepted from anyone
	senders  []senderSeq
	tick     uint64 // logical time of the last acceptance, for eviction
	ip       [ipv4Len]byte
	hdr      [AHLen]byte
	sum      [md5.Size]byte
}

// senderSeq is the last sequence number accepted from one sender.
type senderSeq struct {
	src  [4]byte
	seq  uint32
	used uint64
}

// NewAH returns the AH state for a router authenticating with key. unicast
// must match keepalived's notion: true when the router has unicast peers,
// which makes the ICV skip the TTL (keepalived zeroes it then, and only
// then). initialSeq is the sequence number the first advert sent counts up
// from: pass the clock's Unix seconds at start, so that a restarted router
// numbers above what it sent before.
func NewAH(key Password, unicast bool, initialSeq uint32) *AH {
	return &AH{
		unicast:  unicast,
		mac:      hmac.New(md5.New, key[:]),
		lastSent: initialSeq,
		senders:  make([]senderSeq, 0, 4),
	}
}

// NextSeq hands out the sequence number of the next advert: one above both
// the last one sent and the highest one accepted from any sender, so that a
// keepalived peer, which keeps a single counter for both, accepts it. A
// sender that pinned the highest at 2^32-1 is left out: we count on from
// our own last number. An advert sent to several unicast peers carries one
// number: call NextSeq once per advert, not per peer.
func (a *AH) NextSeq() (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := max(a.lastSent, a.highest)
	if n == math.MaxUint32 {
		n = a.lastSent
	}
	if n == math.MaxUint32 {
		return 0, errorf("next AH sequence number", ErrSeqExhausted, "sequence numbers exhausted: last sent %d, highest accepted %d", a.lastSent, a.highest)
	}
	a.lastSent = n + 1
	return n + 1, nil
}

// SealAH fills the 24-byte AH header ah of an outgoing packet: next header
// VRRP, payload length 4, SPI = the IPv4 source of ipHeader, sequence number
// seq, and the ICV computed over ipHeader with its mutable fields zeroed
// (TOS, flags and fragment offset, header checksum, and the TTL in unicast
// mode), the AH header with a zero ICV, and the VRRP message msg. ipHeader
// is the 20-byte IPv4 header exactly as it will be sent; it is not modified.
// Its source address and identification must not be zero (the kernel
// would fill them in after the ICV was computed) and its total length must
// count the AH header and msg.
func (a *AH) SealAH(ah, ipHeader, msg []byte, seq uint32) error {
	if err := checkIPv4(opSeal, ipHeader); err != nil {
		return err
	}
	if err := checkLengths(opSeal, ipHeader, ah, msg, false); err != nil {
		return err
	}
	switch {
	case [4]byte(ipHeader[12:16]) == [4]byte{}:
		return errorf(opSeal, ErrIPHeader, "IPv4 source 0.0.0.0 would be filled in by the kernel after the ICV is computed")
	case ipHeader[4] == 0 && ipHeader[5] == 0:
		return errorf(opSeal, ErrIPHeader, "IPv4 identification 0 would be filled in by the kernel after the ICV is computed")
	case seq == 0:
		return errorf(opSeal, ErrReplay, "sequence number 0 is never accepted (RFC 4302 §3.3.2)")
	}
	ah[0] = protocolVRRP
	ah[1] = ahPayloadLen
	ah[2], ah[3] = 0, 0
	copy(ah[4:8], ipHeader[12:16])
	binary.BigEndian.PutUint32(ah[8:12], seq)
	a.mu.Lock()
	defer a.mu.Unlock()
	copy(ah[12:], a.icv(ipHeader, ah, msg, a.unicast))
	a.lastSent = max(a.lastSent, seq)
	return nil
}

// Verify checks a received AH packet: the IPv4 header as received, the AH
// header and the VRRP message after it. It checks the layout, then the ICV
// (nothing else in a packet is trusted before), then that the SPI is the
// source address and the next header VRRP, and last the sequence number,
// which must be above the last one accepted from that source. A packet that
// passes is recorded: the same packet again is ErrReplay. The error wraps
// one sentinel per class (ErrIPHeader, ErrAHLength, ErrICV, ErrSPI,
// ErrNextHeader, ErrReplay).
func (a *AH) Verify(ipHeader, ah, msg []byte) error {
	if err := checkIPv4(opVerify, ipHeader); err != nil {
		return err
	}
	if err := checkLengths(opVerify, ipHeader, ah, msg, true); err != nil {
		return err
	}
	src := [4]byte(ipHeader[12:16])
	a.mu.Lock()
	defer a.mu.Unlock()
	if subtle.ConstantTimeCompare(a.icv(ipHeader, ah, msg, a.unicast), ah[12:AHLen]) != 1 {
		why := "wrong key or modified packet"
		if subtle.ConstantTimeCompare(a.icv(ipHeader, ah, msg, !a.unicast), ah[12:AHLen]) == 1 {
			if a.unicast {
				why = "it verifies with the TTL included: the sender is in multicast mode, this router in unicast mode"
			} else {
				why = "it verifies with the TTL zeroed: the sender is in unicast mode, this router in multicast mode"
			}
		}
		return errorf(opVerify, ErrICV, "ICV from %v does not match: %s", netip.AddrFrom4(src), why)
	}
	if spi := [4]byte(ah[4:8]); spi != src {
		return errorf(opVerify, ErrSPI, "SPI %v from %v: keepalived sets the SPI to the source address", netip.AddrFrom4(spi), netip.AddrFrom4(src))
	}
	if ah[0] != protocolVRRP {
		return errorf(opVerify, ErrNextHeader, "next header %d from %v, want %d (VRRP)", ah[0], netip.AddrFrom4(src), protocolVRRP)
	}
	seq := binary.BigEndian.Uint32(ah[8:12])
	i := a.find(src)
	switch {
	case seq == 0:
		return errorf(opVerify, ErrReplay, "sequence number 0 from %v", netip.AddrFrom4(src))
	case i >= 0 && seq <= a.senders[i].seq:
		return errorf(opVerify, ErrReplay, "sequence number %d from %v, not above %d already accepted",
			seq, netip.AddrFrom4(src), a.senders[i].seq)
	}
	a.accept(i, src, seq)
	return nil
}

// Forget drops what was accepted from src, so that its next packet is
// accepted whatever its sequence number: for a peer known to have
// restarted with a lower counter (keepalived starts from 0).
func (a *AH) Forget(src netip.Addr) {
	if !src.Is4() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if i := a.find(src.As4()); i >= 0 {
		a.senders = append(a.senders[:i], a.senders[i+1:]...)
	}
}

// Seqs reports the last sequence number sent (or the initial one) and the
// highest accepted from any sender.
func (a *AH) Seqs() (lastSent, highestAccepted uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastSent, a.highest
}

// Accepted reports the last sequence number accepted from src, if any is
// remembered.
func (a *AH) Accepted(src netip.Addr) (seq uint32, ok bool) {
	if !src.Is4() {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if i := a.find(src.As4()); i >= 0 {
		return a.senders[i].seq, true
	}
	return 0, false
}

func (a *AH) find(src [4]byte) int {
	for i := range a.senders {
		if a.senders[i].src == src {
			return i
		}
	}
	return -1
}

// accept records seq from src, whose entry is senders[i] (-1: none).
func (a *AH) accept(i int, src [4]byte, seq uint32) {
	a.tick++
	switch {
	case i >= 0:
	case len(a.senders) < MaxSenders:
		a.senders = append(a.senders, senderSeq{src: src})
		i = len(a.senders) - 1
	default:
		i = 0
		for j := range a.senders {
			if a.senders[j].used < a.senders[i].used {
				i = j
			}
		}
		a.senders[i] = senderSeq{src: src}
	}
	a.senders[i].seq = seq
	a.senders[i].used = a.tick
	a.highest = max(a.highest, seq)
}

// icv computes the ICV of a packet, as keepalived does, over copies of
// ipHeader and ah with the mutable fields and the ICV zeroed. The caller
// holds a.mu; the result points into a.sum.
func (a *AH) icv(ipHeader, ah, msg []byte, zeroTTL bool) []byte {
	copy(a.ip[:], ipHeader)
	a.ip[1] = 0               // TOS
	a.ip[6], a.ip[7] = 0, 0   // flags, fragment offset
	a.ip[10], a.ip[11] = 0, 0 // header checksum
	if zeroTTL {
		a.ip[8] = 0
	}
	copy(a.hdr[:12], ah[:12])
	clear(a.hdr[12:])
	a.mac.Reset()
	a.mac.Write(a.ip[:])
	a.mac.Write(a.hdr[:])
	a.mac.Write(msg)
	return a.mac.Sum(a.sum[:0])[:icvLen]
}

// checkIPv4 checks that h is an IPv4 header without options, carrying AH.
func checkIPv4(op string, h []byte) error {
	switch {
	case len(h) < ipv4Len:
		return errorf(op, ErrIPHeader, "IPv4 header of %d bytes, want %d", len(h), ipv4Len)
	case h[0]>>4 != 4:
		return errorf(op, ErrIPHeader, "IP version %d, want 4", h[0]>>4)
	case h[0]&0x0f != ipv4Len/4 || len(h) != ipv4Len:
		return errorf(op, ErrIPHeader, "IPv4 header of %d bytes (IHL %d): IP options are not supported, keepalived sends none",
			len(h), h[0]&0x0f)
	case h[9] != ProtocolAH:
		return errorf(op, ErrIPHeader, "IP protocol %d, want %d (AH)", h[9], ProtocolAH)
	}
	return nil
}

// checkLengths checks the AH header's size and the IPv4 total length; on
// receive also the AH payload length field.
func checkLengths(op string, ipHeader, ah, msg []byte, received bool) error {
	if len(ah) != AHLen {
		return errorf(op, ErrAHLength, "AH header of %d bytes, want %d", len(ah), AHLen)
	}
	if received && ah[1] != ahPayloadLen {
		return errorf(op, ErrAHLength, "AH payload length %d, want %d (a 96-bit ICV)", ah[1], ahPayloadLen)
	}
	if total, want := int(binary.BigEndian.Uint16(ipHeader[2:4])), ipv4Len+AHLen+len(msg); total != want {
		return errorf(op, ErrAHLength, "IPv4 total length %d, the packet has %d bytes", total, want)
	}
	return nil
}
