package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Freshness window of AntiReplayTime: whole seconds, 1 s to 300 s.
const (
	MinWindow = time.Second
	MaxWindow = 300 * time.Second

	windowFloor = 5 * time.Second
)

// DefaultWindow is keepalived 2.4.3's freshness window for an advert
// interval: 3 × the interval's whole seconds (a fraction is dropped: 2.5 s
// gives 6 s), at least 5 s and at most 300 s.
func DefaultWindow(interval time.Duration) time.Duration {
	w := 3 * (interval / time.Second) * time.Second
	return min(max(w, windowFloor), MaxWindow)
}

// HMACConfig is a router's auth_hmac: keepalived 2.4's auth_hmac block.
type HMACConfig struct {
	// Keys are every key a received advert may be sealed with; ids must
	// be distinct. Add a key everywhere before any node signs with it.
	Keys []Key
	// ActiveKey is the id of the key that seals sent adverts; it must be
	// among Keys (also in RolloutReceiveOnly, as keepalived requires).
	ActiveKey int
	// AntiReplay is how received sequences are judged; the zero value is
	// AntiReplayTime, keepalived's default.
	AntiReplay AntiReplay
	// Window is AntiReplayTime's freshness window, whole seconds in
	// 1 s..300 s; zero means DefaultWindow(Interval). Unused in
	// AntiReplayMonotonic.
	Window time.Duration
	// Interval is the router's advert interval, for the default Window.
	Interval time.Duration
	// Rollout is the deployment mode; the zero value is RolloutEnforce.
	Rollout Rollout
}

// HMAC is the auth_hmac state of one virtual router, byte-compatible with
// keepalived 2.4.3 (draft-cassen-vrrp-auth-hmac): it numbers and seals
// sent adverts and verifies received ones, with per-sender replay state.
// See the package documentation for the rules and why.
//
// An HMAC reads no clock and does no I/O: every call that needs the time
// is given it. It allocates nothing after NewHMAC, rejections included. It
// is not safe for concurrent use: the protocol core that owns the router
// calls it, from one goroutine.
type HMAC struct {
	cfg      HMACConfig
	window   int32 // seconds
	macs     []keyMAC
	index    [MaxKeyID + 1]uint8 // key id → 1 + index into macs; 0: none
	active   int                 // index into macs
	lastSent Seq
	sent     bool
	replay   replayTable
	pseudo   [pseudoLen]byte
	sum      [sha256.Size]byte
}

type keyMAC struct {
	key Key
	mac hash.Hash
}

var zeros [hmacLen]byte

// NewHMAC returns the auth_hmac state for a router configured with cfg,
// or ErrHMACConfig saying what cannot run.
func NewHMAC(cfg HMACConfig) (*HMAC, error) {
	h := &HMAC{replay: replayTable{senders: make([]senderMark, 0, 4)}}
	if err := h.Reconfigure(cfg); err != nil {
		return nil, err
	}
	return h, nil
}

// Reconfigure applies a new configuration — keys added or removed, another
// active key, another mode — keeping the sequence state and what was
// accepted from every sender, so that a reload causes no transition and
// opens no replay. On error nothing changes.
func (h *HMAC) Reconfigure(cfg HMACConfig) error {
	const op = "configure auth_hmac"
	if len(cfg.Keys) == 0 {
		return errorf(op, ErrHMACConfig, "no keys")
	}
	var index [MaxKeyID + 1]uint8
	macs := make([]keyMAC, 0, len(cfg.Keys))
	active := -1
	for _, k := range cfg.Keys {
		if k.IsZero() {
			return errorf(op, ErrHMACConfig, "a zero Key (make keys with NewKey)")
		}
		if index[k.ID()] != 0 {
			return errorf(op, ErrHMACConfig, "two keys with id %d", k.ID())
		}
		if k.ID() == cfg.ActiveKey {
			active = len(macs)
		}
		macs = append(macs, keyMAC{key: k, mac: hmac.New(sha256.New, k.secret())})
		index[k.ID()] = uint8(len(macs))
	}
	if active < 0 {
		return errorf(op, ErrHMACConfig, "active key %d is not among the keys", cfg.ActiveKey)
	}
	switch {
	case cfg.AntiReplay > AntiReplayMonotonic:
		return errorf(op, ErrHMACConfig, "unknown anti-replay mode %v", cfg.AntiReplay)
	case cfg.Rollout > RolloutReceiveOnly:
		return errorf(op, ErrHMACConfig, "unknown rollout mode %v", cfg.Rollout)
	case cfg.Interval < 0:
		return errorf(op, ErrHMACConfig, "negative interval %v", cfg.Interval)
	}
	w := cfg.Window
	if w == 0 {
		w = DefaultWindow(cfg.Interval)
	}
	if w < MinWindow || w > MaxWindow || w%time.Second != 0 {
		return errorf(op, ErrHMACConfig, "freshness window %v, want whole seconds in %v..%v", cfg.Window, MinWindow, MaxWindow)
	}
	cfg.Keys = slices.Clone(cfg.Keys)
	h.cfg, h.window, h.macs, h.index, h.active = cfg, int32(w/time.Second), macs, index, active
	return nil
}

