package advert

import (
	"fmt"
	"net/netip"
	"time"
)

// ProtocolNumber is the IP protocol number of VRRP (RFC 5798 §5.1.1.4).
const ProtocolNumber = 112

// TypeAdvertisement is the only VRRP packet type (RFC 5798 §5.2.2).
const TypeAdvertisement = 1

// The multicast groups adverts are sent to (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.AddrFrom16([16]byte{0xff, 0x02, 15: 0x12})
)

// AuthType is the VRRPv2 authentication type (RFC 2338 §5.3.6; RFC 3768 §5.3.6
// keeps only 0 and marks 1 and 2 reserved, but keepalived still sends them).
type AuthType uint8

const (
	AuthNone AuthType = 0 // no authentication
	AuthPass AuthType = 1 // simple text password in the 8-byte auth data
	AuthAH   AuthType = 2 // IPsec AH (IP protocol 51) around the message
)

// ChecksumMode says how the VRRP checksum is computed.
type ChecksumMode uint8

const (
	// ChecksumStandard is the RFC's checksum: for VRRPv2 over the VRRP message
	// (RFC 3768 §5.3.8); for VRRPv3 over the message plus the IPv4 or IPv6
	// pseudo-header (RFC 5798 §5.2.8). keepalived and FRR default to it.
	ChecksumStandard ChecksumMode = iota
	// ChecksumNoPseudoHeader is VRRPv3 over IPv4 with the checksum computed as
	// in VRRPv2, over the message alone (keepalived's v3_checksum_as_v2).
	// For VRRPv2 it is the same as ChecksumStandard; over IPv6 it is invalid.
	ChecksumNoPseudoHeader
	// ChecksumEither, on decode only, accepts either of the above; Decode
	// reports which one matched.
	ChecksumEither
)

// Advert is one VRRP advertisement, version 2 or 3, IPv4 or IPv6.
//
// Wire layout (RFC 5798 §5.1, RFC 3768 §5.1):
//
//	1 byte:  version (high nibble) | type (low nibble)
//	1 byte:  VRID
//	1 byte:  priority
//	1 byte:  count of addresses
//	v2: 1 byte auth type, 1 byte advert interval (seconds)
//	v3: 4 bits reserved, 12 bits max advert interval (centiseconds)
//	2 bytes: checksum
//	count × 4 (IPv4) or 16 (IPv6) bytes: addresses
//	v2 only: 8 bytes auth data
type Advert struct {
	Version  uint8         // 2 (RFC 3768) or 3 (RFC 5798)
	Type     uint8         // TypeAdvertisement
	VRID     uint8         // virtual router identifier, 1..255
	Priority uint8         // 0 = master leaving, 255 = address owner
	Interval time.Duration // v2: whole seconds, 1 s..255 s; v3: centiseconds, 10 ms..40.95 s
	AuthType AuthType      // v2 only; zero for v3
	AuthData [8]byte       // v2 only: the PASS password, zero-padded; zero otherwise
	Addrs    []netip.Addr  // the virtual addresses, all IPv4 or all IPv6
}

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(t))
}

func (m ChecksumMode) String() string {
	switch m {
	case ChecksumStandard:
		return "standard"
	case ChecksumNoPseudoHeader:
		return "no-pseudo-header"
	case ChecksumEither:
		return "either"
	}
	return fmt.Sprintf("ChecksumMode(%d)", uint8(m))
}

// String describes a for logs, e.g. "VRRPv3 VRID 51 priority 200 interval
// 1s [10.0.0.100 10.0.0.101]". It never shows the PASS password.
func (a *Advert) String() string {
	s := fmt.Sprintf("VRRPv%d VRID %d priority %d interval %v", a.Version, a.VRID, a.Priority, a.Interval)
	if a.Version == 2 {
		s += " auth " + a.AuthType.String()
	}
	return s + " " + fmt.Sprint(a.Addrs)
}
