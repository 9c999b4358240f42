package vip

import "fmt"

// IPv6Source says how the Linux backend keeps IPv6 VIPs from becoming the
// source address of the host's own traffic. The kernel prefers the most
// recently added of equally good addresses (RFC 6724 leaves the tie open),
// so without help a freshly added VIP wins over the host's own address.
// IPv4 needs no help: a VIP inside the subnet of the interface's address
// is added as a secondary, and the subnet's route keeps the primary as its
// source; a /32 VIP adds no subnet route at all. keepalived does nothing
// more either. (A VIP in a subnet where the host has no address of its own
// does become that subnet's source, with keepalived too: give it a /32.)
type IPv6Source uint8

const (
	// IPv6SourceAvoid (the default) adds every IPv6 VIP with preferred
	// lifetime 0, i.e. deprecated (RFC 4862 §5.5.4): source selection
	// never picks a deprecated address while the interface has a
	// preferred one (RFC 6724 §5 rule 3), yet the address accepts
	// connections and answers from itself as usual.
	IPv6SourceAvoid IPv6Source = iota
	// IPv6SourceKeepalived is keepalived's default: /128 VIPs deprecated,
	// others (e.g. fd00::100/64) preferred — which lets such a VIP become
	// the host's source address for its subnet.
	IPv6SourceKeepalived
	// IPv6SourceAllow adds every IPv6 VIP preferred (keepalived's
	// "preferred_lft forever"): the host may use it as a source.
	IPv6SourceAllow
)

func (s IPv6Source) String() string {
	switch s {
	case IPv6SourceAvoid:
		return "avoid"
	case IPv6SourceKeepalived:
		return "keepalived"
	case IPv6SourceAllow:
		return "allow"
	}
	return fmt.Sprintf("IPv6Source(%d)", uint8(s))
}

// deprecate reports whether an IPv6 VIP with prefix length bits is added
// with preferred lifetime 0.
func (s IPv6Source) deprecate(bits int) bool {
	switch s {
	case IPv6SourceKeepalived:
		return bits == 128
	case IPv6SourceAllow:
		return false
	}
	return true
}

// RouterFlag says how the Router (R) flag of unsolicited neighbor
// advertisements is set.
type RouterFlag uint8

const (
	// RouterFlagAuto (the default) sets it when the interface forwards
	// IPv6 (net.ipv6.conf.IF.forwarding), as keepalived does.
	RouterFlagAuto RouterFlag = iota
	// RouterFlagSet always sets it, as RFC 5798 §6.4.2 words it for a
	// virtual router.
	RouterFlagSet
	// RouterFlagClear never sets it.
	RouterFlagClear
)

func (f RouterFlag) String() string {
	switch f {
	case RouterFlagAuto:
		return "auto"
	case RouterFlagSet:
		return "set"
	case RouterFlagClear:
		return "clear"
	}
	return fmt.Sprintf("RouterFlag(%d)", uint8(f))
}
