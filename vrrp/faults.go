package vrrp

import (
	"time"

	"go.uber.org/zap/zapcore"
)

// faultKind is one reason a router may be in Fault. The core keeps them
// apart so that each clears on its own; the Machine only sees on/off.
type faultKind uint8

const (
	faultLink      faultKind = iota // the interface is down (Transport.Link)
	faultTrack                      // a tracked object says Fault
	faultNoSource                   // no UnicastSrc and the Transport has no LocalAddr
	faultTransport                  // the Transport could not be opened or failed
	faultSync                       // another member of the sync group is in Fault
	faultAuth                       // it cannot sign its adverts (AH sequence numbers exhausted)
	faultBackend                    // its Backend could not acquire the addresses in time
	numFaults
)

type faultSet struct {
	bits   uint8
	detail [numFaults]string
}

// set turns one kind on or off and reports whether anything changed.
func (f *faultSet) set(k faultKind, on bool, detail string) bool {
	bit := uint8(1) << k
	was := f.bits&bit != 0
	if on {
		f.bits |= bit
		f.detail[k] = detail
	} else {
		f.bits &^= bit
		f.detail[k] = ""
	}
	return was != on
}

func (f *faultSet) any() bool { return f.bits != 0 }

// own reports faults of the router itself, as opposed to its sync group's.
func (f *faultSet) own() bool { return f.bits&^(1<<faultSync) != 0 }

// first returns the detail of the first fault that is on.
func (f *faultSet) first() string {
	for k := faultKind(0); k < numFaults; k++ {
		if f.bits&(1<<k) != 0 {
			return f.detail[k]
		}
	}
	return ""
}

// setFault turns one fault condition of r on or off and moves the machine
// into or out of Fault when the whole changes.
func (c *core) setFault(r *coreRouter, k faultKind, on bool, detail string, now time.Time) {
	if k == faultLink && r.cfg.IgnoreLinkDown {
		on = false
	}
	if !r.faults.set(k, on, detail) {
		return
	}
	if on {
		c.logf(r, zapcore.InfoLevel, "("+r.cfg.Name+") fault: "+detail)
	}
	if r.group != nil && k != faultSync {
		c.syncFaults(r.group, now)
	}
	c.applyFault(r, now)
}

func (c *core) applyFault(r *coreRouter, now time.Time) {
	if r.removed {
		return
	}
	on := r.faults.any()
	if on == r.m.Faulted() {
		return
	}
	c.apply(r, r.m.SetFault(now, on, r.faults.first(), r.acts[:0]), now)
}

// refreshSource gives r the source address of its adverts — UnicastSrc,
// or its transport's LocalAddr — and faults it while there is none.
func (c *core) refreshSource(r *coreRouter, now time.Time) {
	if r.removed || r.port == nil || !r.port.open {
		return
	}
	src := r.cfg.UnicastSrc
	if !src.IsValid() {
		src = r.port.local
	}
	if !src.IsValid() {
		c.setFault(r, faultNoSource, true, "no usable source address on "+r.cfg.Interface, now)
		return
	}
	if src != r.m.Addr() {
		c.apply(r, r.m.SetAddr(src, r.acts[:0]), now)
	}
	c.setFault(r, faultNoSource, false, "", now)
}
