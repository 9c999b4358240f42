package vrrp_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// The scripts' auth_hmac options, in node, hmac and inject:
//
//	hmac=1,2 | keys=1,2   the key ids (secrets derived from keyset and id)
//	active=N              the active key (default: the first id)
//	mode=enforce|permissive|receive-only
//	antireplay=time|monotonic
//	window=D
//	keyset=S              another family of secrets (a wrong key), default "k"
//
//	hmac NAME[/ROUTER] off | OPTIONS...   SetHMAC
//
// inject signs with sign=ID (key ID of keyset), its sequence the clock's
// now, or seqat=D (the clock at D since the start: a captured advert) or
// seqago=D (now − D); unsigned without sign.
type hmacSpec struct {
	ids        []int
	active     int
	mode       auth.Rollout
	antiReplay auth.AntiReplay
	window     time.Duration
	keyset     string
	set        bool
}

// scriptKey is key id of the family set: 32 bytes derived from both.
func scriptKey(set string, id int) auth.Key {
	if set == "" {
		set = "k"
	}
	k, err := auth.NewKey(id, []byte(strings.Repeat(set+"-"+strconv.Itoa(id)+".", 32)[:32]))
	if err != nil {
		panic(err)
	}
	return k
}

// option applies one key=value; ok false: not an auth_hmac option.
func (s *hmacSpec) option(key, val string) (ok bool, err error) {
	switch key {
	case "hmac", "keys":
		s.ids = nil
		for _, v := range strings.Split(val, ",") {
			id, err := strconv.Atoi(v)
			if err != nil {
				return true, err
			}
			s.ids = append(s.ids, id)
		}
	case "active":
		s.active, err = strconv.Atoi(val)
	case "mode":
		switch val {
		case "enforce":
			s.mode = auth.RolloutEnforce
		case "permissive":
			s.mode = auth.RolloutPermissive
		case "receive-only":
			s.mode = auth.RolloutReceiveOnly
		default:
			return true, fmt.Errorf("mode %q", val)
		}
	case "antireplay":
		switch val {
		case "time":
			s.antiReplay = auth.AntiReplayTime
		case "monotonic":
			s.antiReplay = auth.AntiReplayMonotonic
		default:
			return true, fmt.Errorf("antireplay %q", val)
		}
	case "window":
		s.window, err = time.ParseDuration(val)
	case "keyset":
		s.keyset = val
	default:
		return false, nil
	}
	s.set = true
	return true, err
}

func (s *hmacSpec) config() *auth.HMACConfig {
	if !s.set {
		return nil
	}
	c := &auth.HMACConfig{ActiveKey: s.active, Rollout: s.mode, AntiReplay: s.antiReplay, Window: s.window}
	for _, id := range s.ids {
		c.Keys = append(c.Keys, scriptKey(s.keyset, id))
	}
	if c.ActiveKey == 0 && len(s.ids) > 0 {
		c.ActiveKey = s.ids[0]
	}
	return c
}

// cmdHMAC is "hmac NAME[/ROUTER] off | OPTIONS...".
func (w *world) cmdHMAC(args []string) error {
	r, err := w.routerArg(args, 2)
	if err != nil {
		return err
	}
	if args[1] == "off" {
		return r.SetHMAC(nil)
	}
	var s hmacSpec
	for _, a := range args[1:] {
		key, val, _ := strings.Cut(a, "=")
		if ok, err := s.option(key, val); !ok || err != nil {
			return fmt.Errorf("hmac %s: not an auth_hmac option (%v)", a, err)
		}
	}
	return r.SetHMAC(s.config())
}

// injectSigner is what inject needs to sign an advert.
type injectSigner struct {
	sign   int
	keyset string
	seq    func(now time.Time) time.Time
}

func (s *injectSigner) option(w *world, key, val string) (ok bool, err error) {
	switch key {
	case "sign":
		s.sign, err = strconv.Atoi(val)
	case "keyset":
		s.keyset = val
	case "seqat":
		var d time.Duration
		d, err = time.ParseDuration(val)
		s.seq = func(time.Time) time.Time { return w.start.Add(d) }
	case "seqago":
		var d time.Duration
		d, err = time.ParseDuration(val)
		s.seq = func(now time.Time) time.Time { return now.Add(-d) }
	default:
		return false, nil
	}
	return true, err
}

// seal appends the trailer of msg from src, if signing.
func (s *injectSigner) seal(msg []byte, src netip.Addr, now time.Time) ([]byte, error) {
	if s.sign == 0 {
		return msg, nil
	}
	h, err := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{scriptKey(s.keyset, s.sign)}, ActiveKey: s.sign})
	if err != nil {
		return nil, err
	}
	at := now
	if s.seq != nil {
		at = s.seq(now)
	}
	return h.AppendTrailer(msg, msg, src, auth.SeqAt(at))
}
