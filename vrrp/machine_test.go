package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
)

// RFC conformance tests of the pure state machine. Each cites the section
// it checks.

var (
	t0     = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ipSelf = netip.MustParseAddr("10.0.0.5")
	ipLow  = netip.MustParseAddr("10.0.0.2")
	ipHigh = netip.MustParseAddr("10.0.0.9")
)

type mtest struct {
	t    *testing.T
	m    *Machine
	now  time.Time
	acts []Action
}

func newM(t *testing.T, cfg MachineConfig) *mtest {
	t.Helper()
	m := NewMachine(cfg)
	m.SetAddr(ipSelf, nil)
	return &mtest{t: t, m: m, now: t0}
}

func (x *mtest) at(d time.Duration) *mtest { x.now = t0.Add(d); return x }

func (x *mtest) start() []Action { x.acts = x.m.Start(x.now, x.acts[:0]); return x.acts }

func (x *mtest) recv(src netip.Addr, prio uint8, interval time.Duration) []Action {
	a := advert.Advert{Version: x.m.cfg.Version, Type: advert.TypeAdvertisement, VRID: 1, Priority: prio, Interval: interval}
	x.acts = x.m.Receive(x.now, src, &a, x.acts[:0])
	return x.acts
}

// fire advances to the machine's deadline and runs TimerDue.
func (x *mtest) fire() []Action {
	x.t.Helper()
	d := x.m.Deadline()
	if d.IsZero() {
		x.t.Fatalf("fire: no deadline in %v", x.m.State())
	}
	x.now = d
	x.acts = x.m.TimerDue(x.now, x.acts[:0])
	return x.acts
}

func (x *mtest) wantState(s State) {
	x.t.Helper()
	if got := x.m.State(); got != s {
		x.t.Fatalf("state = %v, want %v", got, s)
	}
}

func (x *mtest) wantDeadline(d time.Duration) {
	x.t.Helper()
	if got := x.m.Deadline().Sub(t0); got != d {
		x.t.Fatalf("deadline = t0+%v, want t0+%v", got, d)
	}
}

// summary renders actions compactly: "state BACKUP->MASTER(master down), send 100, acquire".
func summary(acts []Action) string {
	var parts []string
	for _, a := range acts {
		switch a.Kind {
		case ActSend:
			parts = append(parts, fmt.Sprintf("send %d", a.Priority))
		case ActState:
			parts = append(parts, fmt.Sprintf("state %v->%v(%v)", a.From, a.To, a.Reason))
		case ActMaster:
			parts = append(parts, fmt.Sprintf("master %v", a.Addr))
		case ActNote:
			parts = append(parts, "note "+a.Note.String())
		default:
			parts = append(parts, a.Kind.String())
		}
	}
	return strings.Join(parts, ", ")
}

func wantActs(t *testing.T, acts []Action, want string) {
	t.Helper()
	if got := summary(acts); got != want {
		t.Fatalf("actions:\n got: %s\nwant: %s", got, want)
	}
}

func TestSkewAndMasterDownInterval(t *testing.T) {
	// RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256;
	// Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time.
	if got, want := SkewTime(3, 100, time.Second), 156*time.Second/256; got != want {
		t.Errorf("v3 skew(100, 1s) = %v, want %v", got, want)
	}
	if got, want := MasterDownInterval(3, 100, time.Second), 3*time.Second+609375*time.Microsecond; got != want {
		t.Errorf("v3 MDI(100, 1s) = %v, want %v", got, want)
	}
	if got, want := SkewTime(3, 200, 100*time.Millisecond), 56*100*time.Millisecond/256; got != want {
		t.Errorf("v3 skew(200, 100ms) = %v, want %v", got, want)
	}
	// RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds, whatever the interval.
	if got, want := SkewTime(2, 100, 5*time.Second), 609375*time.Microsecond; got != want {
		t.Errorf("v2 skew(100) = %v, want %v", got, want)
	}
	if got, want := MasterDownInterval(2, 1, 2*time.Second), 6*time.Second+255*time.Second/256; got != want {
		t.Errorf("v2 MDI(1, 2s) = %v, want %v", got, want)
	}
}

