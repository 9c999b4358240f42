package auth

import (
	"crypto/subtle"
	"fmt"
	"io"
	"strings"
)

// PasswordLen is the size of VRRPv2's authentication data (RFC 2338 §5.3.10).
const PasswordLen = 8

// Password is a VRRPv2 PASS password as it goes on the wire: up to 8 bytes,
// zero-padded. It is also the key of keepalived's AH (HMAC-MD5 keyed with
// these 8 bytes). It formats as "auth.Password(redacted)" with every fmt
// verb, so that it does not end up in logs.
type Password [PasswordLen]byte

// NewPassword returns s as a password, rejecting one longer than 8 bytes
// (ErrPasswordTooLong), an empty one or one holding a NUL byte
// (ErrPasswordInvalid).
func NewPassword(s string) (Password, error) {
	if len(s) > PasswordLen {
		return Password{}, errorf("password", ErrPasswordTooLong, "%d bytes, VRRPv2 carries at most %d (KeepalivedPassword truncates as keepalived does)", len(s), PasswordLen)
	}
	return newPassword(s)
}

// KeepalivedPassword returns s as keepalived's auth_pass does: cut to its
// first 8 bytes, which is what goes on the wire (keepalived only logs
// "Truncating auth_pass to 8 characters"; `auth_pass PostgresReplication`
// is sent as "Postgres"). truncated reports that bytes were dropped, so that
// the caller can warn as keepalived does. An empty password, or one with a
// NUL byte in its first 8, is ErrPasswordInvalid.
func KeepalivedPassword(s string) (p Password, truncated bool, err error) {
	if len(s) > PasswordLen {
		s, truncated = s[:PasswordLen], true
	}
	p, err = newPassword(s)
	return p, truncated && err == nil, err
}

// MustPassword is NewPassword for a password known to be valid (a
// constant in a program or a test); it panics otherwise, naming the
// problem but not the password.
func MustPassword(s string) Password {
	p, err := NewPassword(s)
	if err != nil {
		panic(err)
	}
	return p
}

// IsZero reports whether p is the zero Password: none set.
func (p Password) IsZero() bool { return p == Password{} }

func newPassword(s string) (Password, error) {
	if s == "" {
		return Password{}, errorf("password", ErrPasswordInvalid, "empty")
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return Password{}, errorf("password", ErrPasswordInvalid, "NUL byte at offset %d", i)
	}
	var p Password
	copy(p[:], s)
	return p, nil
}

// Verify checks received PASS authentication data (the 8 bytes after the
// addresses of a VRRPv2 advert) against p, in constant time.
func (p Password) Verify(authData [PasswordLen]byte) error {
	if subtle.ConstantTimeCompare(p[:], authData[:]) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

const redacted = "auth.Password(redacted)"

// String hides the password.
func (p Password) String() string { return redacted }

// GoString hides the password from %#v.
func (p Password) GoString() string { return redacted }

// Format hides the password from every fmt verb, %d and %x included.
func (p Password) Format(f fmt.State, verb rune) { io.WriteString(f, redacted) }
