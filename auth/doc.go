// Package auth implements VRRPv2 authentication as keepalived does it: the
// PASS password (RFC 2338 §5.3.6, §5.3.10; RFC 3768 keeps the field but
// deprecates its use) and IPsec AH with HMAC-MD5-96 (RFC 2338 §5.3.6.3,
// RFC 2402 / RFC 4302, RFC 2403), byte-compatible with keepalived 2.2.7.
// VRRPv3 (RFC 5798) has no authentication.
//
// The package is pure: no sockets, no clock, no logging. It does not import
// advert; *AH satisfies advert.AHSealer structurally.
//
// # PASS
//
// A Password is the 8 bytes the advert carries, zero-padded. NewPassword
// rejects a password longer than 8 bytes; KeepalivedPassword truncates it as
// keepalived does (`auth_pass PostgresReplication` goes on the wire as
// "Postgres") and says that it did. Password.Verify compares in constant
// time. A Password never prints.
//
// # AH
//
// keepalived puts a 24-byte AH header between the IPv4 header (protocol 51)
// and the VRRPv2 message: next header 112, payload length 4, reserved 0,
// SPI = the sender's IPv4 address, a 32-bit sequence number, and a 96-bit
// ICV: HMAC-MD5 keyed with the 8-byte zero-padded password, truncated to 12
// bytes, over the IPv4 header with its mutable fields zeroed (TOS, flags
// and fragment offset, header checksum, and the TTL too in unicast mode
// only), the AH header with the ICV zeroed, and the VRRP message. AH.SealAH
// writes it and AH.Verify checks it, then the SPI, the next header and the
// sequence number. The unicast flag of NewAH must match the peers'
// configuration: a keepalived instance with unicast peers leaves the TTL out
// of the ICV, one without includes it (Verify says so when that is the
// mismatch).
//
// # Sequence numbers
//
// keepalived keeps one counter per instance for both directions: it accepts
// an AH packet iff its sequence number is above the counter and then sets
// the counter to it, and it sends counter+1. That interoperates, but two
// masters with equal counters that send at the same moments (a partition
// heals after both counted the same adverts) each bump their counter with
// their own advert and then reject the other's, every interval, forever;
// and a restarted keepalived counts from 0. An AH here follows four rules:
//
//  1. Receive: the replay check is per sender, keyed by the source address
//     (= SPI): a packet is accepted iff its number is above the last one
//     accepted from that sender, and 0 never is. Two routers in lockstep
//     accept each other's adverts.
//  2. Send: NextSeq returns one above both the last number sent and the
//     highest accepted from anyone, so a keepalived peer, whose counter is
//     the highest number it has seen, accepts what we send — also when we
//     become master after it, and when we answer its advert.
//  3. Start: the caller gives the initial counter. The protocol driver
//     passes the clock's Unix seconds at start: VRRPv2 adverts are at least
//     a second apart, so a restarted router numbers above everything it sent
//     before, and above a keepalived counter (which counts adverts from 0).
//     Exhaustion (ErrSeqExhausted) is then about 2106; keepalived's "cycle"
//     handling near 2^32 is not reproduced.
//  4. Forget(src) drops a sender's replay state, for a peer known to have
//     restarted with a lower counter. Without it the group still recovers:
//     the restarted keepalived hears our next advert, jumps its counter
//     above it, and is accepted again from then on.
//
// The per-sender table holds at most MaxSenders entries (least recently
// heard evicted). Only packets whose ICV verified reach it, so only key
// holders can fill it.
//
// An AH is safe for concurrent use: the socket seals while the receive path
// verifies.
package auth
