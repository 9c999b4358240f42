package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// staticSet is keepalived's static_ipaddress, static_routes and
// static_rules: added when the configuration is loaded, put back when
// someone deletes them (as the instances' own), removed at exit — and at
// a reload that changes them, replaced.
type staticSet struct {
	addrs  vrrp.AddressSet
	addrB  vrrp.Backend // nil without addresses
	routes *vip.RouteSet
}

// staticRouter names the static set in the backends.
const staticRouter = "static"

// holdStatic adds conf's static addresses, routes and rules, replacing
// what it held.
func (d *daemon) holdStatic(ctx context.Context, conf *kaconf.Config) {
	d.releaseStatic(ctx)
	if len(conf.StaticAddresses)+len(conf.StaticRoutes)+len(conf.StaticRules) == 0 {
		return
	}
	s := &staticSet{addrs: vrrp.AddressSet{Router: staticRouter, Reason: vrrp.ReasonStartup}}
	for _, v := range conf.StaticAddresses {
		s.addrs.VIPs = append(s.addrs.VIPs, vrrp.VIP{Prefix: v.Prefix, Interface: v.Interface, Label: v.Label,
			Options: addressOptions(v)})
	}
	if len(s.addrs.VIPs) > 0 {
		if d.backend == nil {
			d.log.Error("static_ipaddress: no address backend")
		} else if b, err := d.backend.WithSchedule(vip.Schedule{}); err != nil {
			d.log.Error("static_ipaddress", zap.Error(err))
		} else {
			// keepalived announces no static address.
			s.addrB = b
			if err := b.Acquire(ctx, s.addrs); err != nil {
				d.log.Error("static_ipaddress", zap.Error(err))
			}
		}
	}
	if len(conf.StaticRoutes)+len(conf.StaticRules) > 0 {
		if d.routing == nil {
			d.log.Error("static_routes and static_rules: no routing backend")
		} else if rs, err := d.routing.For(staticRouter, conf.StaticRoutes, conf.StaticRules); err != nil {
			d.log.Error("static_routes", zap.Error(err))
		} else {
			s.routes = rs
			if err := rs.Acquire(ctx, s.addrs); err != nil {
				d.log.Error("static_routes and static_rules", zap.Error(err))
			}
		}
	}
	d.mu.Lock()
	d.static = s
	d.mu.Unlock()
}

// releaseStatic removes what holdStatic added.
func (d *daemon) releaseStatic(ctx context.Context) {
	d.mu.Lock()
	s := d.static
	d.static = nil
	d.mu.Unlock()
	if s == nil {
		return
	}
	if s.routes != nil {
		if err := s.routes.Release(ctx, s.addrs); err != nil {
			d.log.Warn("removing static routes and rules", zap.Error(err))
		}
	}
	if s.addrB != nil {
		if err := s.addrB.Release(ctx, s.addrs); err != nil {
			d.log.Warn("removing static addresses", zap.Error(err))
		}
	}
}