// Config returns the configuration in force (with its own copy of Keys).
func (h *HMAC) Config() HMACConfig {
	c := h.cfg
	c.Keys = slices.Clone(c.Keys)
	return c
}

// Window is the freshness window in force (AntiReplayTime only).
func (h *HMAC) Window() time.Duration { return time.Duration(h.window) * time.Second }

// Signs reports whether sent adverts carry a trailer (not in
// RolloutReceiveOnly).
func (h *HMAC) Signs() bool { return h.cfg.Rollout.Signs() }

// NextSeq hands out the sequence of the next advert sent at now: the
// clock's (SeqAt(now)) when it is newer than the last one sent, else the
// last one plus one, so that receivers see strictly growing sequences
// however the clock moves. In AntiReplayTime, a last sequence whose
// seconds are ahead of the clock by more than the window — left there by
// a clock that was stepped forward and then corrected — is abandoned for
// the clock's, because receivers would refuse it as stale (keepalived
// 2.4.3 does the same). Call it once per advert: the copies sent to
// several unicast peers carry one sequence.
func (h *HMAC) NextSeq(now time.Time) Seq {
	clk := SeqAt(now)
	next := h.lastSent + 1
	switch {
	case !h.sent || clk.After(h.lastSent):
		next = clk
	case h.cfg.AntiReplay == AntiReplayTime && -secondsBehind(now, h.lastSent.Seconds()) > h.window:
		next = clk
	}
	h.lastSent, h.sent = next, true
	return next
}

// ResumeAfter makes the next sequences newer than seq: for a router that
// kept the last sequence of its previous run, so that a restart after a
// clock step backwards is still accepted by peers that remember it.
func (h *HMAC) ResumeAfter(seq Seq) {
	if !h.sent || seq.After(h.lastSent) {
		h.lastSent, h.sent = seq, true
	}
}

// LastSent is the last sequence handed out or sealed, if any.
func (h *HMAC) LastSent() (Seq, bool) { return h.lastSent, h.sent }

// Seal appends the trailer of an advert sent from src at now to b: msg is
// the VRRP message exactly as it will be sent (it may be the end of b), its
// checksum field read as zero, so that the checksum can be written after.
// It numbers the advert with NextSeq and seals it with the active key. In
// RolloutReceiveOnly it appends nothing and returns sequence 0. One Seal
// per advert: the copies to several unicast peers share the trailer. It
// allocates nothing when b has room for TrailerLen more bytes.
func (h *HMAC) Seal(b, msg []byte, src netip.Addr, now time.Time) ([]byte, Seq, error) {
	if !h.Signs() {
		return b, 0, nil
	}
	if err := checkSealInput(msg, src); err != nil {
		return b, 0, err
	}
	seq := h.NextSeq(now)
	b = h.appendTrailer(b, msg, src, seq)
	return b, seq, nil
}

// AppendTrailer appends the trailer of msg sent from src with sequence seq
// to b, sealed with the active key, whatever the rollout mode: Seal
// without the numbering. The last sequence sent becomes seq if seq is
// newer.
func (h *HMAC) AppendTrailer(b, msg []byte, src netip.Addr, seq Seq) ([]byte, error) {
	if err := checkSealInput(msg, src); err != nil {
		return b, err
	}
	b = h.appendTrailer(b, msg, src, seq)
	h.ResumeAfter(seq)
	return b, nil
}

func checkSealInput(msg []byte, src netip.Addr) error {
	switch {
	case len(msg) < msgMinLen:
		return errorf("seal auth_hmac", ErrTrailerMalformed, "a VRRP message of %d bytes, its header alone is %d", len(msg), msgMinLen)
	case !src.IsValid():
		return errorf("seal auth_hmac", ErrTrailerMalformed, "no source address: the HMAC covers it")
	}
	return nil
}

func (h *HMAC) appendTrailer(b, msg []byte, src netip.Addr, seq Seq) []byte {
	start := len(b)
	b = slices.Grow(b, TrailerLen)[:start+TrailerLen]
	tr := b[start:]
	km := &h.macs[h.active]
	putTrailerFixed(tr, uint8(km.key.ID()), seq)
	copy(tr[trailerFixed:], h.mac(km.mac, msg, src, tr[:trailerFixed]))
	return b
}

