package hetzner

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Token is a Hetzner Cloud API token. It prints as "[redacted]" in every
// format, so that no log line or error carries it.
type Token struct{ secret string }

// NewToken wraps s.
func NewToken(s string) Token { return Token{secret: strings.TrimSpace(s)} }

// TokenFromFile reads a token from a file (one line), refusing a file
// others may read.
func TokenFromFile(path string) (Token, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Token{}, fmt.Errorf("hetzner: token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Token{}, fmt.Errorf("hetzner: token file %s is readable by others (mode %v)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Token{}, fmt.Errorf("hetzner: token file: %w", err)
	}
	t := NewToken(string(b))
	if t.secret == "" {
		return Token{}, errors.New("hetzner: token file " + path + " is empty")
	}
	return t, nil
}

// String is "[redacted]".
func (Token) String() string { return "[redacted]" }

// GoString is "[redacted]".
func (Token) GoString() string { return "[redacted]" }

// Format writes "[redacted]" whatever the verb.
func (Token) Format(f fmt.State, _ rune) { f.Write([]byte("[redacted]")) }

// MarshalText is "[redacted]", for loggers that encode values.
func (Token) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.secret == "" }
