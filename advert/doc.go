// Package advert implements the VRRP advertisement wire format — VRRPv2
// (RFC 3768) and VRRPv3 (RFC 5798, RFC 9568) over IPv4 and IPv6 — and the raw
// sockets that carry it.
//
// The codec is pure: [Advert.Append] encodes into a caller's buffer and
// [Advert.Decode] decodes into a caller's value, reusing its address slice, so
// that steady-state send and receive allocate nothing. Every rejection is an
// error that wraps one of the exported sentinels (ErrTruncated, ErrVersion, ...)
// and says what was wrong. The package never logs.
//
// Both take the IP source and destination: they give the address family and
// the VRRPv3 checksum's pseudo-header. The checksum is computed as the
// ChecksumMode says: the RFC's (v2 over the message, v3 with the IPv4 or
// IPv6 pseudo-header, as keepalived and FRR do by default), or for VRRPv3
// over IPv4 without the pseudo-header (keepalived's v3_checksum_as_v2);
// Decode with ChecksumEither accepts both and reports which one matched.
// MarshalBinary and UnmarshalBinary, which know no IP addresses, handle the
// VRRPv2 checksum fully and leave the VRRPv3 one alone (see there).
//
// The codec is byte-exact with keepalived 2.2.7: every advert of the captures
// in testdata decodes and re-encodes to the same bytes. MaxAddrs says how
// many virtual addresses fit one advert for an MTU.
//
// keepalived 2.4's auth_hmac appends a 28-byte trailer to the message
// (package auth seals and verifies it). SplitTrailer and
// [Advert.DecodePayload] take a received IP payload apart; a sender encodes
// the message with Append, seals it, and writes the checksum last with
// WriteChecksum, which computes it as keepalived 2.4.3 does (over IPv6 the
// trailer is covered, see TrailerLen) — byte-exact with the 2.4.3 recordings
// in testdata/hmac.
package advert
