// Package promtext gathers the metrics of a vrrp.Node's routers and writes
// them in Prometheus' text exposition format (version 0.0.4), without the
// Prometheus client library: for a daemon that serves /metrics itself and
// keeps its memory small (examples/vrrpd). Package vrrpprom exports the
// same metrics, defined here, through the Prometheus client, for programs
// that already have a registry; its documentation lists them.
package promtext
