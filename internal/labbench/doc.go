// Package labbench measures whole VRRP daemons side by side in a
// network-namespace lab: keepalived and vrrpkit's examples/vrrpd run the same
// keepalived.conf on two lab hosts, and the benchmarks report what DESIGN.md
// sets targets for — per-VRID takeover lag beyond Master_Down_Interval after
// the master is killed, steady CPU of master and backup, and RSS.
//
// Everything is read off the wire (a capture on the lab's bridge) and off
// /proc, the same way for both daemons. Run it as root:
//
//	go test -run='^$' -bench=. -benchtime=1x ./internal/labbench/
package labbench
