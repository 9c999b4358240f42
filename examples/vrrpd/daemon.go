package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vip/vmac"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// backendProvider is where routers' addresses go: vip.Linux, or a fake in
// tests. WithSchedule gives an instance its own garp_* schedule.
type backendProvider interface {
	vrrp.Backend
	WithSchedule(s vip.Schedule) (vrrp.Backend, error)
}

// vmacManager makes the instances' VMAC interfaces: vmac.Manager, or a
// fake in tests.
type vmacManager interface {
	Add(ctx context.Context, s vmac.Spec) (vmac.VMAC, error)
	Remove(ctx context.Context, name string) error
	RemoveLeftovers(ctx context.Context) ([]string, error)
}

// routeMaker makes the backends of virtual_routes and virtual_rules:
// vip.Routing, or a fake in tests.
type routeMaker interface {
	For(name string, routes []vip.Route, rules []vip.Rule) (*vip.RouteSet, error)
}

// daemonConfig is what a daemon runs on.
type daemonConfig struct {
	log     *zap.Logger
	clock   vrrp.Clock
	node    *vrrp.Node
	backend backendProvider // nil: routers run the protocol only
	// baseSchedule is the backend's own announcement schedule (global_defs
	// at startup); an instance whose schedule differs gets WithSchedule.
	baseSchedule  vip.Schedule
	notifyTimeout time.Duration
	// scriptEnv overrides the script environment built from global_defs
	// (tests).
	scriptEnv func(kaconf.Global) *scriptEnv
	// cloud adds vrrpd_cloud backends (default withCloud).
	cloud cloudBuilder
	// vmacs makes the VMACs of use_vmac instances; nil: such instances
	// cannot start.
	vmacs vmacManager
	// routing adds virtual_routes, virtual_rules and static_*; nil: an
	// instance with routes or rules cannot start.
	routing routeMaker
}

// daemon runs a translated configuration on a Node: one router per
// vrrp_instance, the trackers they use, their notify scripts, and reloads.
type daemon struct {
	daemonConfig
	trackers *trackers

	// reloadMu serialises start, reload and stop.
	reloadMu sync.Mutex

	mu        sync.Mutex
	plan      *plan
	env       *scriptEnv
	instances map[string]*instance
	groups    map[string]*group
	started   bool // routers added (vrrp_startup_delay over)
	loadedAt  time.Time
	fifos     *notifyFIFOs
	static    *staticSet // static_ipaddress, static_routes, static_rules held
}

// instance is one running vrrp_instance.
type instance struct {
	plan    *routerPlan
	r       *vrrp.Router
	scripts *notifyScripts
	queue   *notifyQueue // nil without notify scripts
	cloud   []*cloud.Backend
	vmac    string // the VMAC made for it, or ""
	stop    chan struct{}
	done    chan struct{}

	mu         sync.Mutex
	tracks     map[string]vrrp.TrackStatus
	trackOrder []string
	state      vrrp.State
	since      time.Time
	// notified: its notifies ran at least once (keepalived skips a sync
	// group member's own only after that).
	notified bool
	// deleted: removed by a reload; its last notify says FAULT, or
	// DELETED with notify_deleted, instead of STOP.
	deleted bool
}

// group is one vrrp_sync_group, for its notify scripts: keepalived's group
// state is MASTER when every member is, FAULT when any member is, and
// BACKUP when any member is backup and none in fault.
type group struct {
	plan    *groupPlan
	scripts *notifyScripts
	queue   *notifyQueue
	state   string
	since   time.Time // the time of the transition that made state
}

func newDaemon(cfg daemonConfig) *daemon {
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	if cfg.clock == nil {
		cfg.clock = vrrp.SystemClock{}
	}
	if cfg.notifyTimeout <= 0 {
		cfg.notifyTimeout = defaultNotifyTimeout
	}
	if cfg.scriptEnv == nil {
		cfg.scriptEnv = newScriptEnv
	}
	if cfg.cloud == nil {
		cfg.cloud = withCloud
	}
	return &daemon{
		daemonConfig: cfg,
		trackers:     newTrackers(cfg.log, cfg.clock),
		instances:    make(map[string]*instance),
		groups:       make(map[string]*group),
	}
}

