package vrrp

import (
	"math"
	"time"
)

// timerHeap orders routers by their next wake-up (coreRouter.wake); a
// router with none sorts last. It is a binary heap of entries that carry
// the wake-up as an integer, and a router's place in it is kept in the
// heap's own pos, by the router's timerSlot: moving an entry touches the
// heap's arrays only. A backup of 1,000 routers moves its timer at every
// advert, ten levels deep, and going through each router compared or
// moved cost a cache miss a level (the heap was a fifth of its CPU).
type timerHeap struct {
	e     []timerEntry
	pos   []int32 // by slot: the entry's index in e, -1 for a free slot
	free  []int32 // slots to reuse
	epoch time.Time
}

type timerEntry struct {
	at   int64 // r.wake as the time since epoch; noWake for none
	slot int32
	r    *coreRouter
}

const noWake = math.MaxInt64

// key is t as the heap orders it: the time since the heap's first
// wake-up (monotonic where t has a monotonic reading, as Before is).
func (h *timerHeap) key(t time.Time) int64 {
	if t.IsZero() {
		return noWake
	}
	if h.epoch.IsZero() {
		h.epoch = t
	}
	return min(int64(t.Sub(h.epoch)), noWake-1)
}

// next returns the earliest wake-up, or the zero Time.
func (h *timerHeap) next() time.Time {
	if len(h.e) == 0 {
		return time.Time{}
	}
	return h.e[0].r.wake
}

// first returns the router that wakes first, or nil.
func (h *timerHeap) first() *coreRouter {
	if len(h.e) == 0 {
		return nil
	}
	return h.e[0].r
}

func (h *timerHeap) push(r *coreRouter) {
	if r.timerSlot >= 0 {
		return
	}
	if n := len(h.free); n > 0 {
		r.timerSlot = h.free[n-1]
		h.free = h.free[:n-1]
	} else {
		r.timerSlot = int32(len(h.pos))
		h.pos = append(h.pos, 0)
	}
	i := len(h.e)
	h.e = append(h.e, timerEntry{at: h.key(r.wake), slot: r.timerSlot, r: r})
	h.pos[r.timerSlot] = int32(i)
	h.up(i)
}

// remove takes r out of the heap.
func (h *timerHeap) remove(r *coreRouter) {
	if r.timerSlot < 0 {
		return
	}
	i, last := int(h.pos[r.timerSlot]), len(h.e)-1
	if i != last {
		h.e[i] = h.e[last]
		h.pos[h.e[i].slot] = int32(i)
	}
	h.e[last] = timerEntry{}
	h.e = h.e[:last]
	h.pos[r.timerSlot] = -1
	h.free = append(h.free, r.timerSlot)
	r.timerSlot = -1
	if i != last {
		h.fixAt(i)
	}
}

// fix restores the order after r.wake changed.
func (h *timerHeap) fix(r *coreRouter) {
	if r.timerSlot < 0 {
		return
	}
	i := int(h.pos[r.timerSlot])
	h.e[i].at = h.key(r.wake)
	h.fixAt(i)
}

func (h *timerHeap) fixAt(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// place puts x at index i.
func (h *timerHeap) place(i int, x timerEntry) {
	h.e[i] = x
	h.pos[x.slot] = int32(i)
}

func (h *timerHeap) up(i int) {
	start, x := i, h.e[i]
	for i > 0 {
		p := (i - 1) / 2
		if x.at >= h.e[p].at {
			break
		}
		h.place(i, h.e[p])
		i = p
	}
	if i != start {
		h.place(i, x)
	}
}

// down sifts i down and reports whether it moved.
func (h *timerHeap) down(i int) bool {
	start, x, n := i, h.e[i], len(h.e)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.e[r].at < h.e[l].at {
			m = r
		}
		if h.e[m].at >= x.at {
			break
		}
		h.place(i, h.e[m])
		i = m
	}
	if i == start {
		return false
	}
	h.place(i, x)
	return true
}
