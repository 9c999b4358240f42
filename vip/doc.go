// Package vip puts a VRRP router's virtual addresses on the host and takes
// them off: it implements vrrp.Backend.
//
// Linux adds and removes the addresses with rtnetlink, announces them with
// gratuitous ARP (RFC 5227 §3 announcements, as keepalived sends them) and
// unsolicited IPv6 neighbor advertisements (RFC 4861 §7.2.6, RFC 5798
// §6.4.2) on keepalived's schedule (garp_master_repeat, garp_master_delay,
// garp_master_refresh, …: see Schedule), and puts back an address that
// someone else deletes while it is held. Command runs a program on acquire,
// release and announce (moving a cloud floating IP or elastic interface),
// Funcs calls Go functions, and Multi composes backends.
package vip