// load installs p as the configuration and starts its trackers; the
// routers start with startRouters (after vrrp_startup_delay).
func (d *daemon) load(p *plan) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.mu.Lock()
	d.plan = p
	d.env = d.scriptEnv(p.conf.Global)
	d.loadedAt = d.clock.Now()
	d.fifos = openFIFOs(p.conf.Global, d.env, d.log)
	d.mu.Unlock()
	d.syncGroups(p)
	d.reconcileTrackers(p)
	d.holdStatic(context.Background(), p.conf)
}

// releaseLeftovers removes the addresses of every instance of the
// configuration, which a predecessor killed with SIGKILL may have left on
// the host: at once, not when the routers start after
// vrrp_startup_delay and their trackers. The routers release them again
// when they start as backups, which then asks nothing of the host: the
// backend knows the addresses are gone.
func (d *daemon) releaseLeftovers(ctx context.Context) {
	if d.backend == nil {
		return
	}
	d.mu.Lock()
	p := d.plan
	d.mu.Unlock()
	for _, rp := range p.routers {
		c := rp.cfg
		set := vrrp.AddressSet{Router: c.Name, VRID: c.VRID, Interface: c.Interface, IPv6: c.IPv6, VIPs: c.VIPs}
		if err := d.backend.Release(ctx, set); err != nil {
			d.log.Warn("("+c.Name+") removing addresses left by an earlier run failed", zap.Error(err))
		}
		if d.routing != nil && len(rp.routes)+len(rp.rules) > 0 {
			rs, err := d.routing.For(c.Name, rp.routes, rp.rules)
			if err == nil {
				err = rs.Release(ctx, set)
			}
			if err != nil {
				d.log.Warn("("+c.Name+") removing routes and rules left by an earlier run failed", zap.Error(err))
			}
		}
	}
}

// startRouters adds a router for every instance of the configuration,
// once their tracked objects know their state.
func (d *daemon) startRouters() {
	d.mu.Lock()
	p := d.plan
	d.mu.Unlock()
	d.awaitTrackers(trackKeys(p), p.conf)
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return
	}
	d.started = true
	p = d.plan
	d.mu.Unlock()
	for _, rp := range p.routers {
		d.addInstance(rp)
	}
	d.resubscribe()
	d.removeVMACLeftovers()
}

// removeVMACLeftovers removes the VMACs a crashed run left that no
// instance reused.
func (d *daemon) removeVMACLeftovers() {
	if d.vmacs == nil {
		return
	}
	removed, err := d.vmacs.RemoveLeftovers(context.Background())
	for _, name := range removed {
		d.log.Info("Removed VMAC " + name + ", left by an earlier run")
	}
	if err != nil {
		d.log.Warn("removing VMACs left by an earlier run", zap.Error(err))
	}
}

