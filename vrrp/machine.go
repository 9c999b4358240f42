package vrrp

import (
	"net/netip"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
)

// MachineConfig is what the state machine needs to know about its router.
// The Node fills it from a Config; programs that drive a Machine themselves
// fill it directly.
type MachineConfig struct {
	// Version is the VRRP version, 2 (RFC 3768) or 3 (RFC 5798). It decides
	// Skew_Time and whether a backup learns the master's interval.
	Version uint8
	// Priority is the initial effective priority, 1..255 (255 = owner).
	Priority uint8
	// Interval is our Advertisement_Interval.
	Interval time.Duration
	// NoPreempt turns Preempt_Mode off (keepalived's nopreempt).
	NoPreempt bool
	// PreemptDelay is keepalived's preempt_delay: a backup that outranks
	// the master keeps accepting its adverts for this long after startup
	// (or after it first hears the lower priority) before it preempts.
	PreemptDelay time.Duration
	// StartAsMaster: the first wait for a master is
	// Advertisement_Interval + Skew_Time(255) instead of
	// Master_Down_Interval (see Config.StartAsMaster).
	StartAsMaster bool
	// LowerPriorityNoAdvert: a master that hears a lower priority does not
	// answer with an advert at once (keepalived's lower_prio_no_advert).
	// It still re-announces its addresses.
	LowerPriorityNoAdvert bool
	// HigherPriorityAdvert: a master that hears a higher priority sends
	// one advert at its own priority before it steps down (keepalived's
	// higher_prio_send_advert).
	HigherPriorityAdvert bool
	// HoldMaster makes the machine ask before it becomes master on a
	// timer: it emits ActWantMaster and stays Backup until Promote is
	// called. Sync groups use it (keepalived's vrrp_sync_group).
	HoldMaster bool
}

// ActionKind says what an Action asks the driver to do.
type ActionKind uint8

const (
	// ActSend: send an advert with Action.Priority now.
	ActSend ActionKind = iota + 1
	// ActAcquire: add the virtual addresses and announce them.
	ActAcquire
	// ActRelease: remove the virtual addresses.
	ActRelease
	// ActAnnounce: announce the addresses again (gratuitous ARP /
	// unsolicited NA), after hearing a lower-priority master.
	ActAnnounce
	// ActState: the state changed from Action.From to Action.To for
	// Action.Reason (Action.Detail says more for faults).
	ActState
	// ActMaster: the current master is now Action.Addr (zero: unknown).
	ActMaster
	// ActWantMaster: with HoldMaster, the down timer ran out; the machine
	// stays Backup until Promote.
	ActWantMaster
	// ActNote: a protocol decision worth logging; see Action.Note.
	ActNote
)

func (k ActionKind) String() string {
	switch k {
	case ActSend:
		return "send"
	case ActAcquire:
		return "acquire"
	case ActRelease:
		return "release"
	case ActAnnounce:
		return "announce"
	case ActState:
		return "state"
	case ActMaster:
		return "master"
	case ActWantMaster:
		return "want-master"
	case ActNote:
		return "note"
	}
	return "ActionKind(?)"
}

// Note names a protocol decision that the driver logs (keepalived's
// wording is given for each).
type Note uint8

const (
	// NoteDiscardLower: a preempting backup discarded a lower-priority
	// advert: "(VI_1) received lower priority (90) advert from 10.0.0.2 -
	// discarding". Priority and Addr are the advert's.
	NoteDiscardLower Note = iota + 1
	// NoteLowerPriority: a master heard a lower priority (or the same
	// priority from a lower address): "(VI_1) Received advert from
	// 10.0.0.2 with lower priority 90, ours 100, forcing new election".
	NoteLowerPriority
	// NoteHigherPriority: a master heard a higher priority and steps down:
	// "(VI_1) Master received advert from 10.0.0.2 with higher priority
	// 150, ours 100".
	NoteHigherPriority
	// NoteEqualPriorityHigherAddr: "(VI_1) Master received advert from
	// 10.0.0.2 with same priority 100 but higher IP address than ours".
	NoteEqualPriorityHigherAddr
	// NotePriorityZeroBackup: "(VI_1) Backup received priority 0
	// advertisement".
	NotePriorityZeroBackup
	// NotePriorityZeroMaster: "(VI_1) Master received priority 0 message".
	NotePriorityZeroMaster
	// NoteIntervalChanged: a v3 backup learned a new Master_Adver_Interval
	// (Interval; OldInterval before).
	NoteIntervalChanged
	// NotePreemptDelayStart: the preempt delay started (Interval = delay).
	NotePreemptDelayStart
	// NotePreemptDelayStop: a priority at least ours was heard.
	NotePreemptDelayStop
	// NoteSameAddress: "(VI_1) WARNING - equal priority advert received
	// from remote host with our IP address."
	NoteSameAddress
	// NoteResignNotMaster: Resign was asked while not master.
	NoteResignNotMaster
)

