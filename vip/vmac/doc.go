// Package vmac gives a VRRP router the virtual MAC address of RFC 5798
// §7.3 (00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6)
// the way keepalived's use_vmac does: a macvlan interface on the router's
// interface, which carries the router's addresses and, unless keepalived's
// vmac_xmit_base is wanted, its adverts. A switch then learns the virtual
// MAC on the master's port from its adverts, so that a takeover moves the
// LAN's traffic at the new master's first advert, before any gratuitous
// ARP, and hosts' neighbour caches never change.
//
// A Manager creates the interfaces (macvlan, mode private, no IPv6
// address of its own generated; an IPv6 VMAC gets the base interface's
// link-local address, so that adverts come from a router's own address),
// reuses one left by a crashed run, and removes them at Close. It sets the
// sysctls keepalived sets — on an IPv4 VMAC arp_ignore 1, accept_local 1,
// rp_filter 0, promote_secondaries 1 and IPv6 off; on its base interface
// arp_ignore 1 and arp_filter 1, so that only the VMAC answers ARP for the
// addresses on it (and, where keepalived sets nothing, arp_announce 2, so
// that the base's own ARP requests never pair a virtual address with the
// base's MAC); while all.rp_filter is on, every interface's rp_filter
// raised to it and all.rp_filter turned off (a VMAC receives adverts from
// addresses routed through its base) — and puts them back when the last
// VMAC goes (keepalived leaves the base's arp_ignore and arp_filter set).
// What it changed is written in each VMAC's interface alias, so that a run
// after a crash restores the values from before the crash, not its
// predecessor's.
//
// A backup's VMAC must not send from the virtual MAC, or the switch would
// move it to the backup's port: as keepalived does, nftables rules (tables
// ip and ip6 of the Manager's own) send the IGMP and MLD reports of a VMAC
// out of its base interface instead, and drop neighbour advertisements
// from link-local addresses and router solicitations leaving it.
//
// A VMAC in use by a running Manager is marked by an abstract unix socket
// named after it, held by that process: the kernel frees the name when the
// process dies, however it dies. A VMAC whose mark is free and whose alias
// says vrrpkit made it is a leftover: Add reuses it, RemoveLeftovers
// deletes those nobody reused.
//
// Network wraps a vrrp.Network so that a router on an IPv4 VMAC sends its
// adverts from its base interface's primary address (the VMAC holds only
// the virtual addresses), as keepalived and FRR do.
package vmac