// addInstance adds rp's router to the node.
func (d *daemon) addInstance(rp *routerPlan) {
	cfg := rp.cfg
	if d.backend != nil {
		cfg.Backend = d.backend
		if rp.schedule != d.baseSchedule {
			b, err := d.backend.WithSchedule(rp.schedule)
			if err != nil {
				d.log.Error(rp.inst.Pos.String() + ": (" + rp.inst.Name + ") garp schedule: " + err.Error() + "; using the global one")
			} else {
				cfg.Backend = b
			}
		}
	}
	cantStart := func(err error) {
		d.log.Error(rp.inst.Pos.String()+": ("+rp.inst.Name+") cannot start", zap.Error(err))
	}
	if len(rp.routes)+len(rp.rules) > 0 {
		if d.routing == nil {
			cantStart(errors.New("virtual_routes and virtual_rules need the routing backend"))
			return
		}
		rs, err := d.routing.For(rp.inst.Name, rp.routes, rp.rules)
		if err != nil {
			cantStart(err)
			return
		}
		if cfg.Backend != nil {
			cfg.Backend = vip.Multi(cfg.Backend, rs)
		} else {
			cfg.Backend = rs
		}
	}
	b, clouds, err := d.cloud(context.Background(), rp.inst, cfg.Backend, d.log)
	if err != nil {
		cantStart(err)
		return
	}
	cfg.Backend = b
	in := &instance{plan: rp, stop: make(chan struct{}), done: make(chan struct{}),
		tracks: make(map[string]vrrp.TrackStatus), cloud: clouds}
	if rp.vmac != nil {
		if d.vmacs == nil {
			closeCloud(clouds)
			cantStart(errors.New("use_vmac needs the VMAC manager"))
			return
		}
		v, err := d.vmacs.Add(context.Background(), *rp.vmac)
		if err != nil {
			closeCloud(clouds)
			cantStart(err)
			return
		}
		in.vmac = v.Name
		d.log.Info("(" + rp.inst.Name + ") VMAC " + v.Name + " (" + v.MAC.String() + ") on " + v.Base)
	}
	// The tracked objects' states go in with the router, so that the node
	// starts it with them (a router whose weight-0 script fails starts in
	// FAULT, as keepalived's leaves INIT for FAULT).
	subs := subscribers(rp, in)
	cfg.Tracks = nil
	for _, ks := range subs {
		if st, ok := d.trackers.status(ks.key, ks.sub); ok {
			cfg.Tracks = append(cfg.Tracks, st)
		}
	}
	cfg.Tracks = append(cfg.Tracks, rp.faults...)
	// Events matter only to notify scripts, FIFOs and sync groups: the
	// other routers keep no event buffer, and no goroutine watches them
	// (1,000 instances would cost 2 MB and 1,000 goroutines).
	watched := hasNotify(rp.notify) || rp.cfg.SyncGroup != "" || d.notifyFIFOs().active()
	cfg.DiscardEvents = !watched
	r, err := d.node.Add(cfg)
	if err != nil {
		closeCloud(clouds)
		d.removeVMAC(in)
		cantStart(err)
		return
	}
	in.r = r
	// Changes from now on; attach repeats the current state, which the
	// router already has.
	for _, ks := range subs {
		d.trackers.attach(ks.key, ks.sub)
	}
	d.mu.Lock()
	env := d.env
	d.mu.Unlock()
	in.scripts = newNotifyScripts("INSTANCE", rp.inst.Name, rp.notify, env, d.scriptWarner(rp.inst.Pos))
	if !in.scripts.empty() {
		in.queue = newNotifyQueue(d.log, d.notifyTimeout)
	}
	d.mu.Lock()
	d.instances[rp.inst.Name] = in
	d.mu.Unlock()
	if watched {
		go d.watch(in)
	} else {
		close(in.done)
	}
}

func hasNotify(n kaconf.Notify) bool {
	return n.Master != nil || n.Backup != nil || n.Fault != nil || n.Stop != nil || n.Any != nil ||
		n.MasterRxLowerPri != nil || n.DeletedScript != nil
}

// notifyFIFOs returns the notify FIFOs of the running configuration.
func (d *daemon) notifyFIFOs() *notifyFIFOs {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fifos
}

// removeVMAC removes the VMAC made for in, if any.
func (d *daemon) removeVMAC(in *instance) {
	if in.vmac == "" {
		return
	}
	if err := d.vmacs.Remove(context.Background(), in.vmac); err != nil {
		d.log.Warn("("+in.plan.inst.Name+") removing VMAC "+in.vmac, zap.Error(err))
	}
	in.vmac = ""
}

func (d *daemon) scriptWarner(pos kaconf.Pos) func(keyword, msg string) {
	return func(keyword, msg string) {
		d.log.Warn(kaconf.Diagnostic{Pos: pos, Keyword: keyword, Msg: msg}.String())
	}
}