func TestBackupStartsWithMasterDownTimer(t *testing.T) {
	// RFC 5798 §6.4.1: a non-owner sets Master_Down_Timer to
	// Master_Down_Interval and transitions to Backup.
	// A starting backup also releases the VIPs: a crashed predecessor
	// (keepalived removes them at startup too) may have left them on the host.
	x := newM(t, MachineConfig{Version: 3, Priority: 100, Interval: time.Second})
	wantActs(t, x.start(), "state INIT->BACKUP(startup), release")
	x.wantDeadline(MasterDownInterval(3, 100, time.Second))
	// RFC 5798 §6.4.2: when Master_Down_Timer fires, send an advert, then take over.
	wantActs(t, x.fire(), "state BACKUP->MASTER(master down), send 100, acquire, master 10.0.0.5")
	x.wantDeadline(MasterDownInterval(3, 100, time.Second) + time.Second)
}

func TestOwnerBecomesMasterAtOnce(t *testing.T) {
	// RFC 5798 §6.4.1: if the Priority is 255, send an ADVERTISEMENT and
	// transition to the Master state at once.
	x := newM(t, MachineConfig{Version: 3, Priority: 255, Interval: time.Second})
	wantActs(t, x.start(), "state INIT->MASTER(address owner), send 255, acquire, master 10.0.0.5")
	x.wantDeadline(time.Second)
}

func TestMasterAdvertisesEveryInterval(t *testing.T) {
	// RFC 5798 §6.4.3: when Adver_Timer fires, send an advert and reset it
	// to Advertisement_Interval.
	x := newM(t, MachineConfig{Version: 3, Priority: 255, Interval: 300 * time.Millisecond})
	x.start()
	for i := 1; i <= 3; i++ {
		wantActs(t, x.fire(), "send 255")
		x.wantDeadline(time.Duration(i+1) * 300 * time.Millisecond)
	}
	// Called early, TimerDue does nothing.
	x.acts = x.m.TimerDue(x.now, x.acts[:0])
	wantActs(t, x.acts, "")
}

func TestBackupAcceptsHigherPriorityAndResetsTimer(t *testing.T) {
	// RFC 5798 §6.4.2: if Priority >= local, reset Master_Down_Timer to
	// Master_Down_Interval.
	x := newM(t, MachineConfig{Version: 3, Priority: 100, Interval: time.Second})
	x.start()
	x.at(2 * time.Second)
	wantActs(t, x.recv(ipHigh, 150, time.Second), "master 10.0.0.9")
	x.wantDeadline(2*time.Second + MasterDownInterval(3, 100, time.Second))
	x.at(4 * time.Second)
	wantActs(t, x.recv(ipHigh, 100, time.Second), "") // equal priority also accepted
	x.wantDeadline(4*time.Second + MasterDownInterval(3, 100, time.Second))
}

func TestBackupTakesOverAfterPriorityZero(t *testing.T) {
	// RFC 5798 §6.4.2: if the Priority is zero, set Master_Down_Timer to
	// Skew_Time.
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second})
	x.start()
	x.at(time.Second)
	x.recv(ipHigh, 250, time.Second)
	x.at(2 * time.Second)
	wantActs(t, x.recv(ipHigh, 0, time.Second), "note priority-zero-backup, master invalid IP")
	x.wantDeadline(2*time.Second + SkewTime(3, 200, time.Second))
	wantActs(t, x.fire(), "state BACKUP->MASTER(master left (priority 0)), send 200, acquire, master 10.0.0.5")
}

func TestBackupPreemptsLowerPriorityMaster(t *testing.T) {
	// RFC 5798 §6.4.2: with Preempt_Mode true and a lower priority in the
	// advert, discard it; the down timer runs out and we take over.
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second})
	x.start()
	mdi := MasterDownInterval(3, 200, time.Second)
	x.at(time.Second)
	wantActs(t, x.recv(ipLow, 100, time.Second), "note discard-lower, master 10.0.0.2")
	x.wantDeadline(mdi) // not reset
	wantActs(t, x.fire(), "state BACKUP->MASTER(preempted lower priority master), send 200, acquire, master 10.0.0.5")
}

func TestNoPreemptBackupFollowsLowerPriorityMaster(t *testing.T) {
	// RFC 5798 §6.4.2: if Preempt_Mode is False, accept any priority and
	// reset the down timer (keepalived's nopreempt).
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second, NoPreempt: true})
	x.start()
	for i := 1; i <= 10; i++ {
		x.at(time.Duration(i) * time.Second)
		x.recv(ipLow, 50, time.Second)
		x.wantState(Backup)
		x.wantDeadline(time.Duration(i)*time.Second + MasterDownInterval(3, 200, time.Second))
	}
}

