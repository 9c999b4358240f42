package auth

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// t0 is the wall clock of the scenarios: 1 December 2026, 12:00 UTC.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// v3Msg is a VRRPv3 advert for VRID 51 at priority 200 with one IPv4
// address, as keepalived sends it (its checksum is not covered).
var v3Msg = []byte{0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0x00, 0x00, 10, 0, 0, 100}

func testKey(t testing.TB, id int) Key {
	t.Helper()
	k, err := NewKey(id, bytes.Repeat([]byte{byte(id)}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testConfig(t testing.TB) HMACConfig {
	return HMACConfig{Keys: []Key{testKey(t, 1)}, ActiveKey: 1, Interval: time.Second}
}

// sealAt seals v3Msg from src at now and returns message and trailer.
func sealAt(t testing.TB, h *HMAC, src netip.Addr, now time.Time) (msg, trailer []byte, seq Seq) {
	t.Helper()
	b, seq, err := h.Seal(bytes.Clone(v3Msg), v3Msg, src, now)
	if err != nil {
		t.Fatal(err)
	}
	return b[:len(v3Msg)], b[len(v3Msg):], seq
}

func TestHMACConfigValidation(t *testing.T) {
	k1, k2 := testKey(t, 1), testKey(t, 2)
	for _, c := range []struct {
		name string
		cfg  HMACConfig
	}{
		{"no keys", HMACConfig{ActiveKey: 1}},
		{"the zero Key", HMACConfig{Keys: []Key{{}}, ActiveKey: 0}},
		{"two keys with one id", HMACConfig{Keys: []Key{k1, k1}, ActiveKey: 1}},
		{"active key not configured", HMACConfig{Keys: []Key{k1, k2}, ActiveKey: 3}},
		{"window of a fraction of a second", HMACConfig{Keys: []Key{k1}, ActiveKey: 1, Window: 1500 * time.Millisecond}},
		{"window above 300 s", HMACConfig{Keys: []Key{k1}, ActiveKey: 1, Window: 301 * time.Second}},
		{"negative window", HMACConfig{Keys: []Key{k1}, ActiveKey: 1, Window: -time.Second}},
		{"unknown rollout", HMACConfig{Keys: []Key{k1}, ActiveKey: 1, Rollout: 3}},
		{"unknown anti-replay", HMACConfig{Keys: []Key{k1}, ActiveKey: 1, AntiReplay: 2}},
	} {
		if _, err := NewHMAC(c.cfg); !errors.Is(err, ErrHMACConfig) {
			t.Errorf("%s: %v, want ErrHMACConfig", c.name, err)
		}
	}
	if _, err := NewHMAC(HMACConfig{Keys: []Key{k1, k2}, ActiveKey: 2, Window: 300 * time.Second}); err != nil {
		t.Error(err)
	}
}

// keepalived 2.4.3's default window, as its data dump (SIGUSR1) showed it
// for these advert_int values.
func TestDefaultWindowMatchesKeepalived(t *testing.T) {
	for _, c := range []struct {
		interval, window time.Duration
	}{
		{0, 5 * time.Second},
		{500 * time.Millisecond, 5 * time.Second},
		{time.Second, 5 * time.Second},
		{1500 * time.Millisecond, 5 * time.Second},
		{1900 * time.Millisecond, 5 * time.Second},
		{2100 * time.Millisecond, 6 * time.Second},
		{2500 * time.Millisecond, 6 * time.Second},
		{3 * time.Second, 9 * time.Second},
		{200 * time.Second, 300 * time.Second},
	} {
		if got := DefaultWindow(c.interval); got != c.window {
			t.Errorf("DefaultWindow(%v) = %v, keepalived uses %v", c.interval, got, c.window)
		}
	}
	h := mustHMAC(t, HMACConfig{Keys: []Key{testKey(t, 1)}, ActiveKey: 1, Interval: 3 * time.Second})
	if h.Window() != 9*time.Second {
		t.Errorf("Window() = %v with a 3 s interval", h.Window())
	}
}

// The rollout modes: enforce refuses an unsigned advert, the migration
// modes accept it; a signed advert must verify in every mode; only
// receive-only sends unsigned.
func TestRolloutDecisions(t *testing.T) {
	signer := mustHMAC(t, testConfig(t))
	msg, good, _ := sealAt(t, signer, h1, t0)
	bad := bytes.Clone(good)
	bad[20] ^= 1
	for _, c := range []struct {
		mode     Rollout
		unsigned error
		signs    bool
	}{
		{RolloutEnforce, ErrTrailerMissing, true},
		{RolloutPermissive, nil, true},
		{RolloutReceiveOnly, nil, false},
	} {
		cfg := testConfig(t)
		cfg.Rollout = c.mode
		h := mustHMAC(t, cfg)
		if _, err := h.Receive(msg, nil, h1, t0); err != c.unsigned {
			t.Errorf("%v: unsigned advert: %v, want %v", c.mode, err, c.unsigned)
		}
		if _, err := h.Receive(msg, bad, h1, t0); err != ErrTrailerHMAC {
			t.Errorf("%v: advert with a bad trailer: %v, want ErrTrailerHMAC", c.mode, err)
		}
		if _, err := h.Receive(msg, good, h1, t0); err != nil {
			t.Errorf("%v: signed advert: %v", c.mode, err)
		}
		b, seq, err := h.Seal(bytes.Clone(v3Msg), v3Msg, h2, t0)
		if err != nil || (len(b) == len(v3Msg)+TrailerLen) != c.signs || (seq != 0) != c.signs || h.Signs() != c.signs {
			t.Errorf("%v: Seal appended %d bytes, seq %v, %v; want signing %v", c.mode, len(b)-len(v3Msg), seq, err, c.signs)
		}
	}
}

// A group moves from unsigned to enforce in three sweeps, node by node,
// and at every step every advert on the wire is accepted by every node.
func TestRolloutSweepsAreHitless(t *testing.T) {
	const nodes = 3
	srcs := []netip.Addr{h1, h2, h3}
	// mode[i] < 0: node i runs without auth_hmac (signs nothing, verifies
	// nothing: a signed advert reaching it would be a failure).
	mode := []int{-1, -1, -1}
	hs := make([]*HMAC, nodes)
	now := t0
	check := func(step string) {
		t.Helper()
		for s := range nodes {
			now = now.Add(100 * time.Millisecond)
			var trailer []byte
			if mode[s] >= 0 {
				var err error
				var b []byte
				if b, _, err = hs[s].Seal(bytes.Clone(v3Msg), v3Msg, srcs[s], now); err != nil {
					t.Fatal(err)
				}
				trailer = b[len(v3Msg):]
			}
			for r := range nodes {
				if r == s {
					continue
				}
				switch {
				case mode[r] < 0 && len(trailer) > 0:
					t.Fatalf("%s: node %d, without auth_hmac, receives a signed advert from node %d", step, r, s)
				case mode[r] < 0:
				default:
					if _, err := hs[r].Receive(v3Msg, trailer, srcs[s], now); err != nil {
						t.Fatalf("%s: node %d refuses node %d's advert: %v", step, r, s, err)
					}
				}
			}
		}
	}
	check("unsigned")
	for _, to := range []Rollout{RolloutReceiveOnly, RolloutPermissive, RolloutEnforce} {
		for i := range nodes {
			cfg := testConfig(t)
			cfg.Rollout = to
			if hs[i] == nil {
				hs[i] = mustHMAC(t, cfg)
			} else if err := hs[i].Reconfigure(cfg); err != nil {
				t.Fatal(err)
			}
			mode[i] = int(to)
			check(to.String() + " on node " + string(rune('1'+i)))
		}
	}
}

// Key rotation across a group without a refused advert: add key 2
// everywhere, move the active key to 2 node by node, remove key 1. The
// replay state survives each reload.
func TestKeyRotationIsHitless(t *testing.T) {
	k1, k2 := testKey(t, 1), testKey(t, 2)
	a := mustHMAC(t, HMACConfig{Keys: []Key{k1}, ActiveKey: 1})
	b := mustHMAC(t, HMACConfig{Keys: []Key{k1}, ActiveKey: 1})
	now := t0
	exchange := func(step string) {
		t.Helper()
		for _, p := range []struct {
			tx, rx *HMAC
			src    netip.Addr
		}{{a, b, h1}, {b, a, h2}} {
			now = now.Add(time.Second)
			msg, tr, _ := sealAt(t, p.tx, p.src, now)
			if _, err := p.rx.Verify(msg, tr, p.src, now); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
	}
	exchange("key 1")
	oldAt := now
	old, oldTr, _ := sealAt(t, a, h1, oldAt)
	if _, err := b.Verify(old, oldTr, h1, oldAt); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name   string
		h      *HMAC
		keys   []Key
		active int
	}{
		{"add key 2 on a", a, []Key{k1, k2}, 1},
		{"add key 2 on b", b, []Key{k1, k2}, 1},
		{"a signs with key 2", a, []Key{k1, k2}, 2},
		{"b signs with key 2", b, []Key{k1, k2}, 2},
		{"remove key 1 from a", a, []Key{k2}, 2},
		{"remove key 1 from b", b, []Key{k2}, 2},
	} {
		if err := step.h.Reconfigure(HMACConfig{Keys: step.keys, ActiveKey: step.active}); err != nil {
			t.Fatal(err)
		}
		exchange(step.name)
	}
	if _, err := b.Verify(old, oldTr, h1, oldAt); err != ErrUnknownKeyID {
		t.Errorf("an advert sealed with the removed key 1: %v, want ErrUnknownKeyID", err)
	}
	// Sealed with key 2 before the reload that kept it: still a replay.
	msg, tr, _ := sealAt(t, a, h1, now)
	if _, err := b.Verify(msg, tr, h1, now); err != nil {
		t.Fatal(err)
	}
	if err := b.Reconfigure(HMACConfig{Keys: []Key{k1, k2}, ActiveKey: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(msg, tr, h1, now); err != ErrTrailerReplay {
		t.Errorf("a replay after a reload: %v, want ErrTrailerReplay", err)
	}
}

// Seal, Verify and every rejection allocate nothing.
func TestHMACAllocatesNothing(t *testing.T) {
	tx, rx := mustHMAC(t, testConfig(t)), mustHMAC(t, testConfig(t))
	buf := make([]byte, 0, 64)
	now := t0
	var msg, tr []byte
	if n := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Millisecond)
		b, _, err := tx.Seal(append(buf[:0], v3Msg...), v3Msg, h1, now)
		if err != nil {
			t.Fatal(err)
		}
		msg, tr = b[:len(v3Msg)], b[len(v3Msg):]
		if _, err := rx.Verify(msg, tr, h1, now); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Seal and Verify: %v allocations", n)
	}
	stale := now.Add(time.Hour)
	badKey := bytes.Clone(tr)
	badKey[1] = 9
	badMAC := bytes.Clone(tr)
	badMAC[27] ^= 1
	for _, c := range []struct {
		name string
		tr   []byte
		at   time.Time
		want error
	}{
		{"replay", tr, now, ErrTrailerReplay},
		{"stale", tr, stale, ErrTrailerStale},
		{"unknown key", badKey, now, ErrUnknownKeyID},
		{"bad HMAC", badMAC, now, ErrTrailerHMAC},
		{"malformed", tr[:20], now, ErrTrailerMalformed},
	} {
		if n := testing.AllocsPerRun(100, func() {
			if _, err := rx.Verify(msg, c.tr, h1, c.at); err != c.want {
				t.Fatalf("%s: %v", c.name, err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations", c.name, n)
		}
	}
}