// removeInstance stops in's router (a master sends priority 0 and releases
// its addresses) and its event watcher; its STOP notify still runs.
func (d *daemon) removeInstance(ctx context.Context, in *instance) {
	if err := d.node.Remove(ctx, in.r); err != nil {
		d.log.Error("("+in.plan.inst.Name+") stop", zap.Error(err))
	}
	closeCloud(in.cloud)
	d.removeVMAC(in)
	close(in.stop)
	<-in.done
	d.mu.Lock()
	delete(d.instances, in.plan.inst.Name)
	d.mu.Unlock()
	in.mu.Lock()
	q := in.queue
	in.mu.Unlock()
	if q != nil {
		go func() { _ = q.close(context.Background()) }()
	}
}

// watch turns a router's events into notify scripts and sync group
// states, until in.stop or the end of the stream; after in.stop it drains
// what is left.
func (d *daemon) watch(in *instance) {
	defer close(in.done)
	for {
		select {
		case e, ok := <-in.r.Events():
			if !ok {
				return
			}
			d.onEvent(in, e)
		case <-in.stop:
			for {
				select {
				case e, ok := <-in.r.Events():
					if !ok {
						return
					}
					d.onEvent(in, e)
				default:
					return
				}
			}
		}
	}
}

// notifyState is keepalived's name for a state in notify scripts.
func notifyState(s vrrp.State) string {
	if s == vrrp.Initialize {
		return "STOP"
	}
	return s.String()
}

func (d *daemon) onEvent(in *instance, e vrrp.Event) {
	if e.Lost > 0 {
		d.log.Warn("(" + e.Router + ") " + itoa(int(e.Lost)) + " events lost: notify scripts may have missed transitions")
	}
	switch e.Kind {
	case vrrp.EventLowerPriority:
		d.notifyFIFOs().write("INSTANCE", e.Router, "MASTER_RX_LOWER_PRI", e.Priority)
		in.mu.Lock()
		if in.queue != nil {
			in.queue.push(notifyJob{what: "(" + e.Router + ") MASTER_RX_LOWER_PRI", cmds: in.scripts.rxLowerPri(e.Priority)})
		}
		in.mu.Unlock()
		return
	case vrrp.EventPriority:
		if in.plan.inst.NotifyPriorityChanges {
			what := "BACKUP_PRIORITY"
			if in.r.State() == vrrp.Master {
				what = "MASTER_PRIORITY"
			}
			d.notifyFIFOs().write("INSTANCE", e.Router, what, e.Priority)
		}
		return
	case vrrp.EventState:
	default:
		return
	}
	state := notifyState(e.To)
	group := in.plan.cfg.SyncGroup
	// d.mu before in.mu, in the order updateGroup takes them.
	d.mu.Lock()
	in.mu.Lock()
	if in.deleted && e.To == vrrp.Initialize {
		// keepalived: an instance a reload deleted notifies FAULT, or
		// DELETED with notify_deleted.
		state = "FAULT"
		if in.plan.notify.Deleted {
			state = "DELETED"
		}
	}
	in.state, in.since = e.To, e.Time
	// keepalived skips a sync group member's own notifies when the group
	// reached that state before this transition (not in the same sweep,
	// which has the same time).
	skip := in.notified && group != "" && d.groupReachedLocked(group, state, e.Time)
	if !skip {
		in.notified = true
		if in.queue != nil {
			in.queue.push(notifyJob{what: "(" + e.Router + ") " + state, cmds: in.scripts.commands(state, int(e.Priority))})
		}
	}
	in.mu.Unlock()
	d.mu.Unlock()
	if skip {
		d.log.Debug("(" + e.Router + ") " + state + ": sync group " + group + " is " + state + " already, no notify")
	} else {
		d.notifyFIFOs().write("INSTANCE", e.Router, state, int(e.Priority))
	}
	if group != "" {
		d.updateGroup(group, e.Time)
	}
}

// groupReachedLocked reports whether the sync group has been in state
// since before t; d.mu is held.
func (d *daemon) groupReachedLocked(name, state string, t time.Time) bool {
	g := d.groups[name]
	return g != nil && g.state == state && g.since.Before(t)
}

