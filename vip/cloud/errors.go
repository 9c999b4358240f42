package cloud

import "errors"

// Exported sentinels: what a caller acts on.
var (
	// ErrAcquireTimeout: the provider did not show the address pointing
	// at this instance within Options.AcquireTimeout.
	ErrAcquireTimeout = errors.New("cloud: address not claimed within the acquire timeout")
	// ErrRejected: the provider refused in a way retrying cannot fix.
	ErrRejected = errors.New("cloud: rejected by the provider")
	// ErrSuperseded: a newer call for the same router cancelled this one.
	ErrSuperseded = errors.New("cloud: superseded by a newer call for the router")
	// ErrClosed: the Backend was closed.
	ErrClosed = errors.New("cloud: backend closed")
	// ErrInProgress is for a Provider's Claim that took a step of a
	// longer change (detached an interface that must be attached here
	// next): the Backend calls Claim again after a wait, and counts no
	// error.
	ErrInProgress = errors.New("cloud: claim in progress")
)

// Permanent marks err, returned by a Provider, as one that retrying will
// not fix; errors.Is(Permanent(err), ErrRejected) holds, and so does
// errors.Is(Permanent(err), err).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() []error { return []error{ErrRejected, e.err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrRejected) }
