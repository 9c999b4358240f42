package vrrp

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"
)

// DropReason says why a received packet was not given to the state
// machine (RFC 5798 §7.1 and keepalived's checks).
type DropReason uint8

const (
	// DropTTL: IPv4 TTL or IPv6 hop limit not 255 in multicast mode.
	DropTTL DropReason = iota
	// DropVersion: not the router's VRRP version (or not 2 or 3).
	DropVersion
	// DropType: not an advertisement.
	DropType
	// DropLength: truncated, or the length does not match the address count.
	DropLength
	// DropChecksum: bad checksum.
	DropChecksum
	// DropMalformed: any other malformed message (interval out of range,
	// address family).
	DropMalformed
	// DropAuthType: the VRRPv2 auth type (or AH presence) is not the
	// router's.
	DropAuthType
	// DropAuth: wrong PASS password or bad AH ICV.
	DropAuth
	// DropReplay: AH sequence number already seen from that sender.
	DropReplay
	// DropInterval: VRRPv2 advert interval differs from ours (RFC 3768 §7.1).
	DropInterval
	// DropAddressList: the address list differs from ours and the sender is
	// not the owner (RFC 5798 §7.1).
	DropAddressList
	// DropNotPeer: the unicast source is not one of the router's Peers
	// (unless AcceptAnySource).
	DropNotPeer
	// DropNotRunning: the router is in Initialize or Fault.
	DropNotRunning
	// DropOwner: the router is the address owner (priority 255), which
	// discards every advert (RFC 5798 §7.1, RFC 3768 §7.1).
	DropOwner
	// DropNotMaster: a priority-0 advert from another source than the
	// master the backup follows (hardening beyond the RFC: only the
	// master may say it is leaving).
	DropNotMaster

	// DropHMACMissing: auth_hmac in mode enforce, and the advert has no
	// trailer.
	DropHMACMissing
	// DropHMACKeyID: the trailer names a key id that is not configured.
	DropHMACKeyID
	// DropHMAC: the trailer's HMAC does not verify (wrong key, modified
	// packet).
	DropHMAC
	// DropHMACMalformed: the trailer's type or reserved bytes are not
	// keepalived's.
	DropHMACMalformed
	// DropHMACStale: the trailer's time stamp is outside the freshness
	// window of anti-replay time (clocks not synchronized, or an old
	// capture).
	DropHMACStale
	// DropHMACReplay: the trailer's sequence is not above the last one
	// accepted from that sender.
	DropHMACReplay

	numDropReasons
)

// NumDropReasons is the length of Stats.Drops.
const NumDropReasons = int(numDropReasons)

func (d DropReason) String() string {
	switch d {
	case DropTTL:
		return "ttl"
	case DropVersion:
		return "version"
	case DropType:
		return "type"
	case DropLength:
		return "length"
	case DropChecksum:
		return "checksum"
	case DropMalformed:
		return "malformed"
	case DropAuthType:
		return "auth-type"
	case DropAuth:
		return "auth"
	case DropReplay:
		return "replay"
	case DropInterval:
		return "interval"
	case DropAddressList:
		return "address-list"
	case DropNotPeer:
		return "not-peer"
	case DropNotRunning:
		return "not-running"
	case DropOwner:
		return "owner"
	case DropNotMaster:
		return "not-master"
	case DropHMACMissing:
		return "hmac-missing"
	case DropHMACKeyID:
		return "hmac-key-id"
	case DropHMAC:
		return "hmac"
	case DropHMACMalformed:
		return "hmac-malformed"
	case DropHMACStale:
		return "hmac-stale"
	case DropHMACReplay:
		return "hmac-replay"
	}
	return "DropReason(?)"
}

// Stats are a router's counters since it was added.
type Stats struct {
	AdvertsReceived      uint64 // valid adverts given to the state machine
	AdvertsSent          uint64 // adverts sent (one per advert, whatever the number of unicast peers)
	PriorityZeroReceived uint64
	PriorityZeroSent     uint64
	BecameMaster         uint64
	LeftMaster           uint64
	// AddressListMismatch counts adverts whose address list differs from
	// ours (RFC 5798 §7.1 says log it); those not from an owner are also
	// counted in Drops[DropAddressList].
	AddressListMismatch uint64
	SendErrors          uint64
	BackendErrors       uint64
	// BackendDropped counts announcements not made because the router's
	// backend queue was full or one was waiting already.
	BackendDropped uint64
	EventsLost     uint64 // events dropped because the consumer was slow
	// Drops counts received packets not given to the state machine, by
	// DropReason.
	Drops [NumDropReasons]uint64
	// OtherVersion is the last router heard on this VRID that speaks the
	// other VRRP version (zero From: none). The two do not hear each
	// other and may both be master: keepalived defaults to VRRPv2,
	// vrrpkit to VRRPv3.
	OtherVersion OtherVersionPeer
}

// OtherVersionPeer is a router heard speaking the other VRRP version.
type OtherVersionPeer struct {
	From     netip.Addr
	Version  int       // 2 or 3
	LastSeen time.Time // on the Node's Clock, to the second
}

// TotalDrops sums Drops.
func (s *Stats) TotalDrops() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}

type routerStats struct {
	received, sent, prio0Received, prio0Sent  atomic.Uint64
	becameMaster, leftMaster, addrMismatch    atomic.Uint64
	sendErrors, backendErrors, backendDropped atomic.Uint64
	drops                                     [NumDropReasons]atomic.Uint64
	otherVersion                              atomic.Pointer[OtherVersionPeer]
}

func (s *routerStats) snapshot() Stats {
	out := Stats{
		AdvertsReceived:      s.received.Load(),
		AdvertsSent:          s.sent.Load(),
		PriorityZeroReceived: s.prio0Received.Load(),
		PriorityZeroSent:     s.prio0Sent.Load(),
		BecameMaster:         s.becameMaster.Load(),
		LeftMaster:           s.leftMaster.Load(),
		AddressListMismatch:  s.addrMismatch.Load(),
		SendErrors:           s.sendErrors.Load(),
		BackendErrors:        s.backendErrors.Load(),
		BackendDropped:       s.backendDropped.Load(),
	}
	for i := range s.drops {
		out.Drops[i] = s.drops[i].Load()
	}
	if o := s.otherVersion.Load(); o != nil {
		out.OtherVersion = *o
	}
	return out
}

// errReason is the drop an error (matched by errors.Is) causes.
type errReason struct {
	err    error
	reason DropReason
}

// dropReasonFor is the reason of the first entry of table that err is,
// otherwise if none.
func dropReasonFor(err error, table []errReason, otherwise DropReason) DropReason {
	for _, e := range table {
		if errors.Is(err, e.err) {
			return e.reason
		}
	}
	return otherwise
}