// groupState is keepalived's state of a sync group from its members'.
func groupState(members []vrrp.State) string {
	if len(members) == 0 {
		return ""
	}
	all := true
	backup := false
	for _, s := range members {
		switch s {
		case vrrp.Fault:
			return "FAULT"
		case vrrp.Backup:
			backup = true
		}
		if s != vrrp.Master {
			all = false
		}
	}
	switch {
	case all:
		return "MASTER"
	case backup:
		return "BACKUP"
	}
	return ""
}

func (d *daemon) updateGroup(name string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.groups[name]
	if g == nil || g.state == "STOP" {
		return
	}
	var states []vrrp.State
	for _, m := range g.plan.group.Members {
		if in := d.instances[m]; in != nil {
			in.mu.Lock()
			states = append(states, in.state)
			in.mu.Unlock()
		}
	}
	st := groupState(states)
	if st == "" || st == g.state {
		return
	}
	g.state, g.since = st, at
	d.log.Info("(" + name + ") Sync group entering " + st + " STATE")
	if g.queue != nil {
		g.queue.push(notifyJob{what: "(" + name + ") " + st, cmds: g.scripts.commands(st, 0)})
	}
	d.fifos.write("GROUP", name, st, 0)
}

// syncGroups makes d.groups those of p, keeping unchanged ones (and their
// state and queue).
func (d *daemon) syncGroups(p *plan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := make(map[string]*group, len(p.groups))
	for _, gp := range p.groups {
		name := gp.group.Name
		if old := d.groups[name]; old != nil && old.plan.group.Equal(gp.group) {
			old.plan = gp
			next[name] = old
			delete(d.groups, name)
			continue
		}
		g := &group{plan: gp}
		g.scripts = newNotifyScripts("GROUP", name, gp.notify, d.env, d.scriptWarner(gp.group.Pos))
		if !g.scripts.empty() {
			g.queue = newNotifyQueue(d.log, d.notifyTimeout)
		}
		next[name] = g
	}
	for _, old := range d.groups {
		d.stopGroupLocked(old)
	}
	d.groups = next
}

func (d *daemon) stopGroupLocked(g *group) {
	if g.state != "" && g.state != "STOP" {
		if g.queue != nil {
			g.queue.push(notifyJob{what: "(" + g.plan.group.Name + ") STOP", cmds: g.scripts.commands("STOP", 0)})
		}
		d.fifos.write("GROUP", g.plan.group.Name, "STOP", 0)
	}
	g.state = "STOP"
	if g.queue != nil {
		q := g.queue
		go func() { _ = q.close(context.Background()) }()
	}
}

// trackKeys lists the objects p's routers track, in order, each once.
func trackKeys(p *plan) []trackKey {
	var keys []trackKey
	seen := make(map[trackKey]bool)
	for _, rp := range p.routers {
		for _, t := range rp.tracks {
			if !seen[t.key] {
				seen[t.key] = true
				keys = append(keys, t.key)
			}
		}
	}
	return keys
}

// reconcileTrackers starts and stops trackers for p, logging what cannot
// be tracked.
func (d *daemon) reconcileTrackers(p *plan) {
	d.mu.Lock()
	env := d.env
	d.mu.Unlock()
	failed, warnings := d.trackers.reconcile(p.conf, trackKeys(p), env)
	for _, w := range warnings {
		d.log.Warn(w)
	}
	for k, err := range failed {
		d.log.Warn("Disabling tracked "+k.String()+": "+err.Error()+"; the instances tracking it ignore it",
			zap.Strings("instances", trackedBy(p, k)))
	}
}

func trackedBy(p *plan, k trackKey) []string {
	var out []string
	for _, rp := range p.routers {
		for _, t := range rp.tracks {
			if t.key == k {
				out = append(out, rp.inst.Name)
				break
			}
		}
	}
	return out
}

func (d *daemon) awaitTrackers(keys []trackKey, conf *kaconf.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), knownWait(conf))
	defer cancel()
	d.trackers.awaitKnown(ctx, keys)
}

