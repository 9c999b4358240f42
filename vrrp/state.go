package vrrp

import "strconv"

// State is a virtual router's state (RFC 5798 §6.4, plus keepalived's Fault).
type State uint8

const (
	// Initialize: not started, or stopped (RFC 5798 §6.4.1).
	Initialize State = iota
	// Backup: monitoring the master, ready to take over (RFC 5798 §6.4.2).
	Backup
	// Master: owning the virtual addresses and advertising (RFC 5798 §6.4.3).
	Master
	// Fault: not taking part because the interface is down, a tracked
	// object says so, or there is no usable source address (keepalived's
	// FAULT state; the RFC has none).
	Fault
)

// String returns keepalived's name for the state, as used in its logs and
// notify scripts: INIT, BACKUP, MASTER, FAULT.
func (s State) String() string {
	switch s {
	case Initialize:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Reason says why a state changed.
type Reason uint8

const (
	ReasonNone Reason = iota
	// ReasonStartup: the router started and waits for a master (→ Backup).
	ReasonStartup
	// ReasonOwner: priority 255, the address owner, takes over at once
	// (RFC 5798 §6.4.1).
	ReasonOwner
	// ReasonMasterDown: no advert for Master_Down_Interval (RFC 5798 §6.4.2).
	ReasonMasterDown
	// ReasonPriorityZero: the master left with a priority-0 advert and this
	// router took over after Skew_Time (RFC 5798 §6.4.2).
	ReasonPriorityZero
	// ReasonPreempt: the master's priority is lower than ours and preemption
	// is on, so its adverts were discarded until the down timer ran out.
	ReasonPreempt
	// ReasonHigherPriority: a master heard a higher priority, or the same
	// priority from a higher primary address (RFC 5798 §6.4.3).
	ReasonHigherPriority
	// ReasonResign: the program asked the master to hand over.
	ReasonResign
	// ReasonFault: see the event's Detail (link down, tracker, no source
	// address, receive error, sync group).
	ReasonFault
	// ReasonFaultCleared: every fault condition went away.
	ReasonFaultCleared
	// ReasonShutdown: the router was stopped.
	ReasonShutdown
	// ReasonSync: another member of the router's sync group changed state
	// (keepalived's vrrp_sync_group).
	ReasonSync
	// ReasonLowerPriority: a master heard a lower priority and announces
	// its addresses again (AddressSet.Reason of Announce).
	ReasonLowerPriority
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonStartup:
		return "startup"
	case ReasonOwner:
		return "address owner"
	case ReasonMasterDown:
		return "master down"
	case ReasonPriorityZero:
		return "master left (priority 0)"
	case ReasonPreempt:
		return "preempted lower priority master"
	case ReasonHigherPriority:
		return "higher priority master"
	case ReasonResign:
		return "resigned"
	case ReasonFault:
		return "fault"
	case ReasonFaultCleared:
		return "fault cleared"
	case ReasonShutdown:
		return "shutdown"
	case ReasonSync:
		return "sync group"
	case ReasonLowerPriority:
		return "lower priority master heard"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}
