// Package vrrptest provides a clock and a network you control, for testing
// and simulating programs built on package vrrp without privileges or
// sleeps: ManualClock (a vrrp.Clock moved by hand, deterministic order of
// simultaneous timers), LAN (an in-memory Ethernet segment implementing
// vrrp.Network and vrrp.Transport (its Link too), with per-link loss,
// delay, jitter, duplication and reordering, partitions, link down/up and
// host crashes, every random choice from a seed) and Backend (an in-memory
// vrrp.Backend that records its calls).
package vrrptest
