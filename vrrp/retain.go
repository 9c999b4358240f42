package vrrp

// A reused slice keeps the storage of its biggest use: after a takeover of
// 1,000 routers the core's output and the Node's held work would keep
// room for 1,000 records of work forever (about 3 MB). retainer lets that
// storage go once it has been mostly idle for a while, without churning
// storage that steady traffic fills again.
type retainer struct{ idle int }

const (
	// retainMin is the capacity always kept: what steady state needs.
	retainMin = 64
	// retainIdle is how many resets in a row must use at most a quarter
	// of the storage before it is let go.
	retainIdle = 256
)

// keep reports whether storage of capacity c, of which the use just
// ended took n, should be kept.
func (r *retainer) keep(n, c int) bool {
	if c <= retainMin || n > c/4 {
		r.idle = 0
		return true
	}
	r.idle++
	if r.idle < retainIdle {
		return true
	}
	r.idle = 0
	return false
}

// reuse empties s for reuse, keeping its storage unless r says to let it
// go; n is how much of it the use that just ended took.
func reuse[T any](r *retainer, s []T, n int) []T {
	if !r.keep(n, cap(s)) {
		return nil
	}
	clear(s[:n])
	return s[:0]
}
