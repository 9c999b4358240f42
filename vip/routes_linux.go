//go:build linux

package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// ProtoKeepalived is the routing protocol number keepalived marks its
// routes and rules with ("keepalived" in iproute2's rt_protos).
const ProtoKeepalived = 18

// RoutingConfig configures a Routing.
type RoutingConfig struct {
	// Logger receives restored routes and rules (Info) and failures no
	// call returns (Warn). Nil: no logging.
	Logger *zap.Logger
	// Protocol marks the routes and rules added (rtm_protocol,
	// FRA_PROTOCOL); deletions match it, so that an equal route someone
	// else added is left alone. 0 means ProtoKeepalived, as keepalived
	// marks its own ("ip route show proto keepalived").
	Protocol uint8
	// NoRestore turns off putting back what someone else deletes.
	NoRestore bool
}

// Routing adds and removes routes and policy rules over rtnetlink:
// keepalived's virtual_routes and virtual_rules (a router's, through the
// backend For returns, composed with the address backend by Multi) and
// static_routes / static_rules (a set acquired once and held). While a set
// is held, a route or rule that someone else deletes is put back (unless
// it says NoRestore). Release removes a set's routes and rules whether it
// held them or not, so that a router starting as a backup removes what a
// crashed run left.
//
// It works in the network namespace of the thread that called NewRouting.
type Routing struct {
	log   *zap.Logger
	proto uint8

	nl        *rtnetlink.Conn
	watch     *netlink.Conn // nil with NoRestore
	watchDone chan struct{}

	mu     sync.Mutex
	held   map[*RouteSet]bool
	closed bool
}

// NewRouting opens the rtnetlink connections (requests, and route and rule
// notifications unless cfg.NoRestore) in the calling thread's network
// namespace. It needs CAP_NET_ADMIN.
func NewRouting(cfg RoutingConfig) (*Routing, error) {
	r := &Routing{log: cfg.Logger, proto: cfg.Protocol, held: make(map[*RouteSet]bool)}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	if r.proto == 0 {
		r.proto = ProtoKeepalived
	}
	var err error
	if r.nl, err = rtnetlink.Dial(nil); err != nil {
		return nil, fmt.Errorf("vip: routing: open rtnetlink: %w", err)
	}
	if !cfg.NoRestore {
		groups := uint32(unix.RTMGRP_IPV4_ROUTE|unix.RTMGRP_IPV6_ROUTE) |
			1<<(unix.RTNLGRP_IPV4_RULE-1) | 1<<(unix.RTNLGRP_IPV6_RULE-1)
		if r.watch, err = dialNotifications(groups); err != nil {
			r.nl.Close()
			return nil, fmt.Errorf("vip: routing: open rtnetlink notifications: %w", err)
		}
		if err := r.watch.SetBPF(deletionFilter(r.proto)); err != nil {
			r.watch.Close()
			r.nl.Close()
			return nil, fmt.Errorf("vip: routing: rtnetlink notification filter: %w", err)
		}
		r.watchDone = make(chan struct{})
		go r.watchLoop()
	}
	return r, nil
}

// RouteSet is one router's routes and rules (or the static ones): a
// vrrp.Backend whose Acquire adds them and Release removes them. Compose
// it after the address backend (Multi(linux, set)): a route's src must be
// on the host before the route.
type RouteSet struct {
	r      *Routing
	name   string
	routes []Route
	rules  []Rule
}

var _ vrrp.Backend = (*RouteSet)(nil)

