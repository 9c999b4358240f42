package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// linkInfo is what the backend needs to know about an interface.
type linkInfo struct {
	index int
	name  string
	mac   net.HardwareAddr
	flags uint32 // IFF_*
}

// canAnnounce reports whether announcements make sense on the link:
// keepalived sends none on an IFF_NOARP interface, and frames need an
// Ethernet address.
func (li linkInfo) canAnnounce() bool {
	return li.flags&unix.IFF_NOARP == 0 && li.flags&unix.IFF_LOOPBACK == 0 && len(li.mac) == 6
}

// linkByName asks the kernel for one interface by name (RTM_GETLINK with
// IFLA_IFNAME), through the connection opened at construction, so the
// lookup happens in the backend's network namespace whatever thread runs.
func linkByName(c *rtnetlink.Conn, name string) (linkInfo, error) {
	req := &rtnetlink.LinkMessage{
		Family:     unix.AF_UNSPEC,
		Attributes: &rtnetlink.LinkAttributes{Name: name},
	}
	msgs, err := c.Execute(req, unix.RTM_GETLINK, netlink.Request)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return linkInfo{}, fmt.Errorf("no such interface: %w", err)
		}
		return linkInfo{}, err
	}
	for _, m := range msgs {
		lm, ok := m.(*rtnetlink.LinkMessage)
		if !ok || lm.Attributes == nil || lm.Attributes.Name != name {
			continue
		}
		return linkInfo{
			index: int(lm.Index),
			name:  name,
			mac:   lm.Attributes.Address,
			flags: lm.Flags,
		}, nil
	}
	return linkInfo{}, fmt.Errorf("no such interface (kernel answered %d messages)", len(msgs))
}

// infinityLifetime is INFINITY_LIFE_TIME: an address that never expires.
const infinityLifetime = 0xffffffff

// addrRequest is an RTM_NEWADDR / RTM_DELADDR body encoded by hand:
// rtnetlink's AddressAttributes cannot carry IFA_CACHEINFO (the preferred
// lifetime that keeps an IPv6 VIP from being a source address). It goes
// out through a requester.
type addrRequest struct {
	prefix  netip.Prefix
	ifindex int
	label   string // IFA_LABEL, IPv4 only
	flags   uint32 // IFA_FLAGS
	scope   uint8
	// peer, when valid, is the remote end of a point-to-point address
	// (IFA_ADDRESS), whose prefix length is the address's.
	peer      netip.Prefix
	broadcast netip.Addr // IFA_BROADCAST, IPv4 only
	// lifetime adds IFA_CACHEINFO with this preferred lifetime in seconds
	// (0: deprecated at once, RFC 4862 §5.5.4; keepalived's
	// "preferred_lft 0") and an infinite valid lifetime.
	lifetime    bool
	preferredLf uint32
}

// bits is the prefix length the kernel keeps for the address.
func (r addrRequest) bits() int {
	if r.peer.IsValid() {
		return r.peer.Bits()
	}
	return r.prefix.Bits()
}

// MarshalBinary lays out struct ifaddrmsg and the attributes:
//
//	1 byte:  family (AF_INET / AF_INET6)
//	1 byte:  prefix length (the peer's, for a point-to-point address)
//	1 byte:  legacy flags (0: IFA_FLAGS carries them)
//	1 byte:  scope (0, universe, unless asked: the kernel derives IPv6 scopes)
//	4 bytes: interface index, native endian
//	IFA_LOCAL, IFA_ADDRESS (IPv4, or a peer), IFA_BROADCAST, IFA_LABEL,
//	IFA_FLAGS, IFA_CACHEINFO
func (r addrRequest) MarshalBinary() ([]byte, error) {
	addr := r.prefix.Addr()
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET
	if addr.Is6() {
		b[0] = unix.AF_INET6
	}
	b[1] = uint8(r.bits())
	b[3] = r.scope
	binary.NativeEndian.PutUint32(b[4:8], uint32(r.ifindex))

	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.IFA_LOCAL, addr.AsSlice())
	switch {
	case r.peer.IsValid():
		ae.Bytes(unix.IFA_ADDRESS, r.peer.Addr().AsSlice())
	case addr.Is4():
		// As iproute2 and keepalived's delete: the kernel matches IPv4
		// addresses on local, prefix length and this.
		ae.Bytes(unix.IFA_ADDRESS, addr.AsSlice())
	}
	if r.broadcast.IsValid() {
		ae.Bytes(unix.IFA_BROADCAST, r.broadcast.AsSlice())
	}
	if r.label != "" {
		ae.String(unix.IFA_LABEL, r.label)
	}
	if r.flags != 0 {
		ae.Uint32(unix.IFA_FLAGS, r.flags)
	}
	if r.lifetime {
		ci := make([]byte, unix.SizeofIfaCacheinfo)
		binary.NativeEndian.PutUint32(ci[0:4], r.preferredLf)    // ifa_prefered
		binary.NativeEndian.PutUint32(ci[4:8], infinityLifetime) // ifa_valid
		ae.Bytes(unix.IFA_CACHEINFO, ci)
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

// addAddress adds r. With replace, an address already there is updated in
// place (flags and lifetimes) and that is not an error; without, the
// kernel's EEXIST comes back.
func addAddress(q *requester, r addrRequest, replace bool) error {
	flags := uint16(unix.NLM_F_CREATE)
	if replace {
		flags |= unix.NLM_F_REPLACE
	} else {
		flags |= unix.NLM_F_EXCL
	}
	return addrDo(q, unix.RTM_NEWADDR, "RTM_NEWADDR", flags, r)
}

// delAddress removes r. An address or interface that is gone already is
// not an error.
func delAddress(q *requester, r addrRequest) error {
	r.label, r.flags, r.scope, r.broadcast, r.lifetime = "", 0, 0, netip.Addr{}, false
	err := addrDo(q, unix.RTM_DELADDR, "RTM_DELADDR", 0, r)
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}

// addrDo sends r as a request of type typ, named in its error.
func addrDo(q *requester, typ uint16, name string, flags uint16, r addrRequest) error {
	body, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	if err := q.do(typ, flags, body); err != nil {
		return fmt.Errorf("netlink %s %v: %w", name, r.prefix, err)
	}
	return nil
}

// Netconf attributes (linux/netconf.h), not in x/sys/unix.
const (
	netconfaIfindex    = 1
	netconfaForwarding = 2
)

// ipv6Forwarding asks the kernel whether the interface forwards IPv6
// (RTM_GETNETCONF), which is what keepalived sets the neighbor
// advertisement's Router flag from.
func ipv6Forwarding(c *netlink.Conn, ifindex int) (bool, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Int32(netconfaIfindex, int32(ifindex))
	attrs, err := ae.Encode()
	if err != nil {
		return false, err
	}
	// struct netconfmsg is one byte, padded to 4 before the attributes.
	data := append([]byte{unix.AF_INET6, 0, 0, 0}, attrs...)
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETNETCONF, Flags: netlink.Request},
		Data:   data,
	})
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWNETCONF || len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return false, err
		}
		for ad.Next() {
			if ad.Type() == netconfaForwarding {
				return ad.Int32() != 0, nil
			}
		}
		if err := ad.Err(); err != nil {
			return false, err
		}
	}
	return false, errors.New("no forwarding attribute in the kernel's answer")
}
