package auth

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per class of rejection. The errors the package
// returns wrap one of them and say what exactly was wrong (without ever
// showing a password).
var (
	// ErrPasswordTooLong: a password longer than the 8 bytes VRRPv2 carries
	// (RFC 2338 §5.3.10). KeepalivedPassword truncates instead.
	ErrPasswordTooLong = errors.New("auth: password longer than 8 bytes")
	// ErrPasswordInvalid: an empty password, or one with a NUL byte (which
	// the zero padding would make indistinguishable from a shorter one).
	ErrPasswordInvalid = errors.New("auth: invalid password")
	// ErrPasswordMismatch: received PASS authentication data differs from
	// the configured password.
	ErrPasswordMismatch = errors.New("auth: password mismatch")

	// ErrIPHeader: the IPv4 header is not one an AH advert travels in
	// (not IPv4, options present, protocol not 51), or, when sealing, has
	// fields the kernel would change after the ICV was computed (a zero
	// source or identification).
	ErrIPHeader = errors.New("auth: unusable IPv4 header")
	// ErrAHLength: the AH header is not 24 bytes with payload length 4, or
	// the IPv4 total length does not match the packet.
	ErrAHLength = errors.New("auth: bad AH length")
	// ErrICV: the integrity check value does not match: a different key, a
	// modified packet, or a sender zeroing the TTL differently (unicast mode
	// differs).
	ErrICV = errors.New("auth: bad AH ICV")
	// ErrSPI: the SPI is not the IPv4 source address, as keepalived requires.
	ErrSPI = errors.New("auth: AH SPI is not the source address")
	// ErrNextHeader: the AH next header is not VRRP (112).
	ErrNextHeader = errors.New("auth: AH next header is not VRRP")
	// ErrReplay: the sequence number is not above the last one accepted
	// from that sender (RFC 4302 §3.4.3), or is 0.
	ErrReplay = errors.New("auth: AH sequence number replayed")
	// ErrSeqExhausted: the 32-bit sequence number space is used up: at 1
	// advert a second, starting from the Unix time, that is in 2106.
	ErrSeqExhausted = errors.New("auth: AH sequence numbers exhausted")
)

// authError is a rejection: the operation, what was wrong, and its class.
type authError struct {
	op, msg string
	class   error
}

func (e *authError) Error() string { return "auth: " + e.op + ": " + e.msg }
func (e *authError) Unwrap() error { return e.class }

func errorf(op string, class error, format string, args ...any) error {
	return &authError{op: op, msg: fmt.Sprintf(format, args...), class: class}
}

// Sentinel errors of auth_hmac (see HMAC). Verify returns exactly these
// values, unwrapped and preallocated, so that a flood of rejected adverts
// allocates nothing; the Trailer it returns says what was received.
var (
	// ErrKey: a key id outside 1..255 or a key not 32..64 bytes long.
	ErrKey = errors.New("auth: invalid auth_hmac key")
	// ErrHMACConfig: an HMACConfig that cannot run: no keys, two keys with
	// one id, an active key that is not among the keys, a freshness window
	// that is not whole seconds in 1..300, an unknown mode.
	ErrHMACConfig = errors.New("auth: invalid auth_hmac configuration")

	// ErrTrailerMissing: an advert without a trailer, in enforce mode.
	ErrTrailerMissing = errors.New("auth: advert has no auth_hmac trailer")
	// ErrTrailerMalformed: the bytes after the VRRP message are not a
	// trailer this implementation knows: not 28 bytes, another type than
	// HMAC-SHA256-128, reserved bits set.
	ErrTrailerMalformed = errors.New("auth: malformed auth_hmac trailer")
	// ErrUnknownKeyID: the trailer names a key id that is not configured.
	ErrUnknownKeyID = errors.New("auth: auth_hmac trailer names an unknown key id")
	// ErrTrailerHMAC: the HMAC does not match: another key with the same
	// id, or a modified advert, trailer, or source address.
	ErrTrailerHMAC = errors.New("auth: auth_hmac trailer HMAC does not match")
	// ErrTrailerStale: in time mode, the trailer's seconds are further
	// from the receiver's clock than the freshness window: an old advert
	// replayed, or clocks apart.
	ErrTrailerStale = errors.New("auth: auth_hmac trailer outside the freshness window")
	// ErrTrailerReplay: the sequence is not newer than the last one
	// accepted from that sender.
	ErrTrailerReplay = errors.New("auth: auth_hmac sequence replayed")
)
