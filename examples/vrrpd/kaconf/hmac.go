package kaconf

import (
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// HMAC is an instance's auth_hmac block (keepalived 2.4): adverts signed
// with an HMAC-SHA256 trailer, keys rotated by id, replays refused. Every
// field holds the value keepalived 2.4.3 runs with.
type HMAC struct {
	Pos Pos // where auth_hmac is
	// Keys are the key lines, in file order: every key a received advert
	// may be signed with.
	Keys []HMACKey
	// ActiveKey is the id of the key that signs (active_key). Required.
	ActiveKey int
	// AntiReplay is anti_replay time|monotonic. Default time.
	AntiReplay auth.AntiReplay
	// Window is the freshness window of anti_replay time (time_window,
	// whole seconds, 1..300). Default auth.DefaultWindow(AdvertInterval):
	// 3 × the interval's whole seconds, at least 5 s, at most 300 s.
	Window time.Duration
	// Mode is mode enforce|permissive|receive-only. Default enforce.
	Mode auth.Rollout
}

// HMACKey is one key line: `key ID hex:HEX`, `key ID TEXT` (quoted if it
// has blanks) or `key ID file:PATH`, a file holding hex:HEX or TEXT on
// one line.
type HMACKey struct {
	// Key is the id and the secret; it never prints.
	Key auth.Key
	// File is PATH as written for a file: key, empty for a key written in
	// the configuration.
	File string
}

// Config is the block as package auth runs it.
func (h *HMAC) Config(interval time.Duration) auth.HMACConfig {
	c := auth.HMACConfig{ActiveKey: h.ActiveKey, AntiReplay: h.AntiReplay, Window: h.Window,
		Interval: interval, Rollout: h.Mode}
	for _, k := range h.Keys {
		c.Keys = append(c.Keys, k.Key)
	}
	return c
}

// Equal reports whether both are nil or configure the same signing: the
// same keys (secrets compared in constant time, file names too, since a
// reload rereads the file), active key, modes and window.
func (h *HMAC) Equal(o *HMAC) bool {
	if h == nil || o == nil {
		return h == o
	}
	if len(h.Keys) != len(o.Keys) || h.ActiveKey != o.ActiveKey || h.AntiReplay != o.AntiReplay ||
		h.Window != o.Window || h.Mode != o.Mode {
		return false
	}
	for i := range h.Keys {
		if h.Keys[i].File != o.Keys[i].File || !h.Keys[i].Key.Equal(o.Keys[i].Key) {
			return false
		}
	}
	return true
}

// maxKeyFile bounds a key file: a 64-byte key is 132 characters as hex:.
const maxKeyFile = 4096

// hmacDraft is what resolve() needs of an auth_hmac block.
type hmacDraft struct {
	windowPos Pos // time_window, if set
}

// authHMAC parses "auth_hmac { key ID VALUE; active_key ID; anti_replay
// time|monotonic; time_window S; mode enforce|permissive|receive-only }".
// Anything not understood is an error: keepalived runs an instance whose
// auth_hmac it cannot use unsigned ("disabling extension"), and vrrpd
// never does.
func (p *parser) authHMAC(d *instDraft, n *node) {
	if d.in.HMAC != nil {
		p.d.errorf(n.pos, n.keyword(), "set twice in %s (first at %s)", d.in.Name, d.in.HMAC.Pos)
		return
	}
	h := &HMAC{Pos: n.pos}
	d.in.HMAC = h
	activeSet := false
	for _, c := range n.block {
		kw := c.keyword()
		if c.hasBlock {
			p.d.errorf(c.pos, kw, "takes no { } block: vrrpd does not understand this auth_hmac")
			continue
		}
		switch kw {
		case "key":
			p.hmacKey(h, c)
		case "active_key":
			if v, ok := p.exactInt(c, auth.MinKeyID, auth.MaxKeyID); ok {
				h.ActiveKey, activeSet = v, true
			}
		case "anti_replay":
			switch v, _ := p.exactWord(c); v {
			case "":
			case "time":
				h.AntiReplay = auth.AntiReplayTime
			case "monotonic":
				h.AntiReplay = auth.AntiReplayMonotonic
			default:
				p.d.errorf(c.pos, kw, "%q is not time or monotonic", v)
			}
		case "time_window":
			if v, ok := p.exactInt(c, int(auth.MinWindow/time.Second), int(auth.MaxWindow/time.Second)); ok {
				h.Window = time.Duration(v) * time.Second
				d.hmac.windowPos = c.pos
			}
		case "mode":
			switch v, _ := p.exactWord(c); v {
			case "":
			case "enforce":
				h.Mode = auth.RolloutEnforce
			case "permissive":
				h.Mode = auth.RolloutPermissive
			case "receive-only":
				h.Mode = auth.RolloutReceiveOnly
			default:
				p.d.errorf(c.pos, kw, "%q is not enforce, permissive or receive-only", v)
			}
		default:
			p.d.errorf(c.pos, kw, "unknown auth_hmac keyword: vrrpd would not sign or verify as this configuration asks")
		}
	}
	switch {
	case len(h.Keys) == 0:
		p.d.errorf(n.pos, n.keyword(), "no key: keepalived would run %s unsigned", d.in.Name)
	case !activeSet:
		p.d.errorf(n.pos, n.keyword(), "no active_key: keepalived would run %s unsigned", d.in.Name)
	default:
		for _, k := range h.Keys {
			if k.Key.ID() == h.ActiveKey {
				return
			}
		}
		p.d.errorf(n.pos, "active_key", "%d is not one of the keys: keepalived would run %s unsigned", h.ActiveKey, d.in.Name)
	}
}

// exactInt parses "KEYWORD N", N in [lo, hi], refusing extra words.
func (p *parser) exactInt(n *node, lo, hi int) (int, bool) {
	if _, ok := p.exactWord(n); !ok {
		return 0, false
	}
	return p.intValue(n, 1, lo, hi)
}

// exactWord returns the one value of "KEYWORD VALUE", refusing a missing
// value and extra words (keepalived ignores those silently).
func (p *parser) exactWord(n *node) (string, bool) {
	switch len(n.words) {
	case 1:
		p.d.errorf(n.pos, n.keyword(), "missing value")
		return "", false
	case 2:
		return n.words[1], true
	}
	p.d.errorf(n.pos, n.keyword(), "extra words: %s", strings.Join(n.words[2:], " "))
	return "", false
}

// hmacKey parses "key ID VALUE".
func (p *parser) hmacKey(h *HMAC, n *node) {
	const kw = "key"
	switch {
	case len(n.words) < 3:
		p.d.errorf(n.pos, kw, "needs an id and a value")
		return
	case len(n.words) > 3:
		p.d.errorf(n.pos, kw, "extra words after the value: a key with blanks must be quoted (keepalived would use only its first word)")
		return
	}
	id, ok := p.intValue(n, 1, auth.MinKeyID, auth.MaxKeyID)
	if !ok {
		return
	}
	for _, k := range h.Keys {
		if k.Key.ID() == id {
			p.d.errorf(n.pos, kw, "key id %d is defined twice", id)
			return
		}
	}
	value := n.words[2]
	var file string
	if f, isFile := strings.CutPrefix(value, "file:"); isFile {
		file = f
		v, ok := p.readKeyFile(n, f)
		if !ok {
			return
		}
		if strings.HasPrefix(v, "file:") {
			p.d.errorf(n.pos, kw, "key file %s names another file: it must hold hex:HEX or the key itself", f)
			return
		}
		value = v
	}
	var secret []byte
	if hx, isHex := strings.CutPrefix(value, "hex:"); isHex {
		var err error
		switch secret, err = hex.DecodeString(hx); {
		case len(hx)%2 == 1:
			p.d.errorf(n.pos, kw, "key %d: an odd number of hex digits (keepalived would read the last one as a byte of its own)", id)
			return
		case err != nil:
			p.d.errorf(n.pos, kw, "key %d: not hexadecimal after hex: (keepalived would run unsigned)", id)
			return
		}
	} else {
		secret = []byte(value)
	}
	k, err := auth.NewKey(id, secret)
	clear(secret)
	if err != nil {
		p.d.errorf(n.pos, kw, "key %d is %d bytes: it must be %d to %d (keepalived would run unsigned)", id, len(secret), auth.MinKeyLen, auth.MaxKeyLen)
		return
	}
	h.Keys = append(h.Keys, HMACKey{Key: k, File: file})
}

// readKeyFile reads the key file name, relative to the directory of the
// file that names it. It must be a regular file of at most 4 KiB, owned by
// root or by the user vrrpd runs as, with no permission for group or
// others (keepalived refuses one readable by them); it holds one line,
// whose line end is dropped.
func (p *parser) readKeyFile(n *node, name string) (string, bool) {
	const kw = "key"
	if name == "" {
		p.d.errorf(n.pos, kw, "file: without a path")
		return "", false
	}
	full := name
	if !path.IsAbs(name) {
		full = path.Join("/"+n.dir, name)
	}
	fsPath := strings.TrimPrefix(path.Clean(full), "/")
	if fsPath == "" {
		fsPath = "."
	}
	f, err := p.fsys.Open(fsPath)
	if err != nil {
		p.d.errorf(n.pos, kw, "key file %s: %v", name, unwrapPath(err))
		return "", false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		p.d.errorf(n.pos, kw, "key file %s: %v", name, unwrapPath(err))
		return "", false
	}
	mode := info.Mode()
	switch uid, known := fileOwner(info); {
	case !mode.IsRegular():
		p.d.errorf(n.pos, kw, "key file %s is not a regular file", name)
		return "", false
	case mode.Perm()&0o077 != 0:
		p.d.errorf(n.pos, kw, "key file %s has mode %04o: group and others must have no access (chmod 600)", name, mode.Perm())
		return "", false
	case known && uid != 0 && uid != os.Geteuid():
		p.d.errorf(n.pos, kw, "key file %s belongs to uid %d: it must belong to root or to the user vrrpd runs as", name, uid)
		return "", false
	case info.Size() > maxKeyFile:
		p.d.errorf(n.pos, kw, "key file %s is %d bytes, more than a key (%d at most)", name, info.Size(), maxKeyFile)
		return "", false
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err == nil && len(data) > maxKeyFile {
		err = errors.New("more than a key")
	}
	if err != nil {
		p.d.errorf(n.pos, kw, "key file %s: %v", name, err)
		return "", false
	}
	v := strings.TrimRight(string(data), "\r\n")
	clear(data)
	if strings.ContainsAny(v, "\r\n\x00") {
		p.d.errorf(n.pos, kw, "key file %s holds more than one line", name)
		return "", false
	}
	return v, true
}
