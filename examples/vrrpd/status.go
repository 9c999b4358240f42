package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
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
	VRID         uint8           `json:"vrid"`
	Interface    string          `json:"interface"`
	Family       string          `json:"family"` // "ipv4" or "ipv6"
	Version      uint8           `json:"version"`
	State        string          `json:"state"` // INIT, BACKUP, MASTER, FAULT
	Since        time.Time       `json:"since"`
	Priority     uint8           `json:"priority"`      // effective
	BasePriority uint8           `json:"base_priority"` // configured
	Master       string          `json:"master,omitempty"`
	VIPs         []string        `json:"vips"`
	ExcludedVIPs []string        `json:"excluded_vips,omitempty"`
	AdvertInt    string          `json:"advert_int"`
	Preempt      bool            `json:"preempt"`
	Unicast      bool            `json:"unicast"`
	SyncGroup    string          `json:"sync_group,omitempty"`
	Trackers     []TrackerStatus `json:"trackers,omitempty"`
	Counters     Counters        `json:"counters"`
	Position     string          `json:"position"` // file:line of the vrrp_instance
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

// listenStatus opens the status endpoint's listener: "unix:/path" (or a
// path starting with '/') is a unix socket, replaced if one is left from a
// previous run; anything else is a TCP host:port.
func listenStatus(addr string) (net.Listener, error) {
	network, address := statusNetwork(addr)
	if network == "unix" {
		if fi, err := os.Lstat(address); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(address)
		}
	}
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("status endpoint: %w", err)
	}
	return l, nil
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

// The endpoint speaks just enough HTTP/1.1 for curl, scripts and "vrrpd
// status": one GET per connection, answered and closed. It is written on
// net rather than net/http so that the daemon does not carry an HTTP stack
// (and TLS with it) for one JSON document — a third of its resident
// memory.

// maxRequest bounds a request's head.
const maxRequest = 8 << 10

// serveStatus serves GET /status on l until ctx ends.
func serveStatus(ctx context.Context, l net.Listener, snapshot func() Status, log *zap.Logger) {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				log.Error("status endpoint stopped", zap.Error(err))
			}
			return
		}
		go serveStatusConn(c, snapshot, log)
	}
}

func serveStatusConn(c net.Conn, snapshot func() Status, log *zap.Logger) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
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
		body, err = json.MarshalIndent(snapshot(), "", "  ")
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
	if _, err := c.Write(append([]byte(head), body...)); err != nil {
		log.Debug("status: write", zap.Error(err))
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
