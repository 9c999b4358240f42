package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/health/httpcheck"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Names of the routers (in logs, keepalived-style) and of the tracked
// objects that hold them in Fault.
const (
	writeRouter = "pg_write"
	readRouter  = "pg_read"

	trackPostgres = "postgres" // the local Postgres: reachable, and (follow mode) primary
	trackFence    = "fence"    // a stale primary fenced itself
	trackElection = "election" // a standby steps aside for a better one
	trackReplica  = "replica"  // the read VIP: a healthy standby
)

// maxDecisions is how many recent decisions the status endpoint lists.
const maxDecisions = 16

// decision is something the sidecar decided, and why.
type decision struct {
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	Reason string    `json:"reason"`
}

// sidecar is one node's sidecar: the write VIP's router, optionally the
// read VIP's, and what drives them.
type sidecar struct {
	opts  *options
	log   *zap.Logger
	pg    *pgClient // observations
	act   *pgClient // promotion, ALTER SYSTEM (never behind a slow observation)
	peers *peerClient

	write *vrrp.Router
	read  *vrrp.Router
	vips  vrrp.Backend

	mu          sync.Mutex
	obs         observation
	streamedAt  time.Time // last observation with the WAL receiver streaming
	masterSince time.Time // the write router became master (zero: it is not)
	decisions   []decision
	fenced      string // why a stale primary fenced itself ("": it did not)
	demoting    bool
	followed    netip.Addr // the master whose timeline the WAL receiver was checked against
	tracks      map[*vrrp.Router]map[string]vrrp.TrackStatus
	prios       map[*vrrp.Router]int
}

// run runs the sidecar until ctx ends, then shuts down cleanly: a master
// sends priority 0 and releases its VIPs; Postgres is left as it is.
func run(ctx context.Context, o *options, log *zap.Logger) error {
	s := &sidecar{opts: o, log: log, peers: newPeerClient(o.peerTimeout),
		tracks: map[*vrrp.Router]map[string]vrrp.TrackStatus{}, prios: map[*vrrp.Router]int{}}
	var err error
	if s.pg, err = newPgClient(o.dsn, log.Named("pg")); err != nil {
		return err
	}
	if s.act, err = newPgClient(o.dsn, log.Named("pg")); err != nil {
		return err
	}
	defer s.pg.close()
	defer s.act.close()
	if o.rewindSource == "" {
		c := s.pg.cfg
		o.rewindSource = fmt.Sprintf("host=%s port=%d user=%s dbname=%s", o.vips[0].Addr(), c.Port, quoteConn(c.User), quoteConn(c.Database))
	}

	linux, err := vip.NewLinux(vip.LinuxConfig{Logger: log.Named("vip")})
	if err != nil {
		return err
	}
	defer linux.Close()
	s.vips = linux
	network, err := vrrp.NewSocketNetwork()
	if err != nil {
		return err
	}
	defer network.Close()
	node, err := vrrp.NewNode(vrrp.NodeConfig{Network: network, Logger: log, PreciseWakeups: true})
	if err != nil {
		return err
	}

	// Out of service until Postgres has been checked: a sidecar that
	// starts beside a stale primary must not take the VIP first.
	notChecked := vrrp.TrackStatus{Name: trackPostgres, Fault: true, Reason: "Postgres not checked yet"}
	var backend vrrp.Backend = linux
	if o.mode == modeElect {
		backend = &takeover{s: s}
	}
	s.write, err = node.Add(routerConfig(o, writeRouter, o.vrid, o.priority, o.vips, backend, notChecked))
	if err != nil {
		return err
	}
	if len(o.readVIPs) > 0 {
		s.read, err = node.Add(routerConfig(o, readRouter, o.readVRID, 100, o.readVIPs, linux,
			vrrp.TrackStatus{Name: trackReplica, Fault: true, Reason: "Postgres not checked yet"}))
		if err != nil {
			return err
		}
	}
	for _, r := range []*vrrp.Router{s.write, s.read} {
		if r != nil {
			s.tracks[r] = map[string]vrrp.TrackStatus{}
			for _, t := range r.Config().Tracks {
				s.tracks[r][t.Name] = t
			}
		}
	}

	servers, err := startStatus(o.status, s.status, log)
	if err != nil {
		return err
	}
	defer servers.close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.followEvents(ctx) }()
	go func() {
		defer wg.Done()
		if o.mode == modeElect {
			s.elect(ctx)
		} else {
			s.follow(ctx)
		}
	}()
	log.Info("pgsidecar started", zap.String("mode", o.mode), zap.String("interface", o.iface),
		zap.Int("vrid", o.vrid), zap.Stringers("vips", o.vips))
	err = node.Run(ctx)
	cancel()
	wg.Wait()
	log.Info("pgsidecar stopped: VIPs released, Postgres left as it is")
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// routerConfig is one router's vrrp.Config.
func routerConfig(o *options, name string, vrid, prio int, vips []netip.Prefix, b vrrp.Backend, initial vrrp.TrackStatus) vrrp.Config {
	c := vrrp.Config{
		Name:      name,
		VRID:      vrid,
		Interface: o.iface,
		IPv6:      vips[0].Addr().Is6() && !vips[0].Addr().Is4In6(),
		Priority:  prio,
		Interval:  o.interval,
		Peers:     o.peers,
		Backend:   b,
		Tracks:    []vrrp.TrackStatus{initial},
	}
	for _, p := range vips {
		c.VIPs = append(c.VIPs, vrrp.VIP{Prefix: p})
	}
	return c
}

