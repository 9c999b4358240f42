package promtext

// Type is a metric's type.
type Type uint8

const (
	Counter Type = iota + 1
	Gauge
	Histogram
)

func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return "untyped"
}

// Def defines one metric: its name, help, type and label names.
type Def struct {
	Name   string
	Help   string
	Type   Type
	Labels []string
}

// Label sets. The keepalived names carry the labels of the widely used
// keepalived exporter, so that dashboards built for it work unchanged:
// iname is the router's name (keepalived's vrrp_instance), intf its
// interface, vrid its VRID.
var (
	routerLabels = []string{"iname", "intf", "vrid"}
	vipLabels    = []string{"iname", "intf", "vrid", "ip_address"}
)

func with(extra ...string) []string { return append(routerLabels[:3:3], extra...) }

// keepalived exporter compatible.
var (
	Up = &Def{"keepalived_up",
		"Whether the VRRP node answers: 1 while its protocol loop runs, 0 once it is stuck or stopped.", Gauge, nil}
	VRRPState = &Def{"keepalived_vrrp_state",
		"State of the virtual router, one series per virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", Gauge, vipLabels}
	VRRPExcludedState = &Def{"keepalived_vrrp_excluded_state",
		"State of the virtual router, one series per excluded virtual address (virtual_ipaddress_excluded): 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.", Gauge, vipLabels}
	AdvertsReceived = &Def{"keepalived_advertisements_received_total", "Valid advertisements received.", Counter, routerLabels}
	AdvertsSent     = &Def{"keepalived_advertisements_sent_total",
		"Advertisements sent (one per advertisement, whatever the number of unicast peers).", Counter, routerLabels}
	BecomeMaster   = &Def{"keepalived_become_master_total", "Transitions to MASTER.", Counter, routerLabels}
	ReleaseMaster  = &Def{"keepalived_release_master_total", "Transitions from MASTER to another state.", Counter, routerLabels}
	PacketLength   = &Def{"keepalived_packet_length_errors_total", "Packets dropped as truncated or with a length that does not match the address count.", Counter, routerLabels}
	IntervalErrors = &Def{"keepalived_advertisements_interval_errors_total", "VRRPv2 advertisements dropped because their interval differs from ours (RFC 3768 §7.1).", Counter, routerLabels}
	TTLErrors      = &Def{"keepalived_ip_ttl_errors_total", "Multicast packets dropped because their TTL or hop limit is not 255.", Counter, routerLabels}
	InvalidType    = &Def{"keepalived_invalid_type_received_total", "Packets dropped because they are not advertisements.", Counter, routerLabels}
	AddressList    = &Def{"keepalived_address_list_errors_total", "Advertisements whose address list differs from ours.", Counter, routerLabels}
	AuthInvalid    = &Def{"keepalived_authentication_invalid_total",
		"Advertisements with an unknown authentication type: always 0, such packets count as keepalived_authentication_mismatch_total.", Counter, routerLabels}
	AuthMismatch = &Def{"keepalived_authentication_mismatch_total", "Advertisements whose authentication type (or AH presence) is not ours.", Counter, routerLabels}
	AuthFailure  = &Def{"keepalived_authentication_failure_total", "Advertisements with a wrong password, a bad AH ICV or a replayed AH sequence number.", Counter, routerLabels}
	Prio0Rcvd    = &Def{"keepalived_priority_zero_received_total", "Priority-0 advertisements received (a master leaving).", Counter, routerLabels}
	Prio0Sent    = &Def{"keepalived_priority_zero_sent_total", "Priority-0 advertisements sent (leaving as master).", Counter, routerLabels}
	ScriptStatus = &Def{"keepalived_script_status", "Tracked script result: 0 BAD, 1 GOOD.", Gauge, []string{"name"}}
	ScriptState  = &Def{"keepalived_script_state", "Tracked script process: 0 idle, 1 running, 2 requested termination, 3 forcing termination.", Gauge, []string{"name"}}
)

// vrrpkit's own.
var (
	Info          = &Def{"vrrpkit_router_info", "Always 1; labels say the router's address family and VRRP version.", Gauge, with("family", "version")}
	Master        = &Def{"vrrpkit_master", "1 while this node is the router's master (holds its addresses), else 0.", Gauge, routerLabels}
	Priority      = &Def{"vrrpkit_priority", "Effective priority: the base priority moved by tracked objects (1..254; 255 for the address owner).", Gauge, routerLabels}
	BasePriority  = &Def{"vrrpkit_base_priority", "Configured priority.", Gauge, routerLabels}
	Drops         = &Def{"vrrpkit_drops_total", "Received packets not given to the state machine, by reason (ttl, version, type, length, checksum, malformed, auth-type, auth, replay, interval, address-list, not-peer, not-running).", Counter, with("reason")}
	SendErrors    = &Def{"vrrpkit_send_errors_total", "Advertisements that failed to send.", Counter, routerLabels}
	BackendErrors = &Def{"vrrpkit_backend_errors_total", "Backend calls (acquire, release, announce the addresses) that failed.", Counter, routerLabels}
	EventsLost    = &Def{"vrrpkit_events_lost_total", "Events dropped because the program read them too slowly.", Counter, routerLabels}
	Takeover      = &Def{"vrrpkit_takeover_latency_seconds", "Time from the last advertisement heard from the old master to our first as the new one (needs the Observer).", Histogram, routerLabels}
	BackendOp     = &Def{"vrrpkit_backend_operation_seconds", "Duration of backend operations, by operation (needs the Observer).", Histogram, with("op")}
	BackendOpErrs = &Def{"vrrpkit_backend_operation_errors_total", "Backend operations that failed, by operation (needs the Observer).", Counter, with("op")}
)

// Defs is every metric Gather may return, in the order it returns them.
var Defs = []*Def{
	Up, VRRPState, VRRPExcludedState,
	AdvertsReceived, AdvertsSent, BecomeMaster, ReleaseMaster,
	PacketLength, IntervalErrors, TTLErrors, InvalidType, AddressList,
	AuthInvalid, AuthMismatch, AuthFailure, Prio0Rcvd, Prio0Sent,
	SendErrors, BackendErrors, EventsLost, Drops,
	Info, Master, Priority, BasePriority,
	Takeover, BackendOp, BackendOpErrs,
	ScriptStatus, ScriptState,
}