// For returns the backend of one router's routes and rules, named name in
// logs and errors. It validates them.
func (r *Routing) For(name string, routes []Route, rules []Rule) (*RouteSet, error) {
	var errs []error
	for _, rt := range routes {
		errs = append(errs, rt.Validate())
	}
	for _, ru := range rules {
		errs = append(errs, ru.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &RouteSet{r: r, name: name, routes: append([]Route(nil), routes...), rules: append([]Rule(nil), rules...)}, nil
}

// Name is "routes", for Multi's errors.
func (s *RouteSet) Name() string { return "routes" }

// Acquire adds the rules and routes; one that is there already is not an
// error, and one that cannot be added is reported while the others are
// still added and held. Calling it again retries what failed.
func (s *RouteSet) Acquire(ctx context.Context, _ vrrp.AddressSet) error {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("vip: acquire routes of %s: %w", s.name, net.ErrClosed)
	}
	r.held[s] = true
	var errs []error
	for _, rt := range s.routes {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := r.addRoute(rt); err != nil {
			errs = append(errs, fmt.Errorf("vip: %s: add route %v: %w", s.name, rt, err))
		}
	}
	for _, ru := range s.rules {
		if err := r.addRule(ru); err != nil {
			errs = append(errs, fmt.Errorf("vip: %s: add rule %v: %w", s.name, ru, err))
		}
	}
	return errors.Join(errs...)
}

// Release removes the routes and rules (what is gone already is not an
// error), held or not.
func (s *RouteSet) Release(ctx context.Context, _ vrrp.AddressSet) error {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("vip: release routes of %s: %w", s.name, net.ErrClosed)
	}
	delete(r.held, s)
	return r.removeLocked(s)
}

func (r *Routing) removeLocked(s *RouteSet) error {
	var errs []error
	for _, ru := range s.rules {
		if err := r.delRule(ru); err != nil {
			errs = append(errs, fmt.Errorf("vip: %s: remove rule %v: %w", s.name, ru, err))
		}
	}
	for _, rt := range s.routes {
		if err := r.delRoute(rt); err != nil {
			errs = append(errs, fmt.Errorf("vip: %s: remove route %v: %w", s.name, rt, err))
		}
	}
	return errors.Join(errs...)
}

// Announce does nothing: routes are not announced.
func (s *RouteSet) Announce(context.Context, vrrp.AddressSet) error { return nil }

// Close stops the restore watcher and removes every held set's routes and
// rules. Later calls fail with net.ErrClosed.
func (r *Routing) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	if r.watch != nil {
		_ = r.watch.Close()
		<-r.watchDone
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for s := range r.held {
		errs = append(errs, r.removeLocked(s))
	}
	r.held = nil
	errs = append(errs, r.nl.Close())
	return errors.Join(errs...)
}

// rtnetlink's route types (rtm_type).
var rtnTypes = [...]uint8{
	RouteUnicast:     unix.RTN_UNICAST,
	RouteBlackhole:   unix.RTN_BLACKHOLE,
	RouteUnreachable: unix.RTN_UNREACHABLE,
	RouteProhibit:    unix.RTN_PROHIBIT,
	RouteThrow:       unix.RTN_THROW,
}

// ifindex resolves an interface name through the backend's connection.
func (r *Routing) ifindex(name string) (uint32, error) {
	if name == "" {
		return 0, nil
	}
	li, err := linkByName(r.nl, name)
	if err != nil {
		return 0, fmt.Errorf("dev %s: %w", name, err)
	}
	return uint32(li.index), nil
}

func ipOf(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return net.IP(a.AsSlice())
}

// routeMessage is rt as an RTM_NEWROUTE / RTM_DELROUTE body.
func (r *Routing) routeMessage(rt Route) (*rtnetlink.RouteMessage, error) {
	table := rt.Table
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	m := &rtnetlink.RouteMessage{
		Family:    unix.AF_INET,
		DstLength: uint8(rt.Dst.Bits()),
		Tos:       rt.TOS,
		Table:     unix.RT_TABLE_UNSPEC,
		Protocol:  r.proto,
		Scope:     rt.Scope,
		Type:      rtnTypes[rt.Type],
		Attributes: rtnetlink.RouteAttributes{
			Src:      ipOf(rt.Src),
			Gateway:  ipOf(rt.Gateway),
			Priority: rt.Metric,
			Table:    table,
		},
	}
	if rt.IPv6() {
		m.Family = unix.AF_INET6
	}
	if table < 256 {
		m.Table = uint8(table)
	}
	if rt.Dst.Bits() > 0 {
		m.Attributes.Dst = ipOf(rt.Dst.Addr())
	}
	if rt.OnLink {
		m.Flags |= unix.RTNH_F_ONLINK
	}
	var err error
	if m.Attributes.OutIface, err = r.ifindex(rt.Interface); err != nil {
		return nil, err
	}
	for _, nh := range rt.NextHops {
		idx, err := r.ifindex(nh.Interface)
		if err != nil {
			return nil, err
		}
		hop := rtnetlink.NextHop{Hop: rtnetlink.RTNextHop{IfIndex: idx}, Gateway: ipOf(nh.Gateway)}
		if nh.Weight > 1 {
			hop.Hop.Hops = uint8(nh.Weight - 1)
		}
		if nh.OnLink {
			hop.Hop.Flags |= unix.RTNH_F_ONLINK
		}
		m.Attributes.Multipath = append(m.Attributes.Multipath, hop)
	}
	return m, nil
}

