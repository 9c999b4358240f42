// Package advert implements the VRRP advertisement wire format — VRRPv2
// (RFC 3768) and VRRPv3 (RFC 5798, RFC 9568) over IPv4 and IPv6 — and the raw
// sockets that carry it.
//
// The codec is pure: [Advert.Append] encodes into a caller's buffer and
// [Advert.Decode] decodes into a caller's value, reusing its address slice, so
// that steady-state send and receive allocate nothing. Every rejection is an
// error that wraps one of the exported sentinels (ErrTruncated, ErrVersion, ...)
// and says what was wrong. The package never logs.
package advert
