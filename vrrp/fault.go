package vrrp

// faultKind is one reason a router may be in Fault. The Node keeps them
// apart so that each clears on its own; the Machine only sees on/off.
type faultKind uint8

const (
	faultLink      faultKind = iota // the interface is down (LinkMonitor)
	faultTrack                      // a tracked object says Fault
	faultNoSource                   // no UnicastSrc and the Transport has no LocalAddr
	faultTransport                  // the Transport could not be opened or failed
	faultSync                       // another member of the sync group is in Fault
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