// Verify checks the trailer of an advert received from src at now: msg is
// the VRRP message as received, trailer the bytes after it. In order: the
// layout (ErrTrailerMalformed); in AntiReplayTime, the seconds against the
// freshness window (ErrTrailerStale), before the costly HMAC so that a
// flood of old captures costs little; the key id (ErrUnknownKeyID); the
// HMAC, compared in constant time (ErrTrailerHMAC); and last, once the
// HMAC has verified, the sequence against the newest one accepted from src
// (ErrTrailerReplay), which it then becomes. The error is the sentinel
// itself; the Trailer, decoded as far as it could be, says what arrived
// (its KeyID and Seq) for a log line. Verify allocates nothing.
func (h *HMAC) Verify(msg, trailer []byte, src netip.Addr, now time.Time) (Trailer, error) {
	tr, err := ParseTrailer(trailer)
	if err != nil {
		return tr, err
	}
	if len(msg) < msgMinLen || !src.IsValid() {
		return tr, ErrTrailerMalformed
	}
	if h.cfg.AntiReplay == AntiReplayTime {
		if d := secondsBehind(now, tr.Seq.Seconds()); d > h.window || d < -h.window {
			return tr, ErrTrailerStale
		}
	}
	i := h.index[tr.KeyID]
	if i == 0 {
		return tr, ErrUnknownKeyID
	}
	if subtle.ConstantTimeCompare(h.mac(h.macs[i-1].mac, msg, src, trailer[:trailerFixed]), trailer[trailerFixed:]) != 1 {
		return tr, ErrTrailerHMAC
	}
	if !h.replay.admit(src.WithZone(""), tr.Seq) {
		return tr, ErrTrailerReplay
	}
	return tr, nil
}

// Receive decides an advert received from src at now: with a trailer
// (len(trailer) > 0) it is Verify, in every rollout mode; without, the
// rollout mode decides (Rollout.Unsigned).
func (h *HMAC) Receive(msg, trailer []byte, src netip.Addr, now time.Time) (Trailer, error) {
	if len(trailer) == 0 {
		return Trailer{}, h.cfg.Rollout.Unsigned()
	}
	return h.Verify(msg, trailer, src, now)
}

// Accepted reports the newest sequence accepted from src, if remembered.
func (h *HMAC) Accepted(src netip.Addr) (Seq, bool) {
	if i := h.replay.find(src.WithZone("")); i >= 0 {
		return h.replay.senders[i].seq, true
	}
	return 0, false
}

// Remember records seq as accepted from src unless a newer one is, as if
// an advert with it had verified: for a router restoring the marks of its
// previous run, so that adverts accepted then stay refused.
func (h *HMAC) Remember(src netip.Addr, seq Seq) {
	h.replay.admit(src.WithZone(""), seq)
}

// Forget drops what was accepted from src, so that its next advert is
// judged as a first one: an operator's remedy for a sender whose sequence
// went backwards (its clock and the receivers' stepped forward together
// and back). It does not lower the floor left by evicted senders.
func (h *HMAC) Forget(src netip.Addr) { h.replay.forget(src.WithZone("")) }

// mac computes the 16-byte HMAC over the pseudo-header, msg with a zero
// checksum, the trailer's first 12 bytes fixed and a zero HMAC field. The
// result points into h.sum.
func (h *HMAC) mac(m hash.Hash, msg []byte, src netip.Addr, fixed []byte) []byte {
	putPseudo(&h.pseudo, msg, src)
	m.Reset()
	m.Write(h.pseudo[:])
	m.Write(msg[:6])
	m.Write(zeros[:2])
	m.Write(msg[8:])
	m.Write(fixed)
	m.Write(zeros[:])
	return m.Sum(h.sum[:0])[:hmacLen]
}

// String describes the configuration without secrets, e.g. "auth_hmac
// enforce, active key 2, keys [1 2], time window 5s".
func (c HMACConfig) String() string {
	s := "auth_hmac " + c.Rollout.String() + ", active key " + strconv.Itoa(c.ActiveKey) + ", keys ["
	for i, k := range c.Keys {
		if i > 0 {
			s += " "
		}
		s += strconv.Itoa(k.ID())
	}
	s += "], " + c.AntiReplay.String()
	if c.AntiReplay == AntiReplayTime {
		w := c.Window
		if w == 0 {
			w = DefaultWindow(c.Interval)
		}
		s += " window " + w.String()
	}
	return s
}