// setPriority changes a router's base priority when it differs from the
// last one set.
func (s *sidecar) setPriority(r *vrrp.Router, p int) {
	s.mu.Lock()
	same := s.prios[r] == p
	s.prios[r] = p
	s.mu.Unlock()
	if !same {
		_ = r.SetPriority(p)
	}
}

// track passes a tracked object's status to a router when it changed.
func (s *sidecar) track(r *vrrp.Router, t vrrp.TrackStatus) {
	s.mu.Lock()
	same := s.tracks[r][t.Name] == t
	s.tracks[r][t.Name] = t
	s.mu.Unlock()
	if !same {
		r.Track(t)
	}
}

func up(name, reason string) vrrp.TrackStatus {
	return vrrp.TrackStatus{Name: name, Up: true, Reason: reason}
}

func fault(name, reason string) vrrp.TrackStatus {
	return vrrp.TrackStatus{Name: name, Fault: true, Reason: reason}
}

// decide records and logs a decision; a repeat of the last one (same
// action and reason) is neither logged nor listed again.
func (s *sidecar) decide(action, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.decisions); n > 0 && s.decisions[n-1].Action == action && s.decisions[n-1].Reason == reason {
		return
	}
	s.decisions = append(s.decisions, decision{Time: time.Now(), Action: action, Reason: reason})
	if len(s.decisions) > maxDecisions {
		s.decisions = s.decisions[len(s.decisions)-maxDecisions:]
	}
	s.log.Info("decision: "+action, zap.String("reason", reason))
}

// store keeps the latest observation.
func (s *sidecar) store(o observation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs = o
	if o.WALReceiver == "streaming" {
		s.streamedAt = o.Time
	}
}

// followEvents notes when the write router becomes master (the takeover
// waits for the election to settle) until ctx ends.
func (s *sidecar) followEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-s.write.Events():
			if e.Kind != vrrp.EventState {
				continue
			}
			s.mu.Lock()
			if e.To == vrrp.Master {
				s.masterSince = e.Time
			} else {
				s.masterSince = time.Time{}
			}
			s.mu.Unlock()
		}
	}
}

// follow is follow mode: a health tracker makes the write router master
// only while the local Postgres is the primary (or Patroni says so).
func (s *sidecar) follow(ctx context.Context) {
	var patroni *httpcheck.Get
	if s.opts.patroni != "" {
		patroni = &httpcheck.Get{URL: strings.TrimSuffix(s.opts.patroni, "/") + "/primary"}
	}
	check := s.primaryCheck(patroni)
	t := &health.Tracker{Name: trackPostgres, Check: check, Interval: s.opts.check,
		Timeout: max(s.opts.check, time.Second), Logger: s.log.Named("health")}
	_ = t.Run(ctx, nil, func(st vrrp.TrackStatus) {
		if st.Reason == "no result yet" {
			return // the router starts in Fault already
		}
		s.track(s.write, st)
		if st.Fault {
			s.decide("stand by", st.Reason)
		} else {
			s.decide("take part", "Postgres is the primary")
		}
	})
}

