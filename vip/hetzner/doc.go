// Package hetzner moves a VRRP router's address as a Hetzner Cloud
// floating IP: NewFloatingIP returns a vrrp.Backend (a cloud.Backend:
// ordered, retried, bounded, re-asserted, see package vip/cloud) that
// assigns the floating IP to this server through the Hetzner Cloud API,
// to compose after vip.Linux (the address must be on the interface too).
//
// It speaks the API's three calls it needs (assign, unassign, read the
// floating IP) with net/http rather than through hcloud-go, whose module
// requires the Prometheus client and protobuf. The server's ID comes from
// the metadata service (169.254.169.254/hetzner/v1/metadata), the API
// token from the configuration as a Token, which never prints.
package hetzner
