//go:build linux

package vmac

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

// linkInfo is what the Manager needs to know of an interface.
type linkInfo struct {
	index  int
	name   string
	kind   string // IFLA_INFO_KIND: "macvlan", "veth", "" for a plain device
	parent int    // IFLA_LINK: a macvlan's base
	mac    net.HardwareAddr
	alias  string
}

func linkInfoOf(lm *rtnetlink.LinkMessage) linkInfo {
	li := linkInfo{index: int(lm.Index)}
	if a := lm.Attributes; a != nil {
		li.name, li.mac, li.parent = a.Name, a.Address, int(a.Type)
		if a.Info != nil {
			li.kind = a.Info.Kind
		}
		if a.Alias != nil {
			li.alias = *a.Alias
		}
	}
	return li
}

// linkByName asks the kernel for one interface by name; a missing one is
// an error wrapping ENODEV.
func linkByName(c *rtnetlink.Conn, name string) (linkInfo, error) {
	req := &rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Attributes: &rtnetlink.LinkAttributes{Name: name}}
	msgs, err := c.Execute(req, unix.RTM_GETLINK, netlink.Request)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return linkInfo{}, fmt.Errorf("no interface %s: %w", name, unix.ENODEV)
		}
		return linkInfo{}, err
	}
	for _, m := range msgs {
		if lm, ok := m.(*rtnetlink.LinkMessage); ok && lm.Attributes != nil && lm.Attributes.Name == name {
			return linkInfoOf(lm), nil
		}
	}
	return linkInfo{}, fmt.Errorf("no interface %s: %w", name, unix.ENODEV)
}

// linkRequest is an RTM_NEWLINK body encoded by hand: rtnetlink's
// attributes have no macvlan driver and no IPv6 address generation mode.
// Embedding *rtnetlink.LinkMessage makes it an rtnetlink.Message.
type linkRequest struct {
	*rtnetlink.LinkMessage

	index       int
	name        string
	mac         net.HardwareAddr
	parent      int
	macvlan     bool // IFLA_LINKINFO: kind macvlan, mode private
	alias       string
	addrGenNone bool // IFLA_AF_SPEC: AF_INET6: IN6_ADDR_GEN_MODE_NONE
	up          bool
}