// addRoute adds rt, replacing a route with its key (destination, table,
// tos, metric): adding it again is not an error.
func (r *Routing) addRoute(rt Route) error {
	m, err := r.routeMessage(rt)
	if err != nil {
		return err
	}
	return r.nl.Route.Replace(m)
}

func (r *Routing) delRoute(rt Route) error {
	m, err := r.routeMessage(rt)
	if errors.Is(err, unix.ENODEV) {
		return nil // no interface, no route
	}
	if err != nil {
		return err
	}
	// Match on the key and our protocol, not on the next hops: a route
	// that someone changed is still ours to remove.
	m.Attributes.Gateway, m.Attributes.OutIface, m.Attributes.Multipath, m.Attributes.Src = nil, 0, nil, nil
	m.Flags = 0
	err = r.nl.Route.Delete(m)
	if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// fib rule actions (FR_ACT_*).
var frActions = [...]uint8{
	RuleLookup:      1, // FR_ACT_TO_TBL
	RuleGoto:        2, // FR_ACT_GOTO
	RuleNop:         3, // FR_ACT_NOP
	RuleBlackhole:   6, // FR_ACT_BLACKHOLE
	RuleUnreachable: 7, // FR_ACT_UNREACHABLE
	RuleProhibit:    8, // FR_ACT_PROHIBIT
}

const fibRuleInvert = 0x2 // FIB_RULE_INVERT

func (r *Routing) ruleMessage(ru Rule) *rtnetlink.RuleMessage {
	u32 := func(v uint32) *uint32 { return &v }
	proto := r.proto
	a := &rtnetlink.RuleAttributes{Protocol: &proto}
	m := &rtnetlink.RuleMessage{Family: unix.AF_INET, TOS: ru.TOS, Action: frActions[ru.Action], Attributes: a}
	if ru.Family6() {
		m.Family = unix.AF_INET6
	}
	if ru.Invert {
		m.Flags |= fibRuleInvert
	}
	if ru.From.IsValid() {
		m.SrcLength = uint8(ru.From.Bits())
		ip := ipOf(ru.From.Addr())
		a.Src = &ip
	}
	if ru.To.IsValid() {
		m.DstLength = uint8(ru.To.Bits())
		ip := ipOf(ru.To.Addr())
		a.Dst = &ip
	}
	if ru.Priority != 0 {
		a.Priority = u32(ru.Priority)
	}
	switch ru.Action {
	case RuleLookup:
		t := ru.table()
		if t < 256 {
			m.Table = uint8(t)
		}
		a.Table = u32(t)
	case RuleGoto:
		a.Goto = u32(ru.Goto)
	}
	if ru.FwMark != 0 || ru.FwMask != 0 {
		a.FwMark = u32(ru.FwMark)
		if ru.FwMask != 0 {
			a.FwMask = u32(ru.FwMask)
		}
	}
	if ru.IIF != "" {
		a.IIFName = &ru.IIF
	}
	if ru.OIF != "" {
		a.OIFName = &ru.OIF
	}
	return m
}

// addRule adds ru; the kernel refuses an identical rule (EEXIST), which
// is what adding it again means.
func (r *Routing) addRule(ru Rule) error {
	err := r.nl.Rule.Add(r.ruleMessage(ru))
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func (r *Routing) delRule(ru Rule) error {
	err := r.nl.Rule.Delete(r.ruleMessage(ru))
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// watchLoop puts back held routes and rules that someone else deletes.
func (r *Routing) watchLoop() {
	defer close(r.watchDone)
	for {
		msgs, err := r.watch.Receive()
		if err != nil {
			r.mu.Lock()
			closed := r.closed
			r.mu.Unlock()
			if closed {
				return
			}
			if errors.Is(err, unix.ENOBUFS) {
				r.log.Warn("route notifications overflowed; adding every held route and rule again")
				r.resync()
				continue
			}
			r.log.Error("reading route notifications failed; deleted routes are no longer restored", zap.Error(err))
			return
		}
		for _, nm := range msgs {
			switch nm.Header.Type {
			case unix.RTM_DELROUTE:
				var m rtnetlink.RouteMessage
				if m.UnmarshalBinary(nm.Data) == nil {
					r.routeDeleted(&m)
				}
			case unix.RTM_DELRULE:
				var m rtnetlink.RuleMessage
				if m.UnmarshalBinary(nm.Data) == nil {
					r.ruleDeleted(&m)
				}
			}
		}
	}
}

func (r *Routing) routeDeleted(m *rtnetlink.RouteMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || m.Protocol != r.proto {
		return
	}
	for s := range r.held {
		for _, rt := range s.routes {
			if rt.NoRestore || !sameRouteKey(rt, m) || r.routePresent(rt) {
				continue
			}
			if err := r.addRoute(rt); err != nil {
				r.log.Warn("route deleted by someone else; putting it back failed", zap.String("router", s.name),
					zap.Stringer("route", rt), zap.Error(err))
				continue
			}
			r.log.Info("route deleted by someone else; put back", zap.String("router", s.name), zap.Stringer("route", rt))
		}
	}
}

func (r *Routing) ruleDeleted(m *rtnetlink.RuleMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || m.Attributes == nil || m.Attributes.Protocol == nil || *m.Attributes.Protocol != r.proto {
		return
	}
	prio := uint32(0)
	if m.Attributes.Priority != nil {
		prio = *m.Attributes.Priority
	}
	for s := range r.held {
		for _, ru := range s.rules {
			if ru.NoRestore || (ru.Priority != 0 && ru.Priority != prio) || ru.Family6() != (m.Family == unix.AF_INET6) {
				continue
			}
			// Adding an existing rule is refused as EEXIST: only the
			// deleted one comes back.
			err := r.nl.Rule.Add(r.ruleMessage(ru))
			if errors.Is(err, unix.EEXIST) {
				continue
			}
			if err != nil {
				r.log.Warn("rule deleted by someone else; putting it back failed", zap.String("router", s.name),
					zap.Stringer("rule", ru), zap.Error(err))
				continue
			}
			r.log.Info("rule deleted by someone else; put back", zap.String("router", s.name), zap.Stringer("rule", ru))
		}
	}
}

// sameRouteKey reports whether a notified route has rt's key.
func sameRouteKey(rt Route, m *rtnetlink.RouteMessage) bool {
	table := uint32(m.Table)
	if m.Attributes.Table != 0 {
		table = m.Attributes.Table
	}
	want := rt.Table
	if want == 0 {
		want = unix.RT_TABLE_MAIN
	}
	if (m.Family == unix.AF_INET6) != rt.IPv6() || table != want || int(m.DstLength) != rt.Dst.Bits() ||
		m.Tos != rt.TOS || m.Type != rtnTypes[rt.Type] {
		return false
	}
	if rt.Dst.Bits() > 0 {
		dst, ok := netip.AddrFromSlice(m.Attributes.Dst)
		if !ok || dst.Unmap() != rt.Dst.Addr() {
			return false
		}
	}
	// The kernel reports IPv6 routes without a metric at 1024.
	metric := rt.Metric
	if metric == 0 && rt.IPv6() {
		metric = 1024
	}
	return m.Attributes.Priority == metric
}

// routePresent asks the kernel whether rt (its key, with our protocol) is
// in its table: the notification may be old.
func (r *Routing) routePresent(rt Route) bool {
	msgs, err := r.nl.Route.List()
	if err != nil {
		return false
	}
	for i := range msgs {
		if msgs[i].Protocol == r.proto && sameRouteKey(rt, &msgs[i]) {
			return true
		}
	}
	return false
}

// resync adds every held route and rule again after lost notifications.
func (r *Routing) resync() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for s := range r.held {
		for _, rt := range s.routes {
			if !rt.NoRestore {
				_ = r.addRoute(rt)
			}
		}
		for _, ru := range s.rules {
			if !ru.NoRestore {
				_ = r.addRule(ru)
			}
		}
	}
}
