package vrrp

import "time"

// A reused slice keeps the storage of its biggest use: after a takeover of
// 1,000 routers the core's output and the Node's held work would keep
// room for 1,000 records of work forever (about 3 MB). retainer lets that
// storage go once it has been mostly idle for a while, without churning
// storage that steady traffic fills again. The while is clock time, not a
// count of uses: 1,000 routers with one interval step together, about ten
// times a second, and a slice with no use at all is still checked.
type retainer struct{ idleSince time.Time }

const (
	// retainMin is the capacity always kept: what steady state needs.
	retainMin = 64
	// retainIdle is how long every use must take at most a quarter of the
	// storage before it is let go. Storage that bursts refill is then
	// made again at most once per retainIdle.
	retainIdle = 2 * time.Second
)

// keep reports whether storage of capacity c, of which the use that just
// ended at now took n, should be kept.
func (r *retainer) keep(n, c int, now time.Time) bool {
	if c <= retainMin || n > c/4 {
		r.idleSince = time.Time{}
		return true
	}
	if r.idleSince.IsZero() {
		r.idleSince = now
		return true
	}
	if now.Sub(r.idleSince) < retainIdle {
		return true
	}
	r.idleSince = time.Time{}
	return false
}

// reuse empties s for reuse, keeping its storage unless r says to let it
// go; n is how much of it the use that just ended, at now, took.
func reuse[T any](r *retainer, s []T, n int, now time.Time) []T {
	if !r.keep(n, cap(s), now) {
		return nil
	}
	clear(s[:n])
	return s[:0]
}
