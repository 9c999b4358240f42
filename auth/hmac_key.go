package auth

import (
	"crypto/subtle"
	"fmt"
	"io"
	"strconv"
)

// Bounds of an auth_hmac key (draft-cassen-vrrp-auth-hmac, keepalived 2.4):
// ids 1..255 travel in the trailer's key id byte; a key is 32 to 64 bytes,
// the floor keeping a 128-bit margin under a quantum search, the ceiling
// SHA-256's block size (no key is ever hashed down).
const (
	MinKeyID  = 1
	MaxKeyID  = 255
	MinKeyLen = 32
	MaxKeyLen = 64
)

// Key is one auth_hmac signing key: its id and its secret bytes. The
// secret is held behind a pointer, so that a Key nested in any value that
// fmt prints shows an address at most; a Key itself formats, with every
// verb, and marshals to JSON and text as its id and length only, e.g.
// "auth.Key(id 2, 32 bytes)". The zero Key is no key. Keys are
// immutable: copies share the secret. Compare them with Equal (== compares
// identity).
type Key struct {
	s *keySecret
}

type keySecret struct {
	id  uint8
	n   uint8
	key [MaxKeyLen]byte
}

// NewKey returns the key with id (1..255) and secret (32..64 bytes), which
// it copies. Anything else is ErrKey.
func NewKey(id int, secret []byte) (Key, error) {
	switch {
	case id < MinKeyID || id > MaxKeyID:
		return Key{}, errorf("key", ErrKey, "key id %d, want %d..%d", id, MinKeyID, MaxKeyID)
	case len(secret) < MinKeyLen || len(secret) > MaxKeyLen:
		return Key{}, errorf("key", ErrKey, "key %d is %d bytes, want %d..%d", id, len(secret), MinKeyLen, MaxKeyLen)
	}
	s := &keySecret{id: uint8(id), n: uint8(len(secret))}
	copy(s.key[:], secret)
	return Key{s: s}, nil
}

// ID is the key's id, 1..255 (0 for the zero Key).
func (k Key) ID() int {
	if k.s == nil {
		return 0
	}
	return int(k.s.id)
}

// Len is the secret's length in bytes (0 for the zero Key).
func (k Key) Len() int {
	if k.s == nil {
		return 0
	}
	return int(k.s.n)
}

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.s == nil }

// Equal reports whether both keys have the same id and secret, comparing
// the secrets in constant time.
func (k Key) Equal(o Key) bool {
	if k.s == nil || o.s == nil {
		return k.s == o.s
	}
	return k.s.id == o.s.id && k.s.n == o.s.n &&
		subtle.ConstantTimeCompare(k.s.key[:k.s.n], o.s.key[:o.s.n]) == 1
}

// secret is the key material, for the HMAC only.
func (k Key) secret() []byte { return k.s.key[:k.s.n] }

// String shows the id and length, never the secret.
func (k Key) String() string {
	if k.s == nil {
		return "auth.Key(none)"
	}
	return "auth.Key(id " + strconv.Itoa(int(k.s.id)) + ", " + strconv.Itoa(int(k.s.n)) + " bytes)"
}

// GoString hides the secret from %#v.
func (k Key) GoString() string { return k.String() }

// Format hides the secret from every fmt verb, %x and %d included.
func (k Key) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// MarshalText is the String form, so that text encoders show no secret.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalJSON is {"id":N,"length":N} ({} for the zero Key): the id and
// length, as keepalived's JSON dump shows keys, never the secret.
func (k Key) MarshalJSON() ([]byte, error) {
	if k.s == nil {
		return []byte("{}"), nil
	}
	return []byte(`{"id":` + strconv.Itoa(int(k.s.id)) + `,"length":` + strconv.Itoa(int(k.s.n)) + `}`), nil
}
