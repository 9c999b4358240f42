package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// Modes of operation.
const (
	modeFollow = "follow" // replication is managed elsewhere; the VIP follows the primary
	modeElect  = "elect"  // the sidecars decide failover and promote a standby
)

// What a primary does when it finds a newer primary.
const (
	stalePrimaryDemote = "demote" // stop, pg_rewind, start as a standby
	stalePrimaryFence  = "fence"  // stay out of VRRP and leave Postgres alone
)

// options are the command line, checked.
type options struct {
	help bool

	iface    string
	vrid     int
	vips     []netip.Prefix
	peers    []netip.Addr
	priority int
	interval time.Duration

	readVRID int
	readVIPs []netip.Prefix

	dsn     string
	patroni string
	mode    string
	check   time.Duration

	witnesses   []witness
	peerStatus  []string
	peerTimeout time.Duration
	status      []string

	pgdata        string
	pgbin         string
	pglog         string
	rewindSource  string
	stalePrimary  string
	relaxSync     bool
	replayLagStep int64

	debug bool
}

// usageText is --help.
const usageText = `Usage: pgsidecar --interface IFACE --vrid N --vip ADDR/LEN [options]

Puts a virtual IP on the PostgreSQL primary with VRRP, one sidecar per
Postgres server, no DCS. Run it as the postgres user with CAP_NET_ADMIN and
CAP_NET_RAW (no root needed).

VRRP:
  --interface IFACE      interface the VRRP adverts and the VIPs go on (required)
  --vrid N               virtual router id of the write VIP, 1..255 (required)
  --vip ADDR/LEN         the write VIP, repeatable (at least one)
  --peer ADDR            unicast peer, repeatable; none means multicast
  --priority N           VRRP priority of the primary, 2..254 (default 200);
                         in elect mode standbys advertise less (see README)
  --interval DURATION    advertisement interval, 10ms steps (default 1s)
  --read-vrid N          virtual router id of the read VIP
  --read-vip ADDR/LEN    a read VIP on a healthy standby, repeatable

PostgreSQL:
  --dsn DSN              how to reach the local Postgres (libpq keyword/value or
                         URL; default "host=/var/run/postgresql dbname=postgres")
  --mode follow|elect    follow: replication is managed elsewhere, the VIP goes
                         to whichever server is primary (default);
                         elect: the sidecars elect and promote a standby
  --check DURATION       how often Postgres is checked (default: --interval)
  --patroni URL          follow mode: ask Patroni's REST API (GET URL/primary)
                         instead of pg_is_in_recovery()

Fencing (elect mode):
  --witness ADDR         a witness a cut-off node cannot reach: IP (ICMP echo)
                         or IP:PORT (TCP connect), repeatable; at least one must
                         answer before a standby promotes itself
  --peer-status HOST:PORT  another node's sidecar status endpoint, repeatable;
                         with two or more, a majority of the cluster must be
                         reachable and none may report a primary
  --peer-timeout DURATION  bound on each peer and witness query (default 500ms)
  --pgdata DIR           the data directory (for demotion)
  --pgbin DIR            where pg_ctl and pg_rewind are (for demotion)
  --pglog FILE           pg_ctl's log when the sidecar starts Postgres
                         (default: DIR/pgsidecar-postgres.log)
  --rewind-source DSN    pg_rewind's source (default: the first --vip, the
                         user and database of --dsn)
  --stale-primary demote|fence
                         a primary that finds a newer primary demotes itself
                         (stop, pg_rewind, start as standby; needs --pgdata and
                         --pgbin) or stays fenced (default demote with
                         --pgdata, else fence)
  --relax-sync           a standby that promotes itself while no other standby
                         is reachable turns synchronous replication off until
                         a standby streams again (2-node clusters)
  --replay-lag-step BYTES  replay lag that costs one priority point (default 65536)

Operation:
  --status ADDR          status endpoint (GET /status, JSON): unix:PATH or
                         HOST:PORT, repeatable (default
                         unix:/var/run/postgresql/pgsidecar.sock); peers need HOST:PORT
  --debug                log at debug level
  --help                 this text
`

// repeated collects a repeatable flag.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

// parseOptions parses and checks the command line.
func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("pgsidecar", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o := &options{}
	var vips, peers, readVIPs, witnesses, peerStatus, status repeated
	var interval, check, peerTimeout string
	fs.BoolVar(&o.help, "help", false, "")
	fs.BoolVar(&o.help, "h", false, "")
	fs.StringVar(&o.iface, "interface", "", "")
	fs.IntVar(&o.vrid, "vrid", 0, "")
	fs.Var(&vips, "vip", "")
	fs.Var(&peers, "peer", "")
	fs.IntVar(&o.priority, "priority", 200, "")
	fs.StringVar(&interval, "interval", "1s", "")
	fs.IntVar(&o.readVRID, "read-vrid", 0, "")
	fs.Var(&readVIPs, "read-vip", "")
	fs.StringVar(&o.dsn, "dsn", "host=/var/run/postgresql dbname=postgres", "")
	fs.StringVar(&o.patroni, "patroni", "", "")
	fs.StringVar(&o.mode, "mode", modeFollow, "")
	fs.StringVar(&check, "check", "", "")
	fs.Var(&witnesses, "witness", "")
	fs.Var(&peerStatus, "peer-status", "")
	fs.StringVar(&peerTimeout, "peer-timeout", "500ms", "")
	fs.Var(&status, "status", "")
	fs.StringVar(&o.pgdata, "pgdata", "", "")
	fs.StringVar(&o.pgbin, "pgbin", "", "")
	fs.StringVar(&o.pglog, "pglog", "", "")
	fs.StringVar(&o.rewindSource, "rewind-source", "", "")
	fs.StringVar(&o.stalePrimary, "stale-primary", "", "")
	fs.BoolVar(&o.relaxSync, "relax-sync", false, "")
	fs.Int64Var(&o.replayLagStep, "replay-lag-step", 64<<10, "")
	fs.BoolVar(&o.debug, "debug", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.help {
		return o, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	var err error
	if o.iface == "" {
		return nil, errors.New("--interface is required")
	}
	if o.vrid < 1 || o.vrid > 255 {
		return nil, fmt.Errorf("--vrid %d: want 1..255", o.vrid)
	}
	if o.vips, err = parsePrefixes("--vip", vips); err != nil {
		return nil, err
	}
	if len(o.vips) == 0 {
		return nil, errors.New("--vip is required")
	}
	for _, p := range peers {
		a, err := netip.ParseAddr(p)
		if err != nil {
			return nil, fmt.Errorf("--peer %q: %w", p, err)
		}
		o.peers = append(o.peers, a)
	}
	if o.priority < 2 || o.priority > 254 {
		return nil, fmt.Errorf("--priority %d: want 2..254 (255 would make a node the address owner)", o.priority)
	}
	if o.interval, err = time.ParseDuration(interval); err != nil {
		return nil, fmt.Errorf("--interval: %w", err)
	}
	if o.readVIPs, err = parsePrefixes("--read-vip", readVIPs); err != nil {
		return nil, err
	}
	switch {
	case len(o.readVIPs) > 0 && (o.readVRID < 1 || o.readVRID > 255):
		return nil, fmt.Errorf("--read-vip needs --read-vrid 1..255")
	case len(o.readVIPs) == 0 && o.readVRID != 0:
		return nil, errors.New("--read-vrid without --read-vip")
	case o.readVRID == o.vrid:
		return nil, fmt.Errorf("--read-vrid %d is --vrid too", o.readVRID)
	}
	if o.dsn == "" {
		return nil, errors.New("--dsn is empty")
	}
	o.check = o.interval
	if check != "" {
		if o.check, err = time.ParseDuration(check); err != nil {
			return nil, fmt.Errorf("--check: %w", err)
		}
	}
	if o.check < 10*time.Millisecond {
		return nil, fmt.Errorf("--check %v: want at least 10ms", o.check)
	}
	if o.peerTimeout, err = time.ParseDuration(peerTimeout); err != nil {
		return nil, fmt.Errorf("--peer-timeout: %w", err)
	}
	if o.peerTimeout <= 0 {
		return nil, fmt.Errorf("--peer-timeout %v: want more than 0", o.peerTimeout)
	}
	for _, w := range witnesses {
		wt, err := parseWitness(w)
		if err != nil {
			return nil, fmt.Errorf("--witness %q: %w", w, err)
		}
		o.witnesses = append(o.witnesses, wt)
	}
	for _, p := range peerStatus {
		if _, err := netip.ParseAddrPort(p); err != nil {
			return nil, fmt.Errorf("--peer-status %q: want IP:PORT: %w", p, err)
		}
		o.peerStatus = append(o.peerStatus, p)
	}
	o.status = status
	if len(o.status) == 0 {
		o.status = []string{"unix:/var/run/postgresql/pgsidecar.sock"}
	}
	if o.replayLagStep < 1 {
		return nil, fmt.Errorf("--replay-lag-step %d: want at least 1", o.replayLagStep)
	}

	switch o.mode {
	case modeFollow:
		if len(o.witnesses) > 0 || len(o.peerStatus) > 0 || o.relaxSync || o.stalePrimary != "" {
			return nil, errors.New("--witness, --peer-status, --relax-sync and --stale-primary are for --mode elect")
		}
	case modeElect:
		if o.patroni != "" {
			return nil, errors.New("--patroni is for --mode follow (Patroni decides failover itself)")
		}
		// A lone, cut-off node must not pass the fencing rule: with one
		// peer (two nodes) only a witness can tell the two apart.
		if len(o.peerStatus) < 2 && len(o.witnesses) == 0 {
			return nil, errors.New("--mode elect needs --witness, or --peer-status for at least two other nodes")
		}
		if o.stalePrimary == "" {
			o.stalePrimary = stalePrimaryFence
			if o.pgdata != "" {
				o.stalePrimary = stalePrimaryDemote
			}
		}
		switch o.stalePrimary {
		case stalePrimaryFence:
		case stalePrimaryDemote:
			if o.pgdata == "" || o.pgbin == "" {
				return nil, errors.New("--stale-primary demote needs --pgdata and --pgbin")
			}
		default:
			return nil, fmt.Errorf("--stale-primary %q: want demote or fence", o.stalePrimary)
		}
		if o.pglog == "" && o.pgdata != "" {
			o.pglog = o.pgdata + "/pgsidecar-postgres.log"
		}
	default:
		return nil, fmt.Errorf("--mode %q: want follow or elect", o.mode)
	}
	return o, nil
}

func parsePrefixes(name string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want ADDR/LEN: %w", name, v, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// witness is one --witness: an ICMP echo target, or a TCP address when
// Port is set.
type witness struct {
	Addr netip.Addr
	Port uint16
}

func (w witness) String() string {
	if w.Port != 0 {
		return netip.AddrPortFrom(w.Addr, w.Port).String()
	}
	return w.Addr.String()
}

func parseWitness(s string) (witness, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return witness{}, errors.New("port 0")
		}
		return witness{Addr: ap.Addr(), Port: ap.Port()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return witness{}, errors.New("want IP or IP:PORT")
	}
	return witness{Addr: a}, nil
}
