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
// Machine is the protocol of one virtual router, pure: every input is a
// method call that carries the time it happened (Start, Receive,
// TimerDue, SetPriority, SetFault, Resign, Shutdown) and appends Actions
// for the caller (send an advert with priority P, acquire, release or
// announce the addresses, state and master changes); Deadline says when it
// next needs TimerDue. It reads no clock, does no I/O, starts no goroutine
// and allocates nothing on its hot paths. Programs that drive a Machine
// themselves use its ActionKind and Note values; a Node's users never
// see them.
//
// A Node's protocol for all its routers is a pure core of the same kind
// (core.go): the routers and their Machines, the transports they share
// demultiplexed by VRID (ports.go, membership.go), the receive checks of
// RFC 5798 §7.1 and RFC 3768 §7.1 — TTL / hop limit 255 in multicast mode,
// version, type, VRID, length, checksum, PASS or keepalived's IPsec AH,
// keepalived 2.4's auth_hmac trailer (hmac.go; Config.HMAC),
// the VRRPv2 interval, the address list, keepalived's unicast source check
// (receive.go) — the encoding of adverts (send.go), faults (faults.go),
// tracked objects (tracking.go), sync groups (sync.go) and one timer heap
// (timerheap.go). Its inputs carry their time and it returns what is to be
// done as data; drops are counted by reason in Stats and logged at Debug,
// rate-limited.
//
// The Node's loop (node.go, portio.go) only schedules over that output,
// with three small policies (policy.go): it waits for packets or the next
// deadline, reads each transport in batches (a goroutine per transport
// only waits for it), feeds the core with each packet's arrival time (the
// kernel's stamp), sends the core's adverts before anything else, holds
// logs, events and backend calls while a takeover's adverts are due, and
// hands backend calls to one ordered worker per router (worker.go), so
// that a slow backend delays addresses, never adverts. The simulation and
// the scenario scripts run this very loop, on vrrptest's LAN under a
// manual clock, inside testing/synctest bubbles.
//
// Faults — the interface down (Transport.Link), a tracked object in
// Fault, no usable source address, a Transport that failed (it is closed
// and opened anew with backoff), a sync group member in Fault — put a
// router in Fault: a master sends priority 0 and releases its addresses;
// when every fault clears it is a backup again (an owner, priority 255, a
// master at once).
package vrrp
