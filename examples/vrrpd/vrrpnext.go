package main

import (
	"context"
	"reflect"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom/promtext"
)

// Two things vrrpd wants from package vrrp that it does not have yet:
// vrrp.NodeConfig.Observer (the takeover and backend latency histograms)
// and Node.Ping (a no-op through the protocol loop, for systemd's
// watchdog and keepalived_up). Until they land, these two functions find
// them when they exist and do without otherwise; then they become
// "cfg.Observer = obs" and "return n.Ping".

// withObserver sets cfg.Observer to obs, when NodeConfig has that field.
func withObserver(cfg vrrp.NodeConfig, obs *promtext.Observer) (vrrp.NodeConfig, bool) {
	f := reflect.ValueOf(&cfg).Elem().FieldByName("Observer")
	if !f.IsValid() || !reflect.TypeOf(obs).AssignableTo(f.Type()) {
		return cfg, false
	}
	f.Set(reflect.ValueOf(obs))
	return cfg, true
}

// nodePing returns n.Ping, or nil when Node has none.
func nodePing(n *vrrp.Node) func(context.Context) error {
	if p, ok := any(n).(interface{ Ping(context.Context) error }); ok {
		return p.Ping
	}
	return nil
}
