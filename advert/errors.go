package advert

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors, one per class of rejection. Every error Append and Decode
// return wraps exactly one of them (a message shorter than its address count
// requires wraps both ErrTruncated and ErrAddrCount) and says which field
// held which value, so callers test the class with errors.Is and log the
// error itself.
var (
	// ErrTruncated: the message is shorter than its fixed header or than
	// its address count requires. It also matches io.ErrUnexpectedEOF.
	ErrTruncated = fmt.Errorf("advert: message truncated: %w", io.ErrUnexpectedEOF)
	// ErrVersion: the version is neither 2 nor 3, or is 2 over IPv6
	// (RFC 3768 defines VRRPv2 for IPv4 only).
	ErrVersion = errors.New("advert: bad version")
	// ErrType: the type is not TypeAdvertisement (RFC 5798 §5.2.2).
	ErrType = errors.New("advert: bad type")
	// ErrVRID: the VRID is 0 (RFC 5798 §5.2.3: 1..255).
	ErrVRID = errors.New("advert: bad VRID")
	// ErrChecksum: the checksum does not match (RFC 5798 §7.1).
	ErrChecksum = errors.New("advert: bad checksum")
	// ErrChecksumMode: the ChecksumMode does not apply (ChecksumNoPseudoHeader
	// over IPv6, ChecksumEither on encode, an unknown mode).
	ErrChecksumMode = errors.New("advert: checksum mode not valid here")
	// ErrAddrCount: the address count does not match the message length.
	ErrAddrCount = errors.New("advert: address count does not match length")
	// ErrFamily: the IP source and destination are of different families or
	// invalid, or an address in the list is not of the IP family.
	ErrFamily = errors.New("advert: address family mismatch")
	// ErrInterval: the advertisement interval is out of range (v2: whole
	// seconds 1..255; v3: centiseconds 1..4095).
	ErrInterval = errors.New("advert: interval out of range")
	// ErrAuthType: a VRRPv2 auth type other than 0, 1 and 2, or
	// authentication fields set on a VRRPv3 advert (RFC 5798 has none).
	ErrAuthType = errors.New("advert: bad auth type")
	// ErrTooManyAddrs: more addresses than the count field holds (255)
	// on encode. See MaxAddrs for the limit an MTU sets.
	ErrTooManyAddrs = errors.New("advert: too many addresses")
)
