package vrrp

// TrackStatus is what one tracked object (a health check, an interface, a
// file) currently contributes to a router. The health package computes it
// with keepalived's rules (weight, reverse, rise, fall); the router sums the
// deltas of all its tracked objects onto its base priority (clamped to
// 1..254; an address owner stays 255) and is in Fault while any status says
// Fault.
type TrackStatus struct {
	Name   string // e.g. "chk_haproxy", "eth1", "/var/run/prio"
	Up     bool   // the object's own state, for logs and events
	Delta  int    // priority change while in this state
	Fault  bool   // the router must be in Fault (weight 0 and down)
	Reason string // why, for logs: "exit status 1", "link down", ...
}