// primaryCheck passes while the local Postgres is the primary, or with
// patroni, while Patroni's GET /primary answers 200. Either way it
// observes the local Postgres, for the status endpoint and the read VIP.
func (s *sidecar) primaryCheck(patroni *httpcheck.Get) health.Func {
	return func(ctx context.Context) error {
		o, err := s.pg.observe(ctx)
		s.store(o)
		s.updateRead(o)
		if patroni != nil {
			if res := patroni.Check(ctx); !res.Up {
				return errors.New("not the primary according to Patroni: " + res.Reason)
			}
			return nil
		}
		switch {
		case err != nil:
			return fmt.Errorf("local Postgres unreachable: %w", err)
		case o.Role != rolePrimary:
			return errors.New("local Postgres is a standby (pg_is_in_recovery)")
		}
		return nil
	}
}

// elect is elect mode's observer: every --check it reads the local
// Postgres and sets the write router's priority from it; a primary also
// asks its peers whether a newer primary exists.
func (s *sidecar) elect(ctx context.Context) {
	tick := time.NewTicker(s.opts.check)
	defer tick.Stop()
	for {
		s.electOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *sidecar) electOnce(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, max(s.opts.check, time.Second))
	o, err := s.pg.observe(qctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	s.store(o)
	s.updateRead(o)
	if err != nil {
		s.track(s.write, fault(trackPostgres, "Postgres unreachable: "+err.Error()))
		return
	}
	s.mu.Lock()
	fenced, streamedAt := s.fenced, s.streamedAt
	s.mu.Unlock()
	switch o.Role {
	case roleStandby:
		if fenced != "" {
			s.mu.Lock()
			s.fenced = ""
			s.mu.Unlock()
			s.track(s.write, up(trackFence, "a standby now"))
			s.decide("rejoined", "Postgres is a standby again")
		}
		s.setPriority(s.write, standbyPriority(s.opts.priority, &o, streamedAt, s.opts.replayLagStep))
		s.track(s.write, up(trackPostgres, "standby"))
		s.followNewPrimary(ctx, o)
	case rolePrimary:
		if fenced == "" {
			pctx, cancel := context.WithTimeout(ctx, s.opts.peerTimeout)
			peers := s.peers.fetchAll(pctx, s.opts.peerStatus)
			cancel()
			if stale, why := decideStale(o, s.write.State() == vrrp.Master, peers); stale {
				s.fence(ctx, why)
				return
			}
		}
		if fenced != "" {
			return
		}
		s.setPriority(s.write, s.opts.priority)
		s.track(s.write, up(trackPostgres, "primary"))
		s.restoreSync(ctx, o)
	}
}

// followNewPrimary restarts the WAL receiver when a new primary holds the
// VIP: after a cut or a partition the receiver may still wait on the old
// primary's connection, and would notice only at wal_receiver_timeout
// (60 s by default), holding back synchronous commits on the new primary
// all that time. The startup process starts a new receiver, which
// connects to the VIP (primary_conninfo), now the new primary's.
func (s *sidecar) followNewPrimary(ctx context.Context, o observation) {
	m := s.write.Master()
	s.mu.Lock()
	done := !m.IsValid() || m == s.followed
	s.mu.Unlock()
	if done {
		return
	}
	addr := ""
	for _, p := range s.opts.peerStatus {
		if ap, err := netip.ParseAddrPort(p); err == nil && ap.Addr() == m {
			addr = p
		}
	}
	var st *peerStatus
	if addr != "" {
		pctx, cancel := context.WithTimeout(ctx, s.opts.peerTimeout)
		var err error
		st, err = s.peers.fetch(pctx, addr)
		cancel()
		if err != nil || st.Role != rolePrimary {
			return // ask again at the next check: it may be promoting
		}
	}
	s.mu.Lock()
	s.followed = m
	s.mu.Unlock()
	if st == nil || st.Timeline <= o.Timeline || o.WALReceiver == "" {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, max(s.opts.check, time.Second))
	defer cancel()
	if err := s.act.restartWALReceiver(qctx); err != nil {
		s.decide("restart WAL receiver failed", err.Error())
		return
	}
	s.decide("follow the new primary", fmt.Sprintf("%v is primary on timeline %d, we received timeline %d: WAL receiver restarted", m, st.Timeline, o.Timeline))
}

// fence takes a stale primary out of VRRP and, if so configured, demotes
// it in the background.
func (s *sidecar) fence(ctx context.Context, why string) {
	s.mu.Lock()
	s.fenced = why
	start := s.opts.stalePrimary == stalePrimaryDemote && !s.demoting
	if start {
		s.demoting = true
	}
	s.mu.Unlock()
	s.track(s.write, fault(trackFence, "stale primary: "+why))
	if !start {
		s.decide("fenced", why+"; not serving writes through the VIP (--stale-primary fence)")
		return
	}
	s.decide("fenced", why+"; demoting")
	go func() {
		err := s.demote(ctx)
		s.mu.Lock()
		s.demoting = false
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.decide("demote failed", err.Error()+"; fenced until the sidecar is restarted")
		}
	}()
}

