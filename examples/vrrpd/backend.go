package main

import (
	"context"
	"errors"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// dualBackend carries a router's excluded addresses of the other address
// family (keepalived's dual-stack virtual_ipaddress_excluded) along with
// its own: each call is made once for the router's set and once for the
// other family's, which the backend keeps apart as a set of its own.
type dualBackend struct {
	vrrp.Backend
	other []vrrp.VIP
}

func (b dualBackend) otherSet(set vrrp.AddressSet) vrrp.AddressSet {
	set.IPv6 = !set.IPv6
	set.VIPs = b.other
	return set
}

func (b dualBackend) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	return errors.Join(b.Backend.Acquire(ctx, set), b.Backend.Acquire(ctx, b.otherSet(set)))
}

func (b dualBackend) Release(ctx context.Context, set vrrp.AddressSet) error {
	return errors.Join(b.Backend.Release(ctx, set), b.Backend.Release(ctx, b.otherSet(set)))
}

func (b dualBackend) Announce(ctx context.Context, set vrrp.AddressSet) error {
	return errors.Join(b.Backend.Announce(ctx, set), b.Backend.Announce(ctx, b.otherSet(set)))
}