// resubscribe points every tracker at the routers that use it.
func (d *daemon) resubscribe() {
	d.mu.Lock()
	subs := make(map[trackKey][]subscriber)
	for _, rp := range d.plan.routers {
		in := d.instances[rp.inst.Name]
		if in == nil {
			continue
		}
		for _, ks := range subscribers(rp, in) {
			subs[ks.key] = append(subs[ks.key], ks.sub)
		}
	}
	d.mu.Unlock()
	d.trackers.subscribe(subs)
}

type keyedSubscriber struct {
	key trackKey
	sub subscriber
}

// subscribers are in's uses of tracked objects, each named uniquely in
// the router ("script chk", "script chk #2" when tracked twice).
func subscribers(rp *routerPlan, in *instance) []keyedSubscriber {
	var out []keyedSubscriber
	names := make(map[string]bool)
	for _, t := range rp.tracks {
		name := t.key.String()
		for i := 2; names[name]; i++ {
			name = t.key.String() + " #" + itoa(i)
		}
		names[name] = true
		out = append(out, keyedSubscriber{t.key, subscriber{name: name, weight: t.weight, report: in.tracked}})
	}
	return out
}

// tracked records a tracked object's status (for the status endpoint)
// and hands it to the router.
func (in *instance) tracked(s vrrp.TrackStatus) {
	in.mu.Lock()
	if _, ok := in.tracks[s.Name]; !ok {
		in.trackOrder = append(in.trackOrder, s.Name)
	}
	in.tracks[s.Name] = s
	in.mu.Unlock()
	in.r.Track(s)
}

// reload replaces the running configuration with p: instances that
// changed (or whose tracked objects or sync group changed) restart, but
// for changes the running router takes (inPlaceChanges),
// removed ones stop, new ones start, and the others keep running without
// a transition.
func (d *daemon) reload(ctx context.Context, p *plan) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.mu.Lock()
	old := d.plan
	oldEnv := d.env
	started := d.started
	d.mu.Unlock()
	diff := old.conf.Diff(p.conf)
	env := d.scriptEnv(p.conf.Global)
	envChanged := oldEnv.user != env.user || oldEnv.group != env.group || oldEnv.security != env.security

	restart := make(map[string]bool)
	inPlaces := inPlaceChanges(old.conf, p.conf, diff.Changed)
	for _, n := range diff.Changed {
		if _, ok := inPlaces[n]; !ok {
			restart[n] = true
		}
	}
	oldPlans := make(map[string]*routerPlan)
	for _, rp := range old.routers {
		oldPlans[rp.inst.Name] = rp
	}
	for _, rp := range p.routers {
		// A global setting the instance inherits without holding it
		// (vrrp_garp_interval) still changes what it runs.
		if o := oldPlans[rp.inst.Name]; o != nil && o.schedule != rp.schedule {
			restart[rp.inst.Name] = true
			delete(inPlaces, rp.inst.Name)
		}
	}
	if envChanged {
		d.log.Info("script_user or enable_script_security changed: restarting tracking scripts and re-checking notify scripts")
	}
	d.log.Info("Reload: " + itoa(len(diff.Added)) + " instances added, " + itoa(len(diff.Removed)) + " removed, " +
		itoa(len(restart)) + " changed, " + itoa(len(diff.Unchanged)-countIn(diff.Unchanged, restart)) + " unchanged" +
		inPlaceCount(len(inPlaces)))

	if started {
		d.mu.Lock()
		var stop []*instance
		for _, n := range diff.Removed {
			if in := d.instances[n]; in != nil {
				in.mu.Lock()
				in.deleted = true
				in.mu.Unlock()
				stop = append(stop, in)
			}
		}
		for n := range restart {
			if in := d.instances[n]; in != nil {
				stop = append(stop, in)
			}
		}
		d.mu.Unlock()
		for _, in := range stop {
			d.log.Info("(" + in.plan.inst.Name + ") stopping for the new configuration")
			d.removeInstance(ctx, in)
		}
	}

	d.mu.Lock()
	d.plan = p
	d.env = env
	d.loadedAt = d.clock.Now()
	var oldFIFOs *notifyFIFOs
	if diff.FIFOs || envChanged {
		oldFIFOs, d.fifos = d.fifos, openFIFOs(p.conf.Global, env, d.log)
	}
	d.mu.Unlock()
	oldFIFOs.close()
	if diff.Static {
		d.log.Info("static_ipaddress, static_routes or static_rules changed: replacing them")
		d.holdStatic(ctx, p.conf)
	}
	d.syncGroups(p)
	d.reconcileTrackers(p)
	if !started {
		return
	}
	var newKeys []trackKey
	d.mu.Lock()
	for _, rp := range p.routers {
		if d.instances[rp.inst.Name] == nil {
			for _, t := range rp.tracks {
				newKeys = append(newKeys, t.key)
			}
		}
	}
	d.mu.Unlock()
	d.awaitTrackers(newKeys, p.conf)
	for _, rp := range p.routers {
		d.mu.Lock()
		in := d.instances[rp.inst.Name]
		d.mu.Unlock()
		if in == nil {
			d.addInstance(rp)
			continue
		}
		if ip, ok := inPlaces[rp.inst.Name]; ok {
			d.applyInPlace(in, rp, ip)
		}
		// An unchanged instance keeps its plan (equal to rp); only its
		// notify scripts may run as another user now.
		if envChanged {
			scripts := newNotifyScripts("INSTANCE", rp.inst.Name, rp.notify, env, d.scriptWarner(rp.inst.Pos))
			in.mu.Lock()
			in.scripts = scripts
			if in.queue == nil && !scripts.empty() {
				in.queue = newNotifyQueue(d.log, d.notifyTimeout)
			}
			in.mu.Unlock()
		}
	}
	d.resubscribe()
	d.removeVMACLeftovers()
	if p.conf.Global.FIFOWriteStatesOnReload {
		d.writeStates()
	}
	if diff.Global {
		d.log.Info("global_defs changed: router_id and vrrp_startup_delay take effect at the next start")
	}
}

