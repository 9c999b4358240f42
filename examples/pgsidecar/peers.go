package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// maxStatusBody bounds what a peer may send: its answer is read in full
// before it is parsed.
const maxStatusBody = 64 << 10

// peerStatus is what the fencing rule reads from a peer's /status. A
// peer is another machine on the network: its answer is checked field by
// field, and anything unexpected makes it unusable (as if unreachable).
type peerStatus struct {
	Role       string     `json:"role"`
	VRRPState  string     `json:"vrrp_state"`
	Master     netip.Addr `json:"master"`
	Timeline   uint32     `json:"timeline"`
	ReceiveLSN lsn        `json:"receive_lsn"`
	Fenced     bool       `json:"fenced"`
}

func (s *peerStatus) check() error {
	switch s.Role {
	case rolePrimary, roleStandby, roleUnknown:
	default:
		return fmt.Errorf("role %q", s.Role)
	}
	switch s.VRRPState {
	case "INIT", "BACKUP", "MASTER", "FAULT":
	default:
		return fmt.Errorf("vrrp_state %q", s.VRRPState)
	}
	return nil
}

// peerClient asks peers' sidecars for their status.
type peerClient struct {
	client *http.Client
}

func newPeerClient(timeout time.Duration) *peerClient {
	return &peerClient{client: &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                  nil, // peers are on the LAN, never behind a proxy from the environment
			DialContext:            (&net.Dialer{Timeout: timeout}).DialContext,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 8 << 10,
			ResponseHeaderTimeout:  timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not followed") },
	}}
}

// fetch asks one peer.
func (c *peerClient) fetch(ctx context.Context, addr string) (*peerStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+statusPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBody+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if len(body) > maxStatusBody {
		return nil, fmt.Errorf("answer longer than %d bytes", maxStatusBody)
	}
	var st peerStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	return &st, nil
}

// fetchAll asks every peer at once.
func (c *peerClient) fetchAll(ctx context.Context, addrs []string) []peerResult {
	out := make([]peerResult, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := c.fetch(ctx, a)
			out[i] = peerResult{Addr: a, Status: st, Err: err}
		}()
	}
	wg.Wait()
	return out
}