func (n Note) String() string {
	switch n {
	case NoteDiscardLower:
		return "discard-lower"
	case NoteLowerPriority:
		return "lower-priority"
	case NoteHigherPriority:
		return "higher-priority"
	case NoteEqualPriorityHigherAddr:
		return "equal-priority-higher-address"
	case NotePriorityZeroBackup:
		return "priority-zero-backup"
	case NotePriorityZeroMaster:
		return "priority-zero-master"
	case NoteIntervalChanged:
		return "interval-changed"
	case NotePreemptDelayStart:
		return "preempt-delay-start"
	case NotePreemptDelayStop:
		return "preempt-delay-stop"
	case NoteSameAddress:
		return "same-address"
	case NoteResignNotMaster:
		return "resign-not-master"
	}
	return "Note(?)"
}

// Action is one thing a Machine asks its driver to do, in order.
type Action struct {
	Kind     ActionKind
	Note     Note
	Priority uint8 // ActSend: priority to advertise; ActNote: the advert's priority
	From, To State // ActState
	Reason   Reason
	// Detail says why for a fault (the string given to SetFault).
	Detail string
	// Addr: ActMaster, the master; ActNote, the advert's source.
	Addr        netip.Addr
	Interval    time.Duration // NoteIntervalChanged, NotePreemptDelayStart
	OldInterval time.Duration // NoteIntervalChanged
}

// Machine is the VRRP state machine of one virtual router (RFC 5798 §6.4,
// RFC 9568 §6.4, RFC 3768 §6.4 for v2 timing), with keepalived's extensions
// where the RFCs say nothing: Fault, preempt_delay, the master's answer to a
// lower priority, and resign.
//
// It does no I/O, reads no clock and starts no goroutine: every input is a
// method call that carries the time it happened, and appends what to do to
// the caller's slice. Deadline says when it next needs TimerDue. The hot
// paths (Receive, TimerDue) allocate nothing. A Machine is not safe for
// concurrent use.
type Machine struct {
	cfg   MachineConfig
	state State
	prio  uint8
	addr  netip.Addr // our primary address, for the tie-break

	masterAdverInt time.Duration
	downAt         time.Time // Backup: Master_Down_Timer
	adverAt        time.Time // Master: Adver_Timer
	preemptAt      time.Time // zero: preempt delay not running
	master         netip.Addr
	masterReason   Reason // why we would become master when downAt expires

	resigned    bool      // behave as nopreempt until master again
	answeredAt  time.Time // the last answer to a lower priority
	faulted     bool
	faultDetail string
	wantMaster  bool
}

// NewMachine returns a machine in Initialize.
func NewMachine(cfg MachineConfig) *Machine {
	m := &Machine{}
	m.Init(cfg)
	return m
}

