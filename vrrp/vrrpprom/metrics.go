package vrrpprom

import "github.com/prometheus/client_golang/prometheus"

// Label sets. The keepalived names carry the labels of the widely used
// keepalived exporter, so that dashboards built for it work unchanged:
// iname is the router's name (keepalived's vrrp_instance), intf its
// interface, vrid its VRID.
var (
	routerLabels = []string{"iname", "intf", "vrid"}
	vipLabels    = []string{"iname", "intf", "vrid", "ip_address"}
)

// keepalived exporter compatible.
var (
	descUp = prometheus.NewDesc("keepalived_up",
		"Whether the VRRP node answers: 1 while its protocol loop runs, 0 once it is stuck or stopped.", nil, nil)
	descVRRPState = prometheus.NewDesc("keepalived_vrrp_state",
		"State of the virtual router, one series per virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", vipLabels, nil)
	descVRRPExcludedState = prometheus.NewDesc("keepalived_vrrp_excluded_state",
		"State of the virtual router, one series per excluded virtual address (virtual_ipaddress_excluded): 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", vipLabels, nil)
	descAdvertsReceived = prometheus.NewDesc("keepalived_advertisements_received_total",
		"Valid advertisements received.", routerLabels, nil)
	descAdvertsSent = prometheus.NewDesc("keepalived_advertisements_sent_total",
		"Advertisements sent (one per advertisement, whatever the number of unicast peers).", routerLabels, nil)
	descBecomeMaster = prometheus.NewDesc("keepalived_become_master_total",
		"Transitions to MASTER.", routerLabels, nil)
	descReleaseMaster = prometheus.NewDesc("keepalived_release_master_total",
		"Transitions from MASTER to another state.", routerLabels, nil)
	descPacketLength = prometheus.NewDesc("keepalived_packet_length_errors_total",
		"Packets dropped as truncated or with a length that does not match the address count.", routerLabels, nil)
	descIntervalErrors = prometheus.NewDesc("keepalived_advertisements_interval_errors_total",
		"VRRPv2 advertisements dropped because their interval differs from ours (RFC 3768 §7.1).", routerLabels, nil)
	descTTLErrors = prometheus.NewDesc("keepalived_ip_ttl_errors_total",
		"Multicast packets dropped because their TTL or hop limit is not 255.", routerLabels, nil)
	descInvalidType = prometheus.NewDesc("keepalived_invalid_type_received_total",
		"Packets dropped because they are not advertisements.", routerLabels, nil)
	descAddressList = prometheus.NewDesc("keepalived_address_list_errors_total",
		"Advertisements whose address list differs from ours.", routerLabels, nil)
	descAuthInvalid = prometheus.NewDesc("keepalived_authentication_invalid_total",
		"Advertisements with an unknown authentication type: always 0, such packets count as keepalived_authentication_mismatch_total.", routerLabels, nil)
	descAuthMismatch = prometheus.NewDesc("keepalived_authentication_mismatch_total",
		"Advertisements whose authentication type (or AH presence) is not ours.", routerLabels, nil)
	descAuthFailure = prometheus.NewDesc("keepalived_authentication_failure_total",
		"Advertisements with a wrong password, a bad AH ICV or a replayed AH sequence number.", routerLabels, nil)
	descPrio0Received = prometheus.NewDesc("keepalived_priority_zero_received_total",
		"Priority-0 advertisements received (a master leaving).", routerLabels, nil)
	descPrio0Sent = prometheus.NewDesc("keepalived_priority_zero_sent_total",
		"Priority-0 advertisements sent (leaving as master).", routerLabels, nil)
	descScriptStatus = prometheus.NewDesc("keepalived_script_status",
		"Tracked script result: 0 BAD, 1 GOOD.", []string{"name"}, nil)
	descScriptState = prometheus.NewDesc("keepalived_script_state",
		"Tracked script process: 0 idle, 1 running, 2 requested termination, 3 forcing termination.", []string{"name"}, nil)
)

// vrrpkit's own.
var (
	descInfo = prometheus.NewDesc("vrrpkit_router_info",
		"Always 1; labels say the router's address family and VRRP version.", append(routerLabels[:3:3], "family", "version"), nil)
	descMaster = prometheus.NewDesc("vrrpkit_master",
		"1 while this node is the router's master (holds its addresses), else 0.", routerLabels, nil)
	descPriority = prometheus.NewDesc("vrrpkit_priority",
		"Effective priority: the base priority moved by tracked objects (1..254; 255 for the address owner).", routerLabels, nil)
	descBasePriority = prometheus.NewDesc("vrrpkit_base_priority",
		"Configured priority.", routerLabels, nil)
	descDrops = prometheus.NewDesc("vrrpkit_drops_total",
		"Received packets not given to the state machine, by reason (ttl, version, type, length, checksum, malformed, auth-type, auth, replay, interval, address-list, not-peer, not-running).",
		append(routerLabels[:3:3], "reason"), nil)
	descSendErrors = prometheus.NewDesc("vrrpkit_send_errors_total",
		"Advertisements that failed to send.", routerLabels, nil)
	descBackendErrors = prometheus.NewDesc("vrrpkit_backend_errors_total",
		"Backend calls (acquire, release, announce the addresses) that failed.", routerLabels, nil)
	descEventsLost = prometheus.NewDesc("vrrpkit_events_lost_total",
		"Events dropped because the program read them too slowly.", routerLabels, nil)
	descTakeover = prometheus.NewDesc("vrrpkit_takeover_latency_seconds",
		"Time from the last advertisement heard from the old master to our first as the new one (needs the Observer).", routerLabels, nil)
	descBackendOp = prometheus.NewDesc("vrrpkit_backend_operation_seconds",
		"Duration of backend operations, by operation (needs the Observer).", append(routerLabels[:3:3], "op"), nil)
	descBackendOpErrors = prometheus.NewDesc("vrrpkit_backend_operation_errors_total",
		"Backend operations that failed, by operation (needs the Observer).", append(routerLabels[:3:3], "op"), nil)
)

// allDescs is every metric the collector may export, for Describe.
var allDescs = []*prometheus.Desc{
	descUp, descVRRPState, descVRRPExcludedState,
	descAdvertsReceived, descAdvertsSent, descBecomeMaster, descReleaseMaster,
	descPacketLength, descIntervalErrors, descTTLErrors, descInvalidType, descAddressList,
	descAuthInvalid, descAuthMismatch, descAuthFailure, descPrio0Received, descPrio0Sent,
	descScriptStatus, descScriptState,
	descInfo, descMaster, descPriority, descBasePriority, descDrops,
	descSendErrors, descBackendErrors, descEventsLost,
	descTakeover, descBackendOp, descBackendOpErrors,
}
