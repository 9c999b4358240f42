// Command httpvip is a Go HTTP service that owns its failover: it answers
// on a virtual IP address only while it is the healthy VRRP master of
// that address, on vrrpkit's library (no keepalived beside it).
//
//	httpvip -interface eth0 -vrid 51 -priority 150 -vip 10.0.0.100/24 -port 8080
//
// It runs one vrrp.Router whose Backend is vip's Linux backend wrapped so
// that the HTTP listener follows the address: the listener opens on
// VIP:port after the address is added (so it can bind it) and closes
// before the address is removed (so no connection is accepted on an
// address about to move). A health.Tracker checks the service (here: the
// file named by -unhealthy-file must not exist; a real service checks its
// own dependencies) every -check-interval; while the check fails the
// router is in FAULT — it gives up the address and stops answering — and
// when it passes again the router returns to BACKUP and, with the higher
// priority, takes the address back.
//
// httpvip speaks VRRPv3 by default, as vrrpkit does; keepalived defaults to
// VRRPv2: beside keepalived, set keepalived's vrrp_version 3 (or -version 2
// here), or the two never hear each other and both become master.
//
// It needs CAP_NET_RAW (VRRP, ARP and neighbour-advertisement sockets) and
// CAP_NET_ADMIN (the address, multicast membership), not root: run it as
// root, or as a user with those two capabilities
// (AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW in a systemd unit).
package main