func TestPreemptDelayAcceptsLowerMasterForTheDelay(t *testing.T) {
	// keepalived's preempt_delay: from startup, a preempting backup accepts
	// a lower-priority master for PreemptDelay; then it discards its
	// adverts and takes over when the down timer runs out.
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second, PreemptDelay: 10 * time.Second})
	x.start()
	for i := 1; i < 10; i++ {
		x.at(time.Duration(i) * time.Second)
		x.recv(ipLow, 100, time.Second)
		x.wantState(Backup)
		x.wantDeadline(time.Duration(i)*time.Second + MasterDownInterval(3, 200, time.Second))
	}
	x.at(10 * time.Second)
	wantActs(t, x.recv(ipLow, 100, time.Second), "note discard-lower") // discarded
	x.wantDeadline(9*time.Second + MasterDownInterval(3, 200, time.Second))
	wantActs(t, x.fire(), "state BACKUP->MASTER(preempted lower priority master), send 200, acquire, master 10.0.0.5")
}

func TestPreemptDelayRestartsAfterHigherPriority(t *testing.T) {
	// keepalived: hearing a priority at least ours stops the delay; the
	// next lower priority starts a full delay again.
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second, PreemptDelay: 5 * time.Second})
	x.start()
	x.at(time.Second)
	wantActs(t, x.recv(ipHigh, 250, time.Second), "note preempt-delay-stop, master 10.0.0.9")
	x.at(20 * time.Second)
	wantActs(t, x.recv(ipLow, 100, time.Second), "note preempt-delay-start, master 10.0.0.2")
	x.at(24 * time.Second)
	wantActs(t, x.recv(ipLow, 100, time.Second), "")
	x.at(25 * time.Second)
	wantActs(t, x.recv(ipLow, 100, time.Second), "note discard-lower")
}

func TestV3BackupLearnsMasterInterval(t *testing.T) {
	// RFC 5798 §6.4.2: set Master_Adver_Interval to the Max Adver Interval
	// of the advert and recompute Skew_Time and Master_Down_Interval.
	x := newM(t, MachineConfig{Version: 3, Priority: 100, Interval: time.Second})
	x.start()
	x.at(time.Second)
	wantActs(t, x.recv(ipHigh, 150, 200*time.Millisecond), "note interval-changed, master 10.0.0.9")
	if got := x.m.MasterAdverInterval(); got != 200*time.Millisecond {
		t.Fatalf("Master_Adver_Interval = %v", got)
	}
	x.wantDeadline(time.Second + MasterDownInterval(3, 100, 200*time.Millisecond))
}

func TestV2BackupKeepsItsOwnInterval(t *testing.T) {
	// RFC 3768 §6.4.2: VRRPv2 has no Master_Adver_Interval; Master_Down_Interval
	// uses our own Advertisement_Interval (mismatches are dropped before).
	x := newM(t, MachineConfig{Version: 2, Priority: 100, Interval: 2 * time.Second})
	x.start()
	x.wantDeadline(MasterDownInterval(2, 100, 2*time.Second))
	x.at(time.Second)
	x.recv(ipHigh, 150, 2*time.Second)
	x.wantDeadline(time.Second + 6*time.Second + SkewTime(2, 100, 0))
}

func TestMasterStepsDownForHigherPriority(t *testing.T) {
	// RFC 5798 §6.4.3: a higher priority → cancel Adver_Timer, learn the
	// interval, set Master_Down_Timer, transition to Backup.
	x := newM(t, MachineConfig{Version: 3, Priority: 255 - 55, Interval: time.Second})
	x.start()
	x.fire()
	x.wantState(Master)
	x.at(5 * time.Second)
	wantActs(t, x.recv(ipLow, 250, 500*time.Millisecond),
		"note higher-priority, state MASTER->BACKUP(higher priority master), release, master 10.0.0.2")
	x.wantDeadline(5*time.Second + MasterDownInterval(3, 200, 500*time.Millisecond))
}

func TestMasterAdvertisesBeforeSteppingDownWithHigherPriorityAdvert(t *testing.T) {
	// RFC 5798 §6.4.3 has a master hearing a higher priority step down
	// silently; keepalived's higher_prio_send_advert sends one advert at
	// our own priority first, for the same reason as its answer to a lower
	// priority: the new master takes it for a lower-priority advert and
	// re-announces its addresses. The advert goes out before the release.
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second, HigherPriorityAdvert: true})
	x.start()
	x.fire()
	x.at(5 * time.Second)
	wantActs(t, x.recv(ipLow, 250, time.Second),
		"note higher-priority, send 200, state MASTER->BACKUP(higher priority master), release, master 10.0.0.2")
	x.wantDeadline(5*time.Second + MasterDownInterval(3, 200, time.Second))
	// The same for an equal priority from a higher address.
	y := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second, HigherPriorityAdvert: true})
	y.start()
	y.fire()
	wantActs(t, y.recv(ipHigh, 200, time.Second),
		"note equal-priority-higher-address, send 200, state MASTER->BACKUP(higher priority master), release, master 10.0.0.9")
	// A backup hearing a higher priority stays silent (backups never advertise).
	z := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second, HigherPriorityAdvert: true})
	z.start()
	wantActs(t, z.recv(ipLow, 250, time.Second), "master 10.0.0.2")
}

