// Package vrrpprom exports the routers of a vrrp.Node as Prometheus
// metrics, under the names and labels of the widely used keepalived
// exporter (so that Grafana dashboards and alerts written for keepalived
// keep working) and, for what keepalived does not count, under vrrpkit_.
//
// A program registers the collector in one line:
//
//	prometheus.MustRegister(vrrpprom.New(node, nil))
//
// and, for the latency histograms, gives the Node an Observer first:
//
//	obs := vrrpprom.NewObserver()
//	node, err := vrrp.NewNode(vrrp.NodeConfig{Network: network, Observer: obs})
//	...
//	prometheus.MustRegister(vrrpprom.New(node, &vrrpprom.Options{Observer: obs}))
//
// A scrape reads each router's atomic state and counters and asks the
// protocol loop for one no-op (Node.Ping) for keepalived_up; it never
// holds the loop. Routers added to or removed from the node later appear
// and disappear with their series. Routers' names (vrrp.Config.Name)
// should be unique: of two routers with the same name, interface and
// VRID, only the first is exported.
//
// # Labels
//
// iname is the router's name (keepalived's vrrp_instance), intf its
// interface (for keepalived_vrrp_state: the address's own interface when
// it has one, as keepalived's "dev"), vrid its VRID, ip_address the
// virtual address with its prefix length ("10.0.0.100/24"), as
// keepalived's data file writes it.
//
// # Metrics compatible with the keepalived exporter
//
//	keepalived_up                                    gauge    1 while the node's protocol loop answers, 0 when it is stuck or stopped
//	keepalived_vrrp_state{iname,intf,vrid,ip_address} gauge   state per virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT
//	keepalived_vrrp_excluded_state{...}              gauge    the same for excluded addresses (virtual_ipaddress_excluded)
//	keepalived_advertisements_received_total         counter  valid adverts received
//	keepalived_advertisements_sent_total             counter  adverts sent (once per advert, whatever the number of unicast peers)
//	keepalived_become_master_total                   counter  transitions to MASTER
//	keepalived_release_master_total                  counter  transitions from MASTER
//	keepalived_packet_length_errors_total            counter  truncated packets, or a length that does not match the address count
//	keepalived_advertisements_interval_errors_total  counter  VRRPv2 adverts whose interval differs from ours
//	keepalived_ip_ttl_errors_total                   counter  multicast packets whose TTL / hop limit is not 255
//	keepalived_invalid_type_received_total           counter  packets that are not advertisements
//	keepalived_address_list_errors_total             counter  adverts whose address list differs from ours
//	keepalived_authentication_invalid_total          counter  always 0: an unknown auth type counts as a mismatch
//	keepalived_authentication_mismatch_total         counter  auth type (or AH presence) not ours
//	keepalived_authentication_failure_total          counter  wrong password, bad AH ICV, replayed AH sequence number
//	keepalived_priority_zero_received_total          counter  priority-0 adverts received (a master leaving)
//	keepalived_priority_zero_sent_total              counter  priority-0 adverts sent
//	keepalived_script_status{name}                   gauge    tracked script result: 0 BAD, 1 GOOD (Options.Scripts)
//	keepalived_script_state{name}                    gauge    0 idle, 1 running (keepalived's 2 and 3, termination, do not occur)
//
// The counters carry the labels iname, intf and vrid. The exporter's
// keepalived_gratuitous_arp_delay_total (a configuration value exported
// as a counter) is not exported: the announce schedule belongs to the
// address backend.
//
// # vrrpkit's own
//
//	vrrpkit_router_info{iname,intf,vrid,family,version}   gauge      always 1: address family (ipv4, ipv6) and VRRP version
//	vrrpkit_master                                        gauge      1 while this node is the router's master, else 0
//	vrrpkit_priority                                      gauge      effective priority (base moved by tracked objects)
//	vrrpkit_base_priority                                 gauge      configured priority
//	vrrpkit_drops_total{iname,intf,vrid,reason}           counter    received packets dropped, one series per vrrp.DropReason (ttl, version, type, length, checksum, malformed, auth-type, auth, replay, interval, address-list, not-peer, not-running, owner, not-master, hmac-missing, hmac-key-id, hmac, hmac-malformed, hmac-stale, hmac-replay)
//	vrrpkit_send_errors_total                             counter    adverts that failed to send
//	vrrpkit_backend_errors_total                          counter    backend calls that failed
//	vrrpkit_events_lost_total                             counter    events dropped because the program read them too slowly
//	vrrpkit_takeover_latency_seconds                      histogram  last advert heard from the old master to our first as master (Observer)
//	vrrpkit_backend_operation_seconds{iname,intf,vrid,op} histogram  backend operations (acquire, release, announce) by duration (Observer)
//	vrrpkit_backend_operation_errors_total{...,op}        counter    backend operations that failed (Observer)
//
// A peer that speaks the other VRRP version on the same VRID shows as
// vrrpkit_drops_total{reason="version"}.
//
// The list is checked against testdata/metrics.golden: a name that
// changes breaks dashboards.
//
// The metrics are defined and gathered by package promtext, which also
// writes them in the text exposition format without the Prometheus
// client: a program that serves /metrics itself and wants to stay small
// (examples/vrrpd) uses it instead of this package.
package vrrpprom
