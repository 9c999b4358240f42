package hetzner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// FloatingIPConfig configures NewFloatingIP.
type FloatingIPConfig struct {
	// Token authenticates to the API. Required.
	Token Token
	// FloatingIPID is the floating IP's ID. Required.
	FloatingIPID int64
	// ServerID is this server. Default: the metadata service's.
	ServerID int64
	// Endpoint is the API's base URL. Default https://api.hetzner.cloud/v1.
	Endpoint string
	// MetadataEndpoint is the metadata service's base URL. Default
	// http://169.254.169.254/hetzner/v1/metadata.
	MetadataEndpoint string
	// HTTPClient makes the requests. Default: one with a 10 s timeout.
	HTTPClient *http.Client
	// Options are the cloud Backend's.
	Options cloud.Options
}

// NewFloatingIP returns a backend that assigns a floating IP to this
// server (POST /floating_ips/{id}/actions/assign) and waits until the API
// shows it assigned here.
func NewFloatingIP(cfg FloatingIPConfig) (*cloud.Backend, error) {
	if cfg.Token.IsZero() {
		return nil, errors.New("hetzner: floating IP: Token required")
	}
	if cfg.FloatingIPID <= 0 {
		return nil, errors.New("hetzner: floating IP: FloatingIPID required")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "https://api.hetzner.cloud/v1"
	}
	if cfg.MetadataEndpoint == "" {
		cfg.MetadataEndpoint = "http://169.254.169.254/hetzner/v1/metadata"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	cfg.MetadataEndpoint = strings.TrimRight(cfg.MetadataEndpoint, "/")
	return cloud.New(&floatingIP{cfg: cfg, server: cfg.ServerID}, cfg.Options)
}

type floatingIP struct {
	cfg FloatingIPConfig

	mu     sync.Mutex
	server int64
}

func (p *floatingIP) Name() string { return "hetzner-floating-ip" }

// serverID is this server's ID: configured, else the metadata service's.
func (p *floatingIP) serverID(ctx context.Context) (int64, error) {
	p.mu.Lock()
	id := p.server
	p.mu.Unlock()
	if id != 0 {
		return id, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.MetadataEndpoint+"/instance-id", nil)
	if err != nil {
		return 0, cloud.Permanent(err)
	}
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metadata instance-id: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metadata instance-id: %s", resp.Status)
	}
	id, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || id <= 0 {
		return 0, cloud.Permanent(fmt.Errorf("metadata instance-id: %q is not a server ID", b))
	}
	p.mu.Lock()
	p.server = id
	p.mu.Unlock()
	return id, nil
}

// apiError is the API's error answer.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// call sends one request and decodes the answer into out.
func (p *floatingIP) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return cloud.Permanent(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.cfg.Endpoint+path, rd)
	if err != nil {
		return cloud.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.Token.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		e.Error.Status = resp.StatusCode
		err := fmt.Errorf("%s %s: %w", method, path, &e.Error)
		return classify(resp.StatusCode, e.Error.Code, err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// classify: 429, 5xx and a resource locked by another action are retried;
// other 4xx answers (a wrong token, ID or input) are not.
func classify(status int, code string, err error) error {
	switch {
	case status == http.StatusTooManyRequests, status >= 500, code == "locked", code == "conflict", code == "rate_limit_exceeded":
		return err
	case status >= 400:
		return cloud.Permanent(err)
	}
	return err
}

// assignedTo is the server the floating IP is assigned to (0: none).
func (p *floatingIP) assignedTo(ctx context.Context) (int64, error) {
	var out struct {
		FloatingIP struct {
			Server *int64 `json:"server"`
		} `json:"floating_ip"`
	}
	if err := p.call(ctx, http.MethodGet, "/floating_ips/"+strconv.FormatInt(p.cfg.FloatingIPID, 10), nil, &out); err != nil {
		return 0, err
	}
	if out.FloatingIP.Server == nil {
		return 0, nil
	}
	return *out.FloatingIP.Server, nil
}

func (p *floatingIP) Claim(ctx context.Context, set vrrp.AddressSet) error {
	self, err := p.serverID(ctx)
	if err != nil {
		return err
	}
	path := "/floating_ips/" + strconv.FormatInt(p.cfg.FloatingIPID, 10) + "/actions/assign"
	return p.call(ctx, http.MethodPost, path, map[string]int64{"server": self}, nil)
}

func (p *floatingIP) Held(ctx context.Context, set vrrp.AddressSet) (bool, error) {
	self, err := p.serverID(ctx)
	if err != nil {
		return false, err
	}
	on, err := p.assignedTo(ctx)
	return err == nil && on == self, err
}

// Unclaim leaves the floating IP: the next master's assignment moves it.
// Giving it up is not offered because the API's unassign is not
// conditional: between a check and the unassign another server may have
// claimed it, and the unassign would take it from the new master.
func (p *floatingIP) Unclaim(context.Context, vrrp.AddressSet) error { return nil }
