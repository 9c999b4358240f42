// Package vrrp is the VRRP protocol (RFC 5798 / RFC 9568 for version 3, RFC
// 3768 for version 2): the state machine of a virtual router and the event
// loop that runs many of them, with keepalived's behaviour where the RFCs
// leave room (Fault, preempt_delay, nopreempt, the master's answer to a
// lower priority, sync groups) and keepalived's wording in the logs.
//
// Time reaches the protocol only through a Clock and the network only
// through a Transport, so the same code runs on real sockets
// (NewSocketNetwork) and on vrrptest's in-memory LAN under a manual clock.
//
// # Using it
//
// A program that fails an address over describes each virtual router with
// a Config and runs it: NewRouter and Router.Run for one, or a Node for
// many (NewNode, Node.Add, Node.Run). A Router reports its State, its
// Master and its effective Priority at any time, streams Events (state
// changes with their reason, master and priority changes) without ever
// blocking the protocol, and takes SetPriority, Track (health checks
// moving the priority or forcing Fault) and Resign (hand the addresses to
// the best backup now). Run returns after a clean shutdown: a master sends
// a priority-0 advert and releases its addresses through its Backend.
//
// # Structure
//
// Machine is the protocol itself, pure: every input is a method call that
// carries the time it happened (Start, Receive, TimerDue, SetPriority,
// SetFault, Resign, Shutdown) and appends Actions for the caller (send an
// advert with priority P, acquire, release or announce the addresses,
// state and master changes); Deadline says when it next needs TimerDue. It
// reads no clock, does no I/O, starts no goroutine and allocates nothing on
// its hot paths.
//
// Node drives machines: one goroutine and one timer for all its routers,
// one Transport per interface and address family shared by the routers on
// it and demultiplexed by VRID (up to 255), a goroutine per Transport that
// reads it (or, for advert's sockets, only waits: the loop reads them
// itself, in batches), and one ordered worker per router for Backend
// calls, so that a slow backend delays addresses, never adverts. Received
// adverts are timed from their arrival (the kernel's stamp) and taken in
// time order with the timers; a timer batch sends its adverts before it
// logs, sends events or hands work to the backends. Its
// receive path checks what RFC 5798 §7.1 and RFC 3768 §7.1 ask (TTL / hop
// limit 255 in multicast mode, version, type, VRID, length, checksum,
// authentication with PASS or keepalived's IPsec AH, the VRRPv2 interval,
// the address list, keepalived's unicast source check) before the machine
// sees an advert; drops are counted by reason in Stats and logged at
// Debug, rate-limited.
//
// Faults — the interface down (LinkMonitor), a tracked object in Fault, no
// usable source address, a Transport that failed (it is reopened with
// backoff), a sync group member in Fault — put a router in Fault: a master
// sends priority 0 and releases its addresses; when every fault clears it
// is a backup again (an owner, priority 255, a master at once).
package vrrp