// restoreSync undoes --relax-sync once a standby streams again.
func (s *sidecar) restoreSync(ctx context.Context, o observation) {
	if !s.opts.relaxSync || o.Streaming == 0 {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, max(s.opts.check, time.Second))
	defer cancel()
	relaxed, err := s.act.syncRelaxed(qctx)
	if err != nil || !relaxed {
		return
	}
	if err := s.act.setSyncStandbyNames(qctx, false); err != nil {
		s.decide("restore synchronous replication failed", err.Error())
		return
	}
	s.decide("synchronous replication restored", strconv.Itoa(o.Streaming)+" standby streaming")
}

// updateRead sets the read VIP's router from an observation.
func (s *sidecar) updateRead(o observation) {
	if s.read == nil {
		return
	}
	prio, isFault, why := readPriority(&o, s.opts.replayLagStep)
	if isFault {
		s.track(s.read, fault(trackReplica, why))
		return
	}
	s.setPriority(s.read, prio)
	s.track(s.read, up(trackReplica, why))
}

// gather asks everything the fencing rule needs, at once.
func (s *sidecar) gather(ctx context.Context, own observation) fenceInput {
	in := fenceInput{Self: s.write.Master(), Own: own}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		in.Witnesses = askWitnesses(ctx, s.opts.witnesses, s.opts.peerTimeout)
	}()
	go func() {
		defer wg.Done()
		pctx, cancel := context.WithTimeout(ctx, s.opts.peerTimeout)
		defer cancel()
		in.Peers = s.peers.fetchAll(pctx, s.opts.peerStatus)
	}()
	go func() {
		defer wg.Done()
		in.UpstreamAlive, in.UpstreamWhat = s.upstreamAlive(ctx, own)
	}()
	wg.Wait()
	return in
}

// upstreamAlive reports whether the server our WAL receiver streams from
// still accepts connections.
func (s *sidecar) upstreamAlive(ctx context.Context, o observation) (bool, string) {
	if o.WALReceiver == "" || o.UpstreamHost == "" {
		return false, "no WAL receiver running"
	}
	if len(o.UpstreamHost) > 0 && o.UpstreamHost[0] == '/' {
		// A primary on this host, over a unix socket: its sidecar is ours.
		return o.WALReceiver == "streaming", "streaming over a unix socket"
	}
	addr := net.JoinHostPort(o.UpstreamHost, strconv.Itoa(o.UpstreamPort))
	d := net.Dialer{Timeout: s.opts.peerTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, addr + ": " + err.Error()
	}
	c.Close()
	return true, addr + " accepts connections"
}

// quoteConn quotes a libpq keyword/value value.
func quoteConn(v string) string {
	out := []byte{'\''}
	for i := 0; i < len(v); i++ {
		if v[i] == '\'' || v[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, v[i])
	}
	return string(append(out, '\''))
}
