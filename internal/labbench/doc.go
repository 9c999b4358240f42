// Package labbench measures whole VRRP daemons side by side in a
// network-namespace lab: keepalived and vrrpkit's examples/vrrpd run the same
// keepalived.conf on two lab hosts, and the benchmarks report what DESIGN.md
// sets targets for — per-router takeover lag beyond Master_Down_Interval after
// the master is killed, steady CPU of master and backup, RSS, and false
// takeovers while the master runs.
//
// Everything is read off the wire (a capture on the lab's bridge) and off
// /proc, the same way for both daemons. The scenarios (scenarios_test.go):
// Takeover (200 routers), Scale1000 and Scale4000 (4 and 16 interfaces of
// 250 VRIDs), FastAdverts (50 routers at 20 ms, -labbench.fast long),
// Starved (200 routers under busy processes or pauses of the master,
// normal and real-time scheduling), Scale1000Profile and
// Scale4000Profile (vrrpd's CPU and heap profiles) and Reload1000 (Scale1000, then a SIGHUP to the master with
// one router changed). Run them as root:
//
//	go test -run='^$' -bench=. -benchtime=1x ./internal/labbench/
package labbench
