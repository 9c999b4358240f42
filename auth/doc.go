// Package auth implements VRRP authentication as keepalived does it: the
// VRRPv2 PASS password (RFC 2338 §5.3.6, §5.3.10; RFC 3768 keeps the field
// but deprecates its use) and IPsec AH with HMAC-MD5-96 (RFC 2338
// §5.3.6.3, RFC 2402 / RFC 4302, RFC 2403), byte-compatible with
// keepalived 2.2.7; and keepalived 2.4's auth_hmac, an HMAC-SHA256 trailer
// with key rotation and anti-replay for VRRPv2 and VRRPv3 over IPv4 and
// IPv6 (draft-cassen-vrrp-auth-hmac), byte-compatible with keepalived
// 2.4.3. VRRPv3 (RFC 5798) itself has no authentication.
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
//  4. A packet that is not above the last accepted from its sender is never
//     accepted, however long after and however often it comes: there is
//     no "the peer must have restarted" exception, which would let anyone
//     replay a captured advert (a priority-0 one, say) once it had waited
//     long enough. A router restarted with a counter below what its peers
//     accepted before (it sent more than an advert a second) is refused
//     until it numbers above: it listens as a backup first, and from
//     whatever it accepts — the current master's adverts, which number
//     above everyone's (rule 2) — rule 2 takes it above its own past.
//     Should no master be heard, the peers time out, one becomes master
//     and the same happens a Master_Down_Interval later. Forget(src) drops
//     a sender's state for an operator who knows better.
//  5. A sender that pins the counter (a key holder sending 2^32-1) does not
//     stop us: NextSeq then counts on from our own last number, which
//     our vrrpkit peers accept (rule 1); only our own exhaustion stops us,
//     and the protocol driver then puts the router in Fault rather than
//     keep a master that cannot advertise.
//
// The per-sender table holds at most MaxSenders entries (least recently
// heard evicted). Only packets whose ICV verified reach it, so only key
// holders can fill it.
//
// An AH is safe for concurrent use: the socket seals while the receive path
// verifies.
//
// # auth_hmac
//
// A signed advert is the VRRP message followed by a 28-byte trailer (see
// TrailerLen for its layout): type 1 (HMAC-SHA256-128), the key id, two
// reserved bytes, a 64-bit sequence (Seq: seconds, 1/65536 s, counter) and
// the HMAC truncated to 16 bytes. The HMAC covers a 20-byte pseudo-header
// (IP version, VRRP version, VRID, the source address), the message with
// its checksum read as zero, and the trailer with its HMAC read as zero —
// not the IP header and not the destination: one seal serves every
// unicast copy, and the checksum is written after sealing (over IPv6 it
// covers the trailer, see advert.TrailerLen).
//
// Keys (Key) have ids 1..255 and 32..64 bytes, and never print. An
// HMACConfig lists every key a received advert may use and the active one
// that seals; rotation is: add the new key everywhere, move the active key
// node by node, remove the old key (HMAC.Reconfigure keeps all state).
// Rollout modes deploy auth_hmac across a running group without a
// transition: receive-only (verify what is signed, sign nothing), then
// permissive (sign, still accept unsigned), then enforce.
//
// An HMAC is the state of one virtual router, owned by the protocol core:
// it reads no clock (every call is given the wall-clock time), does no I/O,
// allocates nothing per advert — rejections included, which are the
// sentinels themselves — and is not safe for concurrent use.
//
// # auth_hmac sequences
//
// Send (HMAC.NextSeq, as keepalived 2.4.3): the clock's sequence when it
// is newer than the last one sent, else the last plus one. In time mode, a
// last sequence ahead of the clock by more than the freshness window is
// abandoned for the clock's.
//
// Receive (HMAC.Verify): in time mode the seconds must be within the
// freshness window of the receiver's clock (checked before the HMAC, so
// that a flood of old captures costs no digest); then, once the HMAC has
// verified, the sequence must be newer (serial-number arithmetic) than the
// newest one accepted from that source address, and becomes it. A mark
// never expires and never goes down: an advert whose sequence is not newer
// than one accepted from its sender is refused however long after. Up to
// MaxSenders senders are remembered; the one heard from least recently is
// evicted beyond that, its mark raising a floor every sender not in the
// table must be above, so that eviction opens no replay either.
//
// How the group keeps working, each case tested with explicit times:
//
//   - A restarted router numbers from its clock, above everything it sent
//     before, and is accepted by every peer at once. If its clock went back
//     across the restart, peers refuse it until the clock passes what they
//     remember (keepalived's too); HMAC.ResumeAfter, given the last
//     sequence of the previous run, avoids that. A restarted receiver
//     remembers nothing and accepts each sender's next fresh advert; in
//     time mode nothing older than the window can be replayed to it, in
//     monotonic mode HMAC.Remember restores marks the embedding program
//     kept.
//   - A sender's clock stepped back by less than the window: it counts on
//     from its last sequence, whose seconds stay fresh; nothing is refused.
//     Stepped back further, or forward by more than the window: its adverts
//     are stale to peers with the right time — in time mode they must be —
//     and the peers' marks do not move; once its clock is corrected it is
//     accepted at once (after a forward step because it leaves its stranded
//     sequence for the clock's, as keepalived 2.4.3 does).
//   - A new master, a router that never sent or sent long ago, numbers
//     from its clock, above anything remembered of it.
//   - The one case where keepalived 2.4.3 accepts what we refuse: every
//     clock of the group stepped forward together (so receivers accepted
//     the stepped sequences) and then back. keepalived forgets a mark
//     outside the window and so accepts, once, an advert it had already
//     accepted before the step if it is replayed within the window; we
//     never accept an old sequence, and refuse that sender until its
//     sequence passes the stranded mark — the safe failure, a takeover,
//     instead of an accepted replay. HMAC.Forget is the operator's remedy.
package auth
