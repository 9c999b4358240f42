package vip

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// Frame sizes: keepalived sends them unpadded (42 and 86 bytes on the
// wire of a veth); the NIC pads short frames to 60 bytes where it must.
const (
	garpLen = 14 + 28          // Ethernet + ARP for IPv4 over Ethernet
	naLen   = 14 + 40 + 24 + 8 // Ethernet + IPv6 + NA + target link-layer option
)

const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
)

// Neighbor advertisement flags (RFC 4861 §4.4), first byte of the
// 32-bit flags field.
const (
	naFlagRouter    = 0x80
	naFlagSolicited = 0x40
	naFlagOverride  = 0x20
)

var (
	ethBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// RFC 2464 §7: ff02::1 maps to 33:33:00:00:00:01.
	ethAllNodes = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
	ip6AllNodes = netip.MustParseAddr("ff02::1")
)

// appendGratuitousARP appends keepalived's gratuitous ARP for ip, sent by
// the interface whose address is mac (RFC 5227 §3 "ARP Announcement"):
//
//	6 bytes: destination ff:ff:ff:ff:ff:ff
//	6 bytes: source = mac
//	2 bytes: EtherType 0x0806
//	2 bytes: hardware type 1 (Ethernet)
//	2 bytes: protocol type 0x0800 (IPv4)
//	1 byte:  hardware size 6
//	1 byte:  protocol size 4
//	2 bytes: opcode 1 (request)
//	6 bytes: sender MAC = mac
//	4 bytes: sender IP = ip
//	6 bytes: target MAC ff:ff:ff:ff:ff:ff (keepalived's choice; RFC 5227
//	         says zero, receivers ignore it)
//	4 bytes: target IP = ip
//
// mac must be 6 bytes and ip an IPv4 address.
func appendGratuitousARP(b []byte, mac net.HardwareAddr, ip netip.Addr) []byte {
	b = append(b, ethBroadcast...)
	b = append(b, mac[:6]...)
	b = binary.BigEndian.AppendUint16(b, etherTypeARP)
	b = append(b, 0, 1, 0x08, 0x00, 6, 4, 0, 1)
	b = append(b, mac[:6]...)
	a4 := ip.As4()
	b = append(b, a4[:]...)
	b = append(b, ethBroadcast...)
	b = append(b, a4[:]...)
	return b
}

// appendUnsolicitedNA appends keepalived's unsolicited neighbor
// advertisement for ip (RFC 4861 §7.2.6), sent by the interface whose
// address is mac:
//
//	Ethernet: 33:33:00:00:00:01 ← mac, EtherType 0x86dd
//	IPv6:     version 6, traffic class 0, flow label 0, payload length 32,
//	          next header 58 (ICMPv6), hop limit 255, source = ip (as
//	          keepalived; RFC 4861 allows any address of the interface),
//	          destination ff02::1
//	ICMPv6:   type 136, code 0, checksum, flags R (router) | O (override),
//	          S clear, target = ip
//	option:   type 2 (target link-layer address), length 1 (8 bytes), mac
//
// mac must be 6 bytes and ip an IPv6 address.
func appendUnsolicitedNA(b []byte, mac net.HardwareAddr, ip netip.Addr, router bool) []byte {
	b = append(b, ethAllNodes...)
	b = append(b, mac[:6]...)
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv6)

	src := ip.As16()
	dst := ip6AllNodes.As16()
	b = append(b, 0x60, 0, 0, 0) // version 6, traffic class 0, flow label 0
	b = binary.BigEndian.AppendUint16(b, 32)
	b = append(b, 58, 255)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)

	icmp := len(b)
	flags := byte(naFlagOverride)
	if router {
		flags |= naFlagRouter
	}
	b = append(b, 136, 0, 0, 0, flags, 0, 0, 0)
	b = append(b, src[:]...)
	b = append(b, 2, 1)
	b = append(b, mac[:6]...)

	sum := icmpv6Checksum(src, dst, b[icmp:])
	binary.BigEndian.PutUint16(b[icmp+2:], sum)
	return b
}

// icmpv6Checksum is the Internet checksum (RFC 1071) of the IPv6
// pseudo-header (RFC 8200 §8.1) and msg, whose checksum field is zero.
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(msg)))
	add(l[:])
	add([]byte{0, 0, 0, 58})
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
