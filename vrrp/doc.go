// Package vrrp is the VRRP protocol (RFC 5798 / RFC 9568 for version 3, RFC
// 3768 for version 2): the state machine of a virtual router and the event
// loop that runs many of them.
//
// Time reaches the protocol only through a Clock and the network only
// through a Transport, so the same code runs on real sockets and on
// vrrptest's in-memory LAN under a manual clock.
package vrrp
