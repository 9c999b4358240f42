package auth

import "net/netip"

// replayTable holds, per sender, the newest sequence accepted from it. It
// is bounded: beyond MaxSenders senders, the one heard from least recently
// is forgotten, and its mark raises a floor that every sender not in the
// table must be above. A forgotten sender's old adverts therefore stay
// rejected, however long after; the price is that a sender first heard
// after an eviction is refused until its sequence passes the floor, which
// with clock-based sequences is at most the clock difference between it
// and the evicted sender. Only adverts whose HMAC verified reach the
// table, so only key holders can fill it.
type replayTable struct {
	senders  []senderMark
	floor    Seq
	hasFloor bool
	tick     uint64 // logical time of the last acceptance, for eviction
}

// senderMark is the newest sequence accepted from one sender.
type senderMark struct {
	src  netip.Addr
	seq  Seq
	used uint64
}

func (r *replayTable) find(src netip.Addr) int {
	for i := range r.senders {
		if r.senders[i].src == src {
			return i
		}
	}
	return -1
}

// admit records seq from src if it is newer than everything accepted from
// src (or, for a sender not in the table, than the floor), and reports
// whether it was.
func (r *replayTable) admit(src netip.Addr, seq Seq) bool {
	i := r.find(src)
	switch {
	case i >= 0 && !seq.After(r.senders[i].seq):
		return false
	case i < 0 && r.hasFloor && !seq.After(r.floor):
		return false
	}
	r.tick++
	switch {
	case i >= 0:
	case len(r.senders) < MaxSenders:
		r.senders = append(r.senders, senderMark{src: src})
		i = len(r.senders) - 1
	default:
		i = 0
		for j := range r.senders {
			if r.senders[j].used < r.senders[i].used {
				i = j
			}
		}
		if ev := r.senders[i].seq; !r.hasFloor || ev.After(r.floor) {
			r.floor, r.hasFloor = ev, true
		}
		r.senders[i] = senderMark{src: src}
	}
	r.senders[i].seq = seq
	r.senders[i].used = r.tick
	return true
}

// forget drops src's mark.
func (r *replayTable) forget(src netip.Addr) {
	if i := r.find(src); i >= 0 {
		r.senders = append(r.senders[:i], r.senders[i+1:]...)
	}
}
