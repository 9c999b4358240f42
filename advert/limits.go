package advert

import "time"

// Fixed sizes of the wire format.
const (
	HeaderLen    = 8   // version/type, VRID, priority, count, interval (+ v2 auth type), checksum
	AuthDataLen  = 8   // VRRPv2 authentication data after the addresses
	MaxAddrCount = 255 // the count field is one byte
)

// Sizes of what surrounds the message in a packet, for MaxAddrs.
const (
	limitsAHLen   = 24 // the IPsec AH header keepalived puts between IPv4 and VRRPv2
	limitsIPv4Len = 20 // an IPv4 header without options, as VRRP is sent
	limitsIPv6Len = 40 // an IPv6 header without extension headers
)

// Interval limits (RFC 3768 §5.3.7, RFC 5798 §5.2.7).
const (
	MinIntervalV2 = time.Second
	MaxIntervalV2 = 255 * time.Second
	MinIntervalV3 = 10 * time.Millisecond        // 1 centisecond
	MaxIntervalV3 = 4095 * 10 * time.Millisecond // 40.95 s, 12 bits of centiseconds
)

// MaxAddrs reports how many addresses fit one advert of the given version
// and family in a packet of mtu bytes (IP header included), with or without
// the IPsec AH header (VRRPv2 over IPv4 only). The result is capped at 255,
// the most the count field holds; it is 0 for a combination that cannot be
// sent (VRRPv2 over IPv6, AH with VRRPv3 or IPv6, an unknown version) or an
// MTU too small for even one address. keepalived moves the addresses beyond
// the limit to its "excluded" list, which is not advertised.
func MaxAddrs(version uint8, ipv6 bool, mtu int, ah bool) int {
	overhead := HeaderLen
	addrLen := 4
	switch {
	case version == 2 && !ipv6:
		overhead += AuthDataLen + limitsIPv4Len
		if ah {
			overhead += limitsAHLen
		}
	case version == 3 && !ah:
		overhead += limitsIPv4Len
		if ipv6 {
			overhead += limitsIPv6Len - limitsIPv4Len
			addrLen = 16
		}
	default:
		return 0
	}
	if mtu <= overhead {
		return 0
	}
	return min((mtu-overhead)/addrLen, MaxAddrCount)
}
