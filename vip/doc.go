// Package vip puts a VRRP router's virtual addresses on the host and takes
// them off: it implements vrrp.Backend.
//
// Linux adds and removes the addresses with rtnetlink, announces them with
// gratuitous ARP (an ARP request with sender = target = the VIP, RFC 5227
// §3) and unsolicited IPv6 neighbor advertisements (RFC 4861 §7.2.6, RFC
// 5798 §6.4.2), and puts back an address that someone else deletes while
// it is held. With AddressSet.NoAccept (RFC 5798 Accept_Mode false) it
// also makes the host drop packets addressed to the VIPs while it holds
// them, through an nftables table of its own (LinuxConfig.NoAcceptTable),
// rebuilt at once when someone else deletes it; neighbor discovery for the
// VIPs still works. When the rules cannot be installed, Acquire fails with
// ErrNoAcceptUnenforceable and adds nothing (LinuxConfig.NoAcceptFailOpen
// chooses keepalived's way). Each address takes keepalived's options
// (vrrp.AddressOptions: brd, scope, peer, preferred_lft, noprefixroute,
// home, mngtmpaddr, autojoin, no_track). Routing adds routes and policy
// rules over rtnetlink — keepalived's virtual_routes and virtual_rules, a
// backend per router composed after the addresses with Multi — puts back
// what someone deletes and removes at release what a crashed run left.
// Command runs a program on acquire, release and announce
// (moving a cloud floating IP or elastic interface), Funcs calls Go
// functions, and Multi composes backends. Package vip/vmac gives a router
// keepalived's use_vmac: a macvlan with the RFC's virtual MAC.
//
// What matches keepalived 2.2.7: the frames, byte for byte (a 42-byte
// ARP request to ff:ff:ff:ff:ff:ff with target MAC ff:ff:ff:ff:ff:ff; an
// 86-byte NA from the VIP to ff02::1 with hop limit 255, Override set,
// Solicited clear, Router set when the interface forwards IPv6, and the
// target link-layer address option); the announcement order (rounds over
// the addresses: A B A B …); the schedule and its defaults (Schedule:
// garp_master_repeat 5, garp_master_delay 5 s, garp_master_refresh off,
// garp_master_refresh_repeat 1, garp_lower_prio_repeat / delay, garp_interval
// and gna_interval spacing per interface); no announcements on NOARP
// interfaces; IPv6 VIPs added with IFA_F_NODAD; IPv4 labels; adding an
// address that is there, or removing one that is gone, is not an error.
//
// Where it differs: every IPv6 VIP is deprecated (preferred lifetime 0) by
// default so the host never picks it as a source address; keepalived does
// that for /128 VIPs only (IPv6SourceKeepalived). A refresh goes out every
// Refresh exactly; keepalived sends it with the first advert after Refresh
// has passed.
package vip