func TestMasterTieBreakByPrimaryAddress(t *testing.T) {
	// RFC 5798 §6.4.3 (RFC 9568 §6.4.3): equal priority and the sender's
	// primary address is larger than ours → Backup; smaller → stay master.
	x := newM(t, MachineConfig{Version: 3, Priority: 255, Interval: time.Second})
	x.m.cfg.Priority = 100
	x.m.prio = 100
	x.start()
	x.fire()
	x.wantState(Master)
	x.at(5 * time.Second)
	wantActs(t, x.recv(ipLow, 100, time.Second), "note lower-priority, send 100, announce")
	x.wantState(Master)
	wantActs(t, x.recv(ipHigh, 100, time.Second),
		"note equal-priority-higher-address, state MASTER->BACKUP(higher priority master), release, master 10.0.0.9")
}

func TestMasterAnswersLowerPriorityWithAdvertAndAnnounce(t *testing.T) {
	// keepalived (RFC 5798 §6.4.3 says discard): a master hearing a lower
	// priority advertises at once and re-announces, so that a stray master
	// from a healed partition backs off and ARP caches point back at us.
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second})
	x.start()
	x.fire()
	x.at(4*time.Second + 500*time.Millisecond)
	wantActs(t, x.recv(ipLow, 100, time.Second), "note lower-priority, send 200, announce")
	x.wantDeadline(5*time.Second + 500*time.Millisecond) // Adver_Timer reset
	// lower_prio_no_advert: announce only.
	y := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second, LowerPriorityNoAdvert: true})
	y.start()
	y.fire()
	wantActs(t, y.recv(ipLow, 100, time.Second), "note lower-priority, announce")
}

func TestMasterAnswersPriorityZeroAtOnce(t *testing.T) {
	// RFC 5798 §6.4.3: if the Priority is zero, send an ADVERTISEMENT and
	// reset the Adver_Timer.
	x := newM(t, MachineConfig{Version: 3, Priority: 255, Interval: time.Second})
	x.start()
	x.at(300 * time.Millisecond)
	wantActs(t, x.recv(ipLow, 0, time.Second), "note priority-zero-master, send 255")
	x.wantDeadline(1300 * time.Millisecond)
	x.wantState(Master)
}

func TestShutdownSendsPriorityZero(t *testing.T) {
	// RFC 5798 §6.4.3: on Shutdown, a master cancels Adver_Timer, sends an
	// advert with Priority 0 and goes to Initialize.
	x := newM(t, MachineConfig{Version: 3, Priority: 255, Interval: time.Second})
	x.start()
	wantActs(t, x.m.Shutdown(x.now, nil), "state MASTER->INIT(shutdown), send 0, release, master invalid IP")
	if !x.m.Deadline().IsZero() {
		t.Fatal("deadline after shutdown")
	}
	// RFC 5798 §6.4.2: a backup just stops.
	y := newM(t, MachineConfig{Version: 3, Priority: 100, Interval: time.Second})
	y.start()
	wantActs(t, y.m.Shutdown(y.now, nil), "state BACKUP->INIT(shutdown)")
}

func TestFaultEntryAndExit(t *testing.T) {
	// keepalived: entering Fault as master sends priority 0 and releases;
	// leaving Fault goes to Backup with a fresh Master_Down_Timer.
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second})
	x.start()
	x.fire()
	x.at(5 * time.Second)
	x.acts = x.m.SetFault(x.now, true, "link down", x.acts[:0])
	wantActs(t, x.acts, "state MASTER->FAULT(fault), send 0, release, master invalid IP")
	if x.acts[0].Detail != "link down" {
		t.Fatalf("detail %q", x.acts[0].Detail)
	}
	if !x.m.Deadline().IsZero() {
		t.Fatal("timer running in Fault")
	}
	wantActs(t, x.recv(ipLow, 0, time.Second), "") // adverts ignored in Fault
	x.at(8 * time.Second)
	x.acts = x.m.SetFault(x.now, false, "", x.acts[:0])
	wantActs(t, x.acts, "state FAULT->BACKUP(fault cleared)")
	x.wantDeadline(8*time.Second + MasterDownInterval(3, 200, time.Second))

	// An owner leaves Fault straight to Master.
	o := newM(t, MachineConfig{Version: 3, Priority: 255, Interval: time.Second})
	o.m.SetFault(o.now, true, "no source address", nil)
	wantActs(t, o.start(), "state INIT->FAULT(fault), release")
	wantActs(t, o.m.SetFault(o.now, false, "", nil), "state FAULT->MASTER(address owner), send 255, acquire, master 10.0.0.5")
}

