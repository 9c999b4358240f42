package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
)

// statusPath is the status endpoint's one URL.
const statusPath = "/status"

// statusDoc is what GET /status answers.
type statusDoc struct {
	Mode      string     `json:"mode"`
	Role      string     `json:"role"`       // primary, standby, unknown
	VRRPState string     `json:"vrrp_state"` // MASTER, BACKUP, FAULT, INIT
	Priority  int        `json:"priority"`
	Master    netip.Addr `json:"master"` // the write router's current master ("" unknown)
	VIPs      []string   `json:"vips"`
	Fenced    bool       `json:"fenced"`
	FencedWhy string     `json:"fenced_reason,omitempty"`

	Timeline         uint32    `json:"timeline"`
	ReceiveLSN       lsn       `json:"receive_lsn"`
	ReplayLSN        lsn       `json:"replay_lsn"`
	ReplayLagBytes   int64     `json:"replay_lag_bytes"`
	ReplayPaused     bool      `json:"replay_paused"`
	WALReceiver      string    `json:"wal_receiver"`
	SyncStandby      bool      `json:"sync_standby"`
	StreamingClients int       `json:"streaming_standbys"`
	PostgresError    string    `json:"postgres_error,omitempty"`
	CheckedAt        time.Time `json:"checked_at"`

	Decision  decision   `json:"decision"`
	Decisions []decision `json:"recent_decisions"`

	Read *readDoc `json:"read_vip,omitempty"`
}

type readDoc struct {
	VRRPState string     `json:"vrrp_state"`
	Priority  int        `json:"priority"`
	Master    netip.Addr `json:"master"`
	VIPs      []string   `json:"vips"`
}

func (s *sidecar) status() statusDoc {
	s.mu.Lock()
	o, decisions, fenced := s.obs, append([]decision(nil), s.decisions...), s.fenced
	s.mu.Unlock()
	d := statusDoc{
		Mode: s.opts.mode, Role: o.Role, VRRPState: s.write.State().String(), Priority: int(s.write.Priority()),
		Master: s.write.Master(), VIPs: prefixStrings(s.opts.vips), Fenced: fenced != "", FencedWhy: fenced,
		Timeline: o.Timeline, ReceiveLSN: o.ReceiveLSN, ReplayLSN: o.ReplayLSN, ReplayLagBytes: o.replayLag(),
		ReplayPaused: o.ReplayPaused, WALReceiver: o.WALReceiver, SyncStandby: o.SyncStandby,
		StreamingClients: o.Streaming, PostgresError: o.Err, CheckedAt: o.Time, Decisions: decisions,
	}
	if d.Role == "" {
		d.Role = roleUnknown
	}
	if n := len(decisions); n > 0 {
		d.Decision = decisions[n-1]
	}
	if s.read != nil {
		d.Read = &readDoc{VRRPState: s.read.State().String(), Priority: int(s.read.Priority()),
			Master: s.read.Master(), VIPs: prefixStrings(s.opts.readVIPs)}
	}
	return d
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// statusServers are the status endpoint's listeners.
type statusServers struct {
	srv     *http.Server
	sockets []string
}

// startStatus serves GET /status on each address: "unix:PATH" (a socket
// left by an earlier run is replaced) or "HOST:PORT".
func startStatus(addrs []string, snapshot func() statusDoc, log *zap.Logger) (*statusServers, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+statusPath, func(w http.ResponseWriter, _ *http.Request) {
		body, err := json.MarshalIndent(snapshot(), "", "  ")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	})
	ss := &statusServers{srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      5 * time.Second,
		IdleTimeout:       10 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("status")),
	}}
	var ls []net.Listener
	for _, a := range addrs {
		network, address := "tcp", a
		if p, ok := strings.CutPrefix(a, "unix:"); ok {
			network, address = "unix", p
			if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
				os.Remove(p)
			}
		}
		l, err := net.Listen(network, address)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("--status %s: %w", a, err)
		}
		if network == "unix" {
			ss.sockets = append(ss.sockets, address)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		go func() {
			if err := ss.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("status endpoint stopped", zap.Error(err))
			}
		}()
	}
	return ss, nil
}

func (ss *statusServers) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = ss.srv.Shutdown(ctx)
	for _, p := range ss.sockets {
		os.Remove(p)
	}
}