// MarshalBinary lays out struct ifinfomsg (family, type, index, flags,
// change) and the attributes.
func (r linkRequest) MarshalBinary() ([]byte, error) {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:8], uint32(r.index))
	if r.up {
		binary.NativeEndian.PutUint32(b[8:12], unix.IFF_UP)
		binary.NativeEndian.PutUint32(b[12:16], unix.IFF_UP)
	}
	ae := netlink.NewAttributeEncoder()
	if r.name != "" {
		ae.String(unix.IFLA_IFNAME, r.name)
	}
	if r.mac != nil {
		ae.Bytes(unix.IFLA_ADDRESS, r.mac)
	}
	if r.parent != 0 {
		ae.Uint32(unix.IFLA_LINK, uint32(r.parent))
	}
	if r.macvlan {
		ae.Nested(unix.IFLA_LINKINFO, func(nae *netlink.AttributeEncoder) error {
			nae.String(unix.IFLA_INFO_KIND, "macvlan")
			nae.Nested(unix.IFLA_INFO_DATA, func(dae *netlink.AttributeEncoder) error {
				dae.Uint32(unix.IFLA_MACVLAN_MODE, macvlanModePrivate)
				return nil
			})
			return nil
		})
	}
	if r.alias != "" {
		ae.String(unix.IFLA_IFALIAS, r.alias)
	}
	if r.addrGenNone {
		ae.Nested(unix.IFLA_AF_SPEC, func(nae *netlink.AttributeEncoder) error {
			nae.Nested(unix.AF_INET6, func(iae *netlink.AttributeEncoder) error {
				iae.Uint8(unix.IFLA_INET6_ADDR_GEN_MODE, 1) // IN6_ADDR_GEN_MODE_NONE
				return nil
			})
			return nil
		})
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

func newLink(c *rtnetlink.Conn, r linkRequest, flags netlink.HeaderFlags) error {
	r.LinkMessage = &rtnetlink.LinkMessage{}
	_, err := c.Execute(r, unix.RTM_NEWLINK, netlink.Request|netlink.Acknowledge|flags)
	return err
}

// createMacvlan creates a macvlan, down, in mode private.
func createMacvlan(c *rtnetlink.Conn, name string, mac net.HardwareAddr, parent int) error {
	return newLink(c, linkRequest{name: name, mac: mac, parent: parent, macvlan: true}, netlink.Create|netlink.Excl)
}

// setAlias sets an interface's alias (the kernel takes none at creation).
func setAlias(c *rtnetlink.Conn, name, alias string) error {
	return newLink(c, linkRequest{name: name, alias: alias}, 0)
}

func setAddrGenModeNone(c *rtnetlink.Conn, index int) error {
	return newLink(c, linkRequest{index: index, addrGenNone: true}, 0)
}

func setUp(c *rtnetlink.Conn, index int) error {
	return newLink(c, linkRequest{index: index, up: true}, 0)
}

// deleteLink deletes an interface; one that is gone is not an error.
func deleteLink(c *rtnetlink.Conn, index int) error {
	err := c.Link.Delete(uint32(index))
	if errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}

// baseLinkLocal is the base's first link-local address, or one made from
// its MAC address (EUI-64) if it has none yet: an IPv6 VMAC's adverts
// come from the router's own link-local address, as keepalived sends them.
func baseLinkLocal(c *rtnetlink.Conn, base linkInfo) (netip.Addr, error) {
	msgs, err := c.Address.List()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list addresses: %w", err)
	}
	for _, am := range msgs {
		if int(am.Index) != base.index || am.Family != unix.AF_INET6 || am.Attributes == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(am.Attributes.Address); ok && a.IsLinkLocalUnicast() {
			return a, nil
		}
	}
	if len(base.mac) != 6 {
		return netip.Addr{}, fmt.Errorf("%s has no link-local address and no MAC address to make one", base.name)
	}
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	b[8], b[9], b[10], b[11], b[12] = base.mac[0]^0x02, base.mac[1], base.mac[2], 0xff, 0xfe
	b[13], b[14], b[15] = base.mac[3], base.mac[4], base.mac[5]
	return netip.AddrFrom16(b), nil
}

// addrRequest is an RTM_NEWADDR body for a link-local address without
// DAD and deprecated, encoded by hand for IFA_CACHEINFO (as keepalived
// adds it: the host never picks it as a source on its own).
type addrRequest struct {
	*rtnetlink.AddressMessage
	index int
	addr  netip.Addr
}

func (r addrRequest) MarshalBinary() ([]byte, error) {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET6
	b[1] = 64
	b[3] = unix.RT_SCOPE_LINK
	binary.NativeEndian.PutUint32(b[4:8], uint32(r.index))
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.IFA_LOCAL, r.addr.AsSlice())
	ae.Uint32(unix.IFA_FLAGS, unix.IFA_F_NODAD)
	ci := make([]byte, unix.SizeofIfaCacheinfo)
	binary.NativeEndian.PutUint32(ci[0:4], 0)          // ifa_prefered
	binary.NativeEndian.PutUint32(ci[4:8], 0xffffffff) // ifa_valid: forever
	ae.Bytes(unix.IFA_CACHEINFO, ci)
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

func addLinkLocal(c *rtnetlink.Conn, index int, a netip.Addr) error {
	r := addrRequest{AddressMessage: &rtnetlink.AddressMessage{}, index: index, addr: a}
	_, err := c.Execute(r, unix.RTM_NEWADDR, netlink.Request|netlink.Acknowledge|netlink.Create|netlink.Replace)
	return err
}