func TestResignHandsOverAndDoesNotPreemptBack(t *testing.T) {
	x := newM(t, MachineConfig{Version: 3, Priority: 200, Interval: time.Second})
	x.start()
	x.fire()
	x.at(10 * time.Second)
	x.acts = x.m.Resign(x.now, x.acts[:0])
	wantActs(t, x.acts, "state MASTER->BACKUP(resigned), send 0, release, master invalid IP")
	// A lower-priority backup takes over; we accept it rather than preempt.
	x.at(10*time.Second + 300*time.Millisecond)
	wantActs(t, x.recv(ipLow, 100, time.Second), "master 10.0.0.2")
	x.wantDeadline(10*time.Second + 300*time.Millisecond + MasterDownInterval(3, 200, time.Second))
	// When that master leaves, we become master again and preempt as usual afterwards.
	x.at(20 * time.Second)
	x.recv(ipLow, 0, time.Second)
	wantActs(t, x.fire(), "state BACKUP->MASTER(master left (priority 0)), send 200, acquire, master 10.0.0.5")
	if x.m.Resigned() {
		t.Fatal("still resigned after becoming master")
	}
}

func TestStartAsMasterShortensFirstWait(t *testing.T) {
	// keepalived "state MASTER": first down timer is adver_int + minimum skew.
	x := newM(t, MachineConfig{Version: 3, Priority: 100, Interval: time.Second, StartAsMaster: true})
	x.start()
	x.wantDeadline(time.Second + time.Second/256)
}

func TestHoldMasterWaitsForPromote(t *testing.T) {
	x := newM(t, MachineConfig{Version: 3, Priority: 100, Interval: time.Second, HoldMaster: true})
	x.start()
	wantActs(t, x.fire(), "want-master")
	x.wantState(Backup)
	if !x.m.WantsMaster() {
		t.Fatal("not wanting master")
	}
	x.acts = x.m.Promote(x.now, ReasonSync, x.acts[:0])
	wantActs(t, x.acts, "state BACKUP->MASTER(sync group), send 100, acquire, master 10.0.0.5")
}

func TestMachineHotPathsDoNotAllocate(t *testing.T) {
	x := newM(t, MachineConfig{Version: 3, Priority: 100, Interval: time.Second})
	x.start()
	a := advert.Advert{Version: 3, Type: advert.TypeAdvertisement, VRID: 1, Priority: 150, Interval: time.Second}
	acts := make([]Action, 0, 8)
	now := t0
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Second)
		acts = x.m.Receive(now, ipHigh, &a, acts[:0])
	})
	if allocs != 0 {
		t.Errorf("Receive: %v allocs", allocs)
	}
	m := NewMachine(MachineConfig{Version: 3, Priority: 255, Interval: time.Second})
	acts = m.Start(now, acts[:0])
	allocs = testing.AllocsPerRun(100, func() {
		now = m.Deadline()
		acts = m.TimerDue(now, acts[:0])
	})
	if allocs != 0 {
		t.Errorf("TimerDue: %v allocs", allocs)
	}
}

func TestBackupKeepsReportingTheMasterItFollows(t *testing.T) {
	// With two masters (a healing partition), a preempting backup follows
	// the higher one (RFC 5798 §6.4.2) and discards the lower one's
	// adverts: Master stays the one it follows, without an ActMaster per
	// discarded advert.
	x := newM(t, MachineConfig{Version: 3, Priority: 150, Interval: time.Second})
	x.start()
	x.at(time.Second)
	wantActs(t, x.recv(ipHigh, 200, time.Second), "master 10.0.0.9")
	x.at(1500 * time.Millisecond)
	wantActs(t, x.recv(ipLow, 100, time.Second), "note discard-lower")
	if x.m.Master() != ipHigh {
		t.Fatalf("master %v", x.m.Master())
	}
	// Alone, the lower master is the one we know of.
	y := newM(t, MachineConfig{Version: 3, Priority: 150, Interval: time.Second})
	y.start()
	wantActs(t, y.recv(ipLow, 100, time.Second), "note discard-lower, master 10.0.0.2")
}
