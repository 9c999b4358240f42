package vip

import (
	"errors"
	"net/netip"
)

// ErrNoAcceptUnenforceable is what Acquire returns, wrapped with the cause,
// for a set with NoAccept whose drop rules the backend cannot install
// (a kernel without nf_tables, no CAP_NET_ADMIN, the kernel refusing the
// table). The backend then adds none of the set's addresses: a master
// that cannot refuse traffic to its VIPs must not hold them (the router
// goes to FAULT and a backup takes over). LinuxConfig.NoAcceptFailOpen
// chooses keepalived's way instead.
var ErrNoAcceptUnenforceable = errors.New("no_accept cannot be enforced")

// AddressError is one address a backend could not add (Op "add") or
// remove ("remove").
type AddressError struct {
	Op        string
	Prefix    netip.Prefix
	Interface string
	Err       error
}

func (e *AddressError) Error() string {
	prep := " to "
	if e.Op == "remove" {
		prep = " from "
	}
	return "vip: " + e.Op + " " + e.Prefix.String() + prep + e.Interface + ": " + e.Err.Error()
}

func (e *AddressError) Unwrap() error { return e.Err }

// FailedAddresses lists the AddressErrors in err, which may join several
// (Acquire reports each address it could not add, and still adds,
// holds and announces the others; calling it again retries them).
func FailedAddresses(err error) []*AddressError {
	var out []*AddressError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if ae, ok := e.(*AddressError); ok {
			out = append(out, ae)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
