package kaconf

import (
	"crypto/subtle"
	"fmt"
	"strconv"
)

// Secret is a password or key from the configuration (auth_pass). It
// never prints: String, GoString, every fmt verb, JSON and text encoding
// show "redacted (N bytes)", so that a log line, a dump, an error or a
// status document that carries one by accident leaks only its length.
// Reveal is the one way to the value.
//
// The value sits behind a pointer so that fmt, which prints unexported
// struct fields by reflection without calling their methods, shows an
// address and not the bytes when a Secret is nested in such a field.
type Secret struct {
	v *string
}

// NewSecret wraps s.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the secret itself: for the code that puts it on the
// wire, never for a message.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// Len is the secret's length in bytes.
func (s Secret) Len() int { return len(s.Reveal()) }

// IsZero reports whether there is no secret.
func (s Secret) IsZero() bool { return s.v == nil }

// Equal compares two secrets in constant time (for their length).
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String is "redacted (N bytes)", or "none" for the zero Secret.
func (s Secret) String() string {
	if s.IsZero() {
		return "none"
	}
	return "redacted (" + strconv.Itoa(s.Len()) + " bytes)"
}

// GoString is what %#v prints.
func (s Secret) GoString() string { return "kaconf.Secret(" + strconv.Quote(s.String()) + ")" }

// Format makes every verb (%s, %v, %q, %x, %d ...) print String.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
	case 'q':
		_, _ = f.Write([]byte(strconv.Quote(s.String())))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalText is String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON is String as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }
