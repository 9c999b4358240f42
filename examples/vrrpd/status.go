package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// defaultStatusAddr is where "vrrpd status" looks without --status.
const defaultStatusAddr = "unix:/run/vrrpd.sock"

// statusPath is the endpoint's one URL.
const statusPath = "/status"

// Status is the document the status endpoint serves: who owns which VIPs.
type Status struct {
	RouterID   string           `json:"router_id,omitempty"`
	PID        int              `json:"pid"`
	ConfigFile string           `json:"config_file"`
	LoadedAt   time.Time        `json:"loaded_at"`
	Started    bool             `json:"started"` // false during vrrp_startup_delay
	Instances  []InstanceStatus `json:"instances"`
	SyncGroups []GroupStatus    `json:"sync_groups,omitempty"`
}

// InstanceStatus is one vrrp_instance.
type InstanceStatus struct {
	Name         string          `json:"name"`
	VRID         int             `json:"vrid"`
	Interface    string          `json:"interface"`
	Family       string          `json:"family"` // "ipv4" or "ipv6"
	Version      int             `json:"version"`
	State        string          `json:"state"` // INIT, BACKUP, MASTER, FAULT
	Since        time.Time       `json:"since"`
	Priority     int             `json:"priority"`      // effective
	BasePriority int             `json:"base_priority"` // configured
	Master       string          `json:"master,omitempty"`
	VIPs         []string        `json:"vips"`
	ExcludedVIPs []string        `json:"excluded_vips,omitempty"`
	AdvertInt    string          `json:"advert_int"`
	Preempt      bool            `json:"preempt"`
	Unicast      bool            `json:"unicast"`
	SyncGroup    string          `json:"sync_group,omitempty"`
	Trackers     []TrackerStatus `json:"trackers,omitempty"`
	Counters     Counters        `json:"counters"`
	// AuthHMAC is the auth_hmac in force (ids and lengths of the keys,
	// never their bytes), if any.
	AuthHMAC *HMACStatus `json:"auth_hmac,omitempty"`
	// OtherVersion is the last router heard on this VRID speaking the
	// other VRRP version (keepalived defaults to 2, vrrpd to 3): the two
	// do not hear each other.
	OtherVersion *OtherVersionStatus `json:"other_version_peer,omitempty"`
	Position     string              `json:"position"` // file:line of the vrrp_instance
}

// OtherVersionStatus is vrrp.OtherVersionPeer.
type OtherVersionStatus struct {
	Address  string    `json:"address"`
	Version  int       `json:"version"`
	LastSeen time.Time `json:"last_seen"`
}

// TrackerStatus is one tracked object as one instance sees it.
type TrackerStatus struct {
	Name   string `json:"name"` // "script chk_haproxy", "interface eth1", ...
	Up     bool   `json:"up"`
	Delta  int    `json:"delta"`
	Fault  bool   `json:"fault"`
	Reason string `json:"reason,omitempty"`
}

// Counters are vrrp.Stats.
type Counters struct {
	AdvertsReceived      uint64            `json:"adverts_received"`
	AdvertsSent          uint64            `json:"adverts_sent"`
	PriorityZeroReceived uint64            `json:"priority_zero_received"`
	PriorityZeroSent     uint64            `json:"priority_zero_sent"`
	BecameMaster         uint64            `json:"became_master"`
	LeftMaster           uint64            `json:"left_master"`
	AddressListMismatch  uint64            `json:"address_list_mismatch"`
	SendErrors           uint64            `json:"send_errors"`
	BackendErrors        uint64            `json:"backend_errors"`
	EventsLost           uint64            `json:"events_lost"`
	Drops                map[string]uint64 `json:"drops,omitempty"` // by reason, only those not zero
}

// GroupStatus is one vrrp_sync_group.
type GroupStatus struct {
	Name    string   `json:"name"`
	State   string   `json:"state,omitempty"`
	Members []string `json:"members"`
}

func counters(s vrrp.Stats) Counters {
	c := Counters{
		AdvertsReceived: s.AdvertsReceived, AdvertsSent: s.AdvertsSent,
		PriorityZeroReceived: s.PriorityZeroReceived, PriorityZeroSent: s.PriorityZeroSent,
		BecameMaster: s.BecameMaster, LeftMaster: s.LeftMaster, AddressListMismatch: s.AddressListMismatch,
		SendErrors: s.SendErrors, BackendErrors: s.BackendErrors, EventsLost: s.EventsLost,
	}
	for i, n := range s.Drops {
		if n == 0 {
			continue
		}
		if c.Drops == nil {
			c.Drops = make(map[string]uint64)
		}
		c.Drops[vrrp.DropReason(i).String()] = n
	}
	return c
}

// status takes a snapshot of the daemon.
func (d *daemon) status(configFile string) Status {
	d.mu.Lock()
	st := Status{RouterID: d.plan.conf.Global.RouterID, PID: os.Getpid(), ConfigFile: configFile,
		LoadedAt: d.loadedAt, Started: d.started}
	d.mu.Unlock()
	st.Instances = []InstanceStatus{}
	for _, in := range d.instanceList() {
		st.Instances = append(st.Instances, in.status())
	}
	st.SyncGroups = d.groupStatus()
	return st
}

// groupStatus snapshots the sync groups by name, under d.mu: a reload
// replaces their plans.
func (d *daemon) groupStatus() []GroupStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []GroupStatus
	for _, g := range d.groups {
		out = append(out, GroupStatus{Name: g.plan.group.Name, State: g.state,
			Members: slices.Clone(g.plan.group.Members)})
	}
	slices.SortFunc(out, func(a, b GroupStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (in *instance) status() InstanceStatus {
	cfg := in.r.Config()
	fam := "ipv4"
	if cfg.IPv6 {
		fam = "ipv6"
	}
	s := InstanceStatus{
		Name: cfg.Name, VRID: cfg.VRID, Interface: cfg.Interface, Family: fam, Version: cfg.Version,
		State: in.r.State().String(), Priority: in.r.Priority(), BasePriority: cfg.Priority,
		VIPs: []string{}, AdvertInt: cfg.Interval.String(), Preempt: !cfg.NoPreempt, Unicast: len(cfg.Peers) > 0,
		SyncGroup: cfg.SyncGroup, Counters: counters(in.r.Stats()), Position: in.plan.inst.Pos.String(),
	}
	if m := in.r.Master(); m.IsValid() {
		s.Master = m.String()
	}
	s.AuthHMAC = hmacStatus(cfg)
	if o := in.r.Stats().OtherVersion; o.From.IsValid() {
		s.OtherVersion = &OtherVersionStatus{Address: o.From.String(), Version: o.Version, LastSeen: o.LastSeen}
	}
	for _, v := range cfg.VIPs {
		text := v.Prefix.String()
		if v.Interface != "" && v.Interface != cfg.Interface {
			text += " dev " + v.Interface
		}
		if v.Excluded {
			s.ExcludedVIPs = append(s.ExcludedVIPs, text)
		} else {
			s.VIPs = append(s.VIPs, text)
		}
	}
	in.mu.Lock()
	s.Since = in.since
	for _, name := range in.trackOrder {
		t := in.tracks[name]
		s.Trackers = append(s.Trackers, TrackerStatus{Name: t.Name, Up: t.Up, Delta: t.Delta, Fault: t.Fault, Reason: t.Reason})
	}
	in.mu.Unlock()
	return s
}

// statusListen says how the status endpoint listens.
type statusListen struct {
	// gid is the unix socket's group; the owner is the daemon's user
	// (root) and the mode 0660, so that only root and that group read
	// the daemon's state.
	gid int
	// remote allows a TCP address other than loopback
	// (--status-remote): the endpoint has no authentication.
	remote bool
}

// listenStatus opens the status endpoint's listener: "unix:/path" (or a
// path starting with '/') is a unix socket with mode 0660, owned by the
// daemon's user and cfg.gid, replacing a socket left by a previous run
// but never one a running daemon serves on; anything else is a TCP
// host:port, on loopback unless cfg.remote.
func listenStatus(addr string, cfg statusListen) (net.Listener, error) {
	network, address := statusNetwork(addr)
	var l net.Listener
	var err error
	if network == "unix" {
		l, err = listenUnixStatus(address, cfg.gid)
	} else {
		l, err = listenTCPStatus(address, cfg.remote)
	}
	if err != nil {
		return nil, fmt.Errorf("status endpoint %s: %w", addr, err)
	}
	return l, nil
}

func listenTCPStatus(address string, remote bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	const why = "not a loopback address: the endpoint has no authentication (--status-remote allows it)"
	if ip, err := netip.ParseAddr(host); !remote && (host == "" || (err == nil && !ip.IsLoopback())) {
		return nil, errors.New(why)
	}
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	// A name ("localhost") is judged by what it resolved to.
	if ta, ok := l.Addr().(*net.TCPAddr); ok && !remote && !ta.IP.IsLoopback() {
		l.Close()
		return nil, errors.New(why)
	}
	return l, nil
}

// listenUnixStatus binds the socket in a private directory, sets its
// mode and group there and renames it into place: at no time can anyone
// else connect to a socket whose mode the umask chose.
func listenUnixStatus(path string, gid int) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, errors.New("exists and is not a socket")
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, errors.New("another daemon serves on it")
		}
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, err
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		l.Close()
		return nil, err
	}
	if err := os.Chown(tmp, os.Geteuid(), gid); err != nil {
		return fail(err)
	}
	if err := os.Chmod(tmp, 0o660); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &unixStatusListener{UnixListener: ul, path: path, fi: fi}, nil
}

// unixStatusListener removes its socket when closed, unless another
// daemon's has replaced it.
type unixStatusListener struct {
	*net.UnixListener
	path string
	fi   os.FileInfo
}

func (l *unixStatusListener) Close() error {
	if fi, err := os.Lstat(l.path); err == nil && os.SameFile(fi, l.fi) {
		os.Remove(l.path)
	}
	return l.UnixListener.Close()
}

func statusNetwork(addr string) (network, address string) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", p
	}
	if strings.HasPrefix(addr, "/") {
		return "unix", addr
	}
	return "tcp", addr
}

// statusGroup resolves --status-group (a name or a number); empty is the
// daemon's own group.
func statusGroup(name string) (int, error) {
	if name == "" {
		return os.Getegid(), nil
	}
	if gid, err := strconv.Atoi(name); err == nil && gid >= 0 {
		return gid, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("--status-group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}

// The endpoint speaks just enough HTTP/1.1 for curl, scripts and "vrrpd
// status": one GET per connection, answered and closed. It is written on
// net rather than net/http so that the daemon does not carry an HTTP stack
// (and TLS with it) for one JSON document — a third of its resident
// memory.

// maxRequest bounds a request's head.
const maxRequest = 8 << 10

// Defaults of statusServer: the daemon runs on one thread, so a few
// clients at a time, each given a bounded time to ask and to read.
const (
	maxStatusConns     = 8
	statusReadTimeout  = 2 * time.Second
	statusWriteTimeout = 5 * time.Second
	// acceptBackoffMax bounds the wait between two failed Accepts (out of
	// file descriptors: EMFILE, ENFILE), which start at 5 ms and double.
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// statusServer serves GET /status.
type statusServer struct {
	snapshot func() Status
	log      *zap.Logger
	// maxConns bounds the connections served at once; one more is told
	// 503 and closed.
	maxConns int
	// readTimeout bounds the time from accept to the end of the request
	// head, writeTimeout the time to write the answer.
	readTimeout, writeTimeout time.Duration
}

// serveStatus serves GET /status on l until ctx ends, with the default
// bounds.
func serveStatus(ctx context.Context, l net.Listener, snapshot func() Status, log *zap.Logger) {
	s := &statusServer{snapshot: snapshot, log: log, maxConns: maxStatusConns,
		readTimeout: statusReadTimeout, writeTimeout: statusWriteTimeout}
	s.serve(ctx, l)
}

// serve accepts until ctx ends or l is closed. A failing Accept (out of
// file descriptors) is retried with backoff, never the end of the
// endpoint.
func (s *statusServer) serve(ctx context.Context, l net.Listener) {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	slots := make(chan struct{}, s.maxConns)
	var backoff time.Duration
	failures := 0
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if failures == 0 {
				s.log.Warn("status endpoint: accept failed; retrying with backoff", zap.Error(err))
			}
			failures++
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		if failures > 0 {
			s.log.Info("status endpoint: accepting again after " + strconv.Itoa(failures) + " failed accepts")
			failures, backoff = 0, 0
		}
		select {
		case slots <- struct{}{}:
			go func() {
				defer func() { <-slots }()
				s.serveConn(c)
			}()
		default:
			s.busy(c)
		}
	}
}

// busy answers a connection beyond maxConns at once, without reading.
func (s *statusServer) busy(c net.Conn) {
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	body := "busy: too many status requests at once\n"
	_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

func (s *statusServer) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(s.readTimeout))
	method, target, err := readRequest(bufio.NewReaderSize(io.LimitReader(c, maxRequest), 1024))
	var code int
	var body []byte
	switch {
	case err != nil:
		code, body = 400, []byte(err.Error()+"\n")
	case target != statusPath && !strings.HasPrefix(target, statusPath+"?"):
		code, body = 404, []byte("not found: GET "+statusPath+"\n")
	case method != "GET" && method != "HEAD":
		code, body = 405, []byte("method not allowed: GET "+statusPath+"\n")
	default:
		code = 200
		body, err = json.MarshalIndent(s.snapshot(), "", "  ")
		if err != nil {
			code, body = 500, []byte(err.Error()+"\n")
		}
		body = append(body, '\n')
	}
	ctype := "text/plain; charset=utf-8"
	if code == 200 {
		ctype = "application/json"
	}
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		code, statusText(code), ctype, len(body))
	if method == "HEAD" {
		body = nil
	}
	_ = c.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	if _, err := c.Write(append([]byte(head), body...)); err != nil {
		s.log.Debug("status: write", zap.Error(err))
	}
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 503:
		return "Service Unavailable"
	}
	return "Internal Server Error"
}

// readRequest reads a request head: "METHOD TARGET HTTP/1.x", headers
// (ignored), an empty line.
func readRequest(r *bufio.Reader) (method, target string, err error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", "", errors.New("incomplete request")
	}
	f := strings.Fields(line)
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		return "", "", errors.New("malformed request line")
	}
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			return "", "", errors.New("incomplete request head")
		}
		if strings.TrimRight(h, "\r\n") == "" {
			return f[0], f[1], nil
		}
	}
}

// fetchStatus is the client: one GET of addr's status.
func fetchStatus(ctx context.Context, addr string) (*Status, error) {
	network, address := statusNetwork(addr)
	fail := func(err error) (*Status, error) { return nil, fmt.Errorf("vrrpd status %s: %w", addr, err) }
	var d net.Dialer
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	host := "vrrpd"
	if network == "tcp" {
		host = address
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", statusPath, host); err != nil {
		return fail(err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return fail(fmt.Errorf("reading the answer: %w", err))
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return fail(fmt.Errorf("not an HTTP answer: %q", strings.TrimSpace(line)))
	}
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			return fail(fmt.Errorf("reading the answer: %w", err))
		}
		if strings.TrimRight(h, "\r\n") == "" {
			break
		}
	}
	body, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return fail(err)
	}
	if f[1] != "200" {
		return fail(fmt.Errorf("%s: %s", strings.Join(f[1:], " "), strings.TrimSpace(string(body))))
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fail(err)
	}
	return &st, nil
}
