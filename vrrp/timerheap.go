package vrrp

import "time"

// timerHeap orders routers by their next wake-up (coreRouter.wake); a
// router with none sorts last. It is a plain binary heap on the routers'
// heapIdx, without container/heap's boxing.
type timerHeap []*coreRouter

// next returns the earliest wake-up, or the zero Time.
func (h timerHeap) next() time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].wake
}

// first returns the router that wakes first, or nil.
func (h timerHeap) first() *coreRouter {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

func (h timerHeap) less(i, j int) bool {
	a, b := h[i].wake, h[j].wake
	if a.IsZero() || b.IsZero() {
		return !a.IsZero() && b.IsZero()
	}
	return a.Before(b)
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *timerHeap) push(r *coreRouter) {
	r.heapIdx = len(*h)
	*h = append(*h, r)
	h.up(r.heapIdx)
}

// remove takes r out of the heap.
func (h *timerHeap) remove(r *coreRouter) {
	i := r.heapIdx
	if i < 0 {
		return
	}
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	r.heapIdx = -1
	if i != last {
		h.fixAt(i)
	}
}

// fix restores the order after r.wake changed.
func (h timerHeap) fix(r *coreRouter) {
	if r.heapIdx >= 0 {
		h.fixAt(r.heapIdx)
	}
}

func (h timerHeap) fixAt(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