// Init resets m to Initialize with cfg.
func (m *Machine) Init(cfg MachineConfig) {
	if cfg.Version == 0 {
		cfg.Version = 3
	}
	if cfg.Priority == 0 {
		cfg.Priority = DefaultPriority
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	*m = Machine{cfg: cfg, prio: cfg.Priority, masterAdverInt: cfg.Interval}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority.
func (m *Machine) Priority() uint8 { return m.prio }

// Master returns the current master's address (ours when Master), or the
// zero Addr when unknown.
func (m *Machine) Master() netip.Addr { return m.master }

// MasterAdverInterval returns Master_Adver_Interval: learned from the
// master's adverts in a v3 backup, else our own interval.
func (m *Machine) MasterAdverInterval() time.Duration { return m.masterAdverInt }

// Resigned reports whether the machine resigned and behaves as
// non-preempting until it next becomes master.
func (m *Machine) Resigned() bool { return m.resigned }

// WantsMaster reports whether a HoldMaster machine is waiting for Promote.
func (m *Machine) WantsMaster() bool { return m.wantMaster }

// Faulted reports whether SetFault put the machine in Fault (also before
// Start).
func (m *Machine) Faulted() bool { return m.faulted }

// SetAddr sets our primary address: the source of our adverts, compared
// with the sender's on equal priority (RFC 5798 §6.4.3). A master reports
// itself at the new address.
func (m *Machine) SetAddr(a netip.Addr, acts []Action) []Action {
	m.addr = a
	if m.state == Master {
		return m.setMaster(a, acts)
	}
	return acts
}

// Addr returns our primary address.
func (m *Machine) Addr() netip.Addr { return m.addr }

// Deadline returns when the machine next needs TimerDue, or the zero Time
// if it needs no timer (Initialize, Fault).
func (m *Machine) Deadline() time.Time {
	switch m.state {
	case Backup:
		return m.downAt
	case Master:
		return m.adverAt
	}
	return time.Time{}
}

// SkewTime returns Skew_Time for priority p: ((256 − p) ×
// Master_Adver_Interval) / 256 for v3 (RFC 5798 §6.1), (256 − p) / 256
// seconds for v2 (RFC 3768 §6.1).
func SkewTime(version, p int, masterAdverInt time.Duration) time.Duration {
	if version == 2 {
		return time.Duration(256-p) * time.Second / 256
	}
	return time.Duration(256-p) * masterAdverInt / 256
}

// MasterDownInterval returns 3 × Master_Adver_Interval + Skew_Time (RFC
// 5798 §6.1, RFC 3768 §6.1).
func MasterDownInterval(version, p int, masterAdverInt time.Duration) time.Duration {
	return 3*masterAdverInt + SkewTime(version, p, masterAdverInt)
}

func (m *Machine) skew() time.Duration {
	return SkewTime(int(m.cfg.Version), int(m.prio), m.masterAdverInt)
}

func (m *Machine) masterDown() time.Duration {
	return MasterDownInterval(int(m.cfg.Version), int(m.prio), m.masterAdverInt)
}

func (m *Machine) preempting() bool { return !m.cfg.NoPreempt && !m.resigned }

// Start leaves Initialize: an owner becomes master at once, anyone else a
// backup waiting Master_Down_Interval (RFC 5798 §6.4.1). A router that does not
// start as master releases its addresses, which a crashed predecessor may
// have left on the host (keepalived does the same). A machine faulted
// before Start goes to Fault.
func (m *Machine) Start(now time.Time, acts []Action) []Action {
	if m.state != Initialize {
		return acts
	}
	m.resigned = false
	m.wantMaster = false
	if m.faulted {
		return append(m.enterFault(now, acts), Action{Kind: ActRelease})
	}
	if m.prio == OwnerPriority {
		return m.becomeMaster(now, ReasonOwner, acts)
	}
	m.masterAdverInt = m.cfg.Interval
	acts = m.setState(Backup, ReasonStartup, "", acts)
	// A router that does not start as master holds no addresses, but a
	// crashed predecessor may have left them on the host: remove them.
	acts = append(acts, Action{Kind: ActRelease})
	if m.cfg.StartAsMaster {
		m.downAt = now.Add(m.cfg.Interval + SkewTime(int(m.cfg.Version), OwnerPriority, m.cfg.Interval))
	} else {
		m.downAt = now.Add(m.masterDown())
	}
	m.masterReason = ReasonMasterDown
	// keepalived starts the preempt delay at startup: a new backup gives
	// the running master preempt_delay before it takes over.
	m.preemptAt = time.Time{}
	if m.cfg.PreemptDelay > 0 {
		m.preemptAt = now.Add(m.cfg.PreemptDelay)
	}
	return acts
}

// Receive handles an advert that passed the receive checks of RFC 5798
// §7.1 (the driver's job), sent by src.
func (m *Machine) Receive(now time.Time, src netip.Addr, a *advert.Advert, acts []Action) []Action {
	switch m.state {
	case Backup:
		return m.backupReceive(now, src, a, acts)
	case Master:
		return m.masterReceive(now, src, a, acts)
	}
	// Initialize and Fault ignore adverts.
	return acts
}

// RFC 5798 §6.4.2, RFC 9568 §6.4.2, with keepalived's preempt_delay.
func (m *Machine) backupReceive(now time.Time, src netip.Addr, a *advert.Advert, acts []Action) []Action {
	if a.Priority == 0 {
		acts = append(acts, Action{Kind: ActNote, Note: NotePriorityZeroBackup, Priority: 0, Addr: src})
		m.downAt = now.Add(m.skew())
		m.masterReason = ReasonPriorityZero
		m.wantMaster = false
		return m.setMaster(netip.Addr{}, acts)
	}
	delayRunning := m.cfg.PreemptDelay > 0 && (m.preemptAt.IsZero() || now.Before(m.preemptAt))
	if !m.preempting() || a.Priority >= m.prio || delayRunning {
		if m.cfg.Version == 3 && a.Interval > 0 && a.Interval != m.masterAdverInt {
			acts = append(acts, Action{Kind: ActNote, Note: NoteIntervalChanged, Addr: src,
				Interval: a.Interval, OldInterval: m.masterAdverInt})
			m.masterAdverInt = a.Interval
		}
		m.downAt = now.Add(m.masterDown())
		m.masterReason = ReasonMasterDown
		m.wantMaster = false
		if m.cfg.PreemptDelay > 0 {
			if a.Priority >= m.prio {
				if !m.preemptAt.IsZero() {
					m.preemptAt = time.Time{}
					acts = append(acts, Action{Kind: ActNote, Note: NotePreemptDelayStop, Priority: a.Priority, Addr: src})
				}
			} else if m.preemptAt.IsZero() && m.preempting() {
				m.preemptAt = now.Add(m.cfg.PreemptDelay)
				acts = append(acts, Action{Kind: ActNote, Note: NotePreemptDelayStart, Priority: a.Priority,
					Addr: src, Interval: m.cfg.PreemptDelay})
			}
		}
		return m.setMaster(src, acts)
	}
	// Preempt_Mode is on and we outrank the sender: discard the advert and
	// let the down timer run out.
	acts = append(acts, Action{Kind: ActNote, Note: NoteDiscardLower, Priority: a.Priority, Addr: src})
	m.masterReason = ReasonPreempt
	if m.master.IsValid() {
		// We follow another master (two masters, e.g. across a healing
		// partition): it stays the one we report, rather than flapping
		// with every advert.
		return acts
	}
	return m.setMaster(src, acts)
}

// RFC 5798 §6.4.3, RFC 9568 §6.4.3; the answer to a lower priority is
// keepalived's.
func (m *Machine) masterReceive(now time.Time, src netip.Addr, a *advert.Advert, acts []Action) []Action {
	if a.Priority == 0 {
		acts = append(acts, Action{Kind: ActNote, Note: NotePriorityZeroMaster, Addr: src})
		acts = append(acts, Action{Kind: ActSend, Priority: m.prio})
		m.adverAt = now.Add(m.cfg.Interval)
		return acts
	}
	cmp := src.Compare(m.addr)
	if a.Priority == m.prio && cmp == 0 {
		return append(acts, Action{Kind: ActNote, Note: NoteSameAddress, Priority: a.Priority, Addr: src})
	}
	if a.Priority > m.prio || (a.Priority == m.prio && cmp > 0) {
		note := NoteHigherPriority
		if a.Priority == m.prio {
			note = NoteEqualPriorityHigherAddr
		}
		acts = append(acts, Action{Kind: ActNote, Note: note, Priority: a.Priority, Addr: src})
		if m.cfg.HigherPriorityAdvert {
			// keepalived's higher_prio_send_advert: the new master hears
			// a lower priority and re-announces its addresses.
			acts = append(acts, Action{Kind: ActSend, Priority: m.prio})
		}
		if m.cfg.Version == 3 && a.Interval > 0 {
			m.masterAdverInt = a.Interval
		} else {
			m.masterAdverInt = m.cfg.Interval
		}
		acts = m.leaveMaster(Backup, ReasonHigherPriority, "", false, acts)
		m.downAt = now.Add(m.masterDown())
		m.masterReason = ReasonMasterDown
		m.preemptAt = time.Time{}
		return m.setMaster(src, acts)
	}
	// A lower priority: another router thinks it is master (a healed
	// partition, a lost advert). Advertise at once so that it backs off,
	// and re-announce so that the LAN's caches point at us again — once
	// per Advertisement_Interval at most: a flood of lower-priority adverts
	// (forged ones cost nothing) must not turn into a flood of adverts and
	// gratuitous ARP. A stray master that keeps sending hears our next
	// periodic advert.
	acts = append(acts, Action{Kind: ActNote, Note: NoteLowerPriority, Priority: a.Priority, Addr: src})
	if !m.answeredAt.IsZero() && now.Before(m.answeredAt.Add(m.cfg.Interval)) {
		return acts
	}
	m.answeredAt = now
	if !m.cfg.LowerPriorityNoAdvert {
		acts = append(acts, Action{Kind: ActSend, Priority: m.prio})
		m.adverAt = now.Add(m.cfg.Interval)
	}
	return append(acts, Action{Kind: ActAnnounce})
}

// TimerDue handles the timer returned by Deadline. Called early, it does
// nothing.
func (m *Machine) TimerDue(now time.Time, acts []Action) []Action {
	switch m.state {
	case Backup:
		if now.Before(m.downAt) {
			return acts
		}
		if m.cfg.HoldMaster {
			// Ask; wait another Master_Down_Interval if nobody answers.
			m.wantMaster = true
			m.downAt = now.Add(m.masterDown())
			return append(acts, Action{Kind: ActWantMaster, Reason: m.masterReason})
		}
		return m.becomeMaster(now, m.masterReason, acts)
	case Master:
		if now.Before(m.adverAt) {
			return acts
		}
		acts = append(acts, Action{Kind: ActSend, Priority: m.prio})
		// Keep the cadence unless we woke more than an interval late.
		next := m.adverAt.Add(m.cfg.Interval)
		if !next.After(now) {
			next = now.Add(m.cfg.Interval)
		}
		m.adverAt = next
	}
	return acts
}

// Promote makes a backup that asked (ActWantMaster), or any backup when
// the sync group says so, become master now.
func (m *Machine) Promote(now time.Time, reason Reason, acts []Action) []Action {
	if m.state != Backup {
		return acts
	}
	return m.becomeMaster(now, reason, acts)
}

// Demote makes a master step down to Backup (a sync group member
// followed another into Backup). It sends priority 0 so that the peer
// group takes over after Skew_Time instead of Master_Down_Interval.
func (m *Machine) Demote(now time.Time, reason Reason, acts []Action) []Action {
	if m.state != Master {
		return acts
	}
	acts = m.leaveMaster(Backup, reason, "", true, acts)
	m.masterAdverInt = m.cfg.Interval
	m.downAt = now.Add(m.masterDown())
	m.masterReason = ReasonMasterDown
	m.preemptAt = time.Time{}
	return m.setMaster(netip.Addr{}, acts)
}

// SetPriority changes the effective priority (1..255). A master
// advertises the new priority at once.
func (m *Machine) SetPriority(now time.Time, p uint8, acts []Action) []Action {
	if p == 0 || p == m.prio {
		return acts
	}
	m.prio = p
	if m.state == Master {
		acts = append(acts, Action{Kind: ActSend, Priority: m.prio})
		m.adverAt = now.Add(m.cfg.Interval)
	}
	return acts
}

// SetFault puts the machine in Fault (on) or takes it out (off). detail
// says why, for logs and events. Entering Fault as master sends priority 0
// and releases the addresses; leaving it goes to Backup, or to Master at
// once for an owner.
func (m *Machine) SetFault(now time.Time, on bool, detail string, acts []Action) []Action {
	if on {
		if m.faulted {
			return acts
		}
		m.faulted = true
		m.faultDetail = detail
		if m.state == Initialize {
			return acts
		}
		return m.enterFault(now, acts)
	}
	if !m.faulted {
		return acts
	}
	m.faulted = false
	m.faultDetail = ""
	if m.state != Fault {
		return acts
	}
	m.wantMaster = false
	if m.prio == OwnerPriority {
		return m.becomeMaster(now, ReasonOwner, acts)
	}
	m.masterAdverInt = m.cfg.Interval
	acts = m.setState(Backup, ReasonFaultCleared, "", acts)
	m.downAt = now.Add(m.masterDown())
	m.masterReason = ReasonMasterDown
	m.preemptAt = time.Time{}
	return acts
}

func (m *Machine) enterFault(now time.Time, acts []Action) []Action {
	m.wantMaster = false
	if m.state == Master {
		acts = m.leaveMaster(Fault, ReasonFault, m.faultDetail, true, acts)
	} else {
		acts = m.setState(Fault, ReasonFault, m.faultDetail, acts)
	}
	return m.setMaster(netip.Addr{}, acts)
}

// Resign hands mastership over: the master sends priority 0, releases its
// addresses and becomes a backup that does not preempt until it next
// becomes master (through Master_Down_Interval or a priority-0 advert).
// With no backup listening, nobody answers and it becomes master again
// after Master_Down_Interval.
func (m *Machine) Resign(now time.Time, acts []Action) []Action {
	if m.state != Master {
		return append(acts, Action{Kind: ActNote, Note: NoteResignNotMaster})
	}
	acts = m.leaveMaster(Backup, ReasonResign, "", true, acts)
	m.resigned = true
	m.masterAdverInt = m.cfg.Interval
	m.downAt = now.Add(m.masterDown())
	m.masterReason = ReasonMasterDown
	m.preemptAt = time.Time{}
	return m.setMaster(netip.Addr{}, acts)
}

// Shutdown stops the router: a master sends priority 0 and releases its
// addresses (RFC 5798 §6.4.3); every state goes to Initialize.
func (m *Machine) Shutdown(now time.Time, acts []Action) []Action {
	switch m.state {
	case Initialize:
		return acts
	case Master:
		acts = m.leaveMaster(Initialize, ReasonShutdown, "", true, acts)
	default:
		acts = m.setState(Initialize, ReasonShutdown, "", acts)
	}
	m.wantMaster = false
	return m.setMaster(netip.Addr{}, acts)
}

func (m *Machine) becomeMaster(now time.Time, reason Reason, acts []Action) []Action {
	m.wantMaster = false
	m.resigned = false
	m.preemptAt = time.Time{}
	acts = m.setState(Master, reason, "", acts)
	// RFC 5798 §6.4.2: advertise first, then take the addresses.
	acts = append(acts, Action{Kind: ActSend, Priority: m.prio}, Action{Kind: ActAcquire})
	m.adverAt = now.Add(m.cfg.Interval)
	return m.setMaster(m.addr, acts)
}

func (m *Machine) leaveMaster(to State, reason Reason, detail string, sendZero bool, acts []Action) []Action {
	acts = m.setState(to, reason, detail, acts)
	if sendZero {
		acts = append(acts, Action{Kind: ActSend, Priority: 0})
	}
	return append(acts, Action{Kind: ActRelease})
}

func (m *Machine) setState(to State, reason Reason, detail string, acts []Action) []Action {
	from := m.state
	m.state = to
	return append(acts, Action{Kind: ActState, From: from, To: to, Reason: reason, Detail: detail})
}

func (m *Machine) setMaster(a netip.Addr, acts []Action) []Action {
	if a == m.master {
		return acts
	}
	m.master = a
	return append(acts, Action{Kind: ActMaster, Addr: a})
}