// writeStates writes every instance's and group's state to the FIFOs
// (fifo_write_vrrp_states_on_reload).
func (d *daemon) writeStates() {
	for _, in := range d.instanceList() {
		d.notifyFIFOs().write("INSTANCE", in.plan.inst.Name, notifyState(in.r.State()), in.r.Priority())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, gp := range d.plan.groups {
		if g := d.groups[gp.group.Name]; g != nil && g.state != "" {
			d.fifos.write("GROUP", gp.group.Name, g.state, 0)
		}
	}
}

func countIn(names []string, set map[string]bool) int {
	n := 0
	for _, s := range names {
		if set[s] {
			n++
		}
	}
	return n
}

// stop finishes after the node has stopped (every master sent priority 0
// and released its addresses): the routers' last events are turned into
// STOP notifies, the groups' too, and the notify queues drained until
// ctx ends.
func (d *daemon) stop(ctx context.Context) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.trackers.stopAll()
	d.mu.Lock()
	ins := make([]*instance, 0, len(d.instances))
	for _, in := range d.instances {
		ins = append(ins, in)
	}
	d.mu.Unlock()
	for _, in := range ins {
		close(in.stop)
		<-in.done
		closeCloud(in.cloud)
	}
	d.mu.Lock()
	for _, g := range d.groups {
		d.stopGroupLocked(g)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range ins {
		in.mu.Lock()
		q := in.queue
		in.mu.Unlock()
		if q == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.close(ctx); err != nil {
				d.log.Warn("(" + in.plan.inst.Name + ") notify scripts still running at exit")
			}
		}()
	}
	d.mu.Lock()
	for _, g := range d.groups {
		if g.queue == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = g.queue.close(ctx)
		}()
	}
	fifos := d.fifos
	d.mu.Unlock()
	wg.Wait()
	fifos.close()
	d.releaseStatic(ctx)
}

// instanceNames returns the running instances in configuration order.
func (d *daemon) instanceList() []*instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*instance, 0, len(d.instances))
	for _, rp := range d.plan.routers {
		if in := d.instances[rp.inst.Name]; in != nil {
			out = append(out, in)
		}
	}
	return out
}
