package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// HTTP passes when a GET of URL answers with an expected status code and,
// if Body is set, a body that contains it (keepalived's HTTP_GET and
// SSL_GET, as a VRRP tracker). Redirects are not followed, proxies from the
// environment are not used, and every run opens a new connection.
type HTTP struct {
	// URL is what to GET: http:// or https://.
	URL string
	// Status lists the status codes that pass; empty means 200-299
	// (keepalived's status_code default).
	Status []int
	// Body, if not empty, must occur in the response body (only the first
	// MaxBody bytes are read).
	Body string
	// MaxBody bounds how much of the body is read; 0 means 1 MiB.
	MaxBody int64
	// Host overrides the Host header (keepalived's "virtualhost").
	Host string
	// Header is sent with the request.
	Header http.Header
	// TLS configures https (server name, roots, client certificates);
	// nil means the system's roots and the URL's host name.
	TLS *tls.Config

	once   sync.Once
	client *http.Client
}

func (h *HTTP) init() {
	h.client = &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{}).DialContext,
			TLSClientConfig:   h.TLS,
			DisableKeepAlives: true,
			ForceAttemptHTTP2: false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Check makes one request.
func (h *HTTP) Check(ctx context.Context) Result {
	h.once.Do(h.init)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return Result{Reason: err.Error()}
	}
	for k, v := range h.Header {
		req.Header[k] = v
	}
	if h.Host != "" {
		req.Host = h.Host
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{Reason: "GET " + h.URL + ": " + context.Cause(ctx).Error()}
		}
		return Result{Reason: err.Error()}
	}
	defer resp.Body.Close()
	if !h.statusOK(resp.StatusCode) {
		return Result{Reason: fmt.Sprintf("GET %s: status %d", h.URL, resp.StatusCode)}
	}
	if h.Body == "" {
		return Result{Up: true, Reason: fmt.Sprintf("status %d", resp.StatusCode)}
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return Result{Reason: fmt.Sprintf("GET %s: read body: %v", h.URL, err)}
	}
	if !bytes.Contains(body, []byte(h.Body)) {
		return Result{Reason: fmt.Sprintf("GET %s: status %d, body does not contain %q", h.URL, resp.StatusCode, h.Body)}
	}
	return Result{Up: true, Reason: fmt.Sprintf("status %d, body contains %q", resp.StatusCode, h.Body)}
}

func (h *HTTP) statusOK(code int) bool {
	if len(h.Status) == 0 {
		return code >= 200 && code <= 299
	}
	for _, c := range h.Status {
		if c == code {
			return true
		}
	}
	return false
}

// ParseStatus parses keepalived's status_code list ("200", "200-299 503")
// into the codes it names, for HTTP.Status.
func ParseStatus(s string) ([]int, error) {
	var codes []int
	for _, f := range strings.Fields(s) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 100 || a > 999 {
			return nil, fmt.Errorf("health: status code %q: not 100-999", f)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b > 999 {
				return nil, fmt.Errorf("health: status code range %q: bad end", f)
			}
		}
		for c := a; c <= b; c++ {
			codes = append(codes, c)
		}
	}
	return codes, nil
}
