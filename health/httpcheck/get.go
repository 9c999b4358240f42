package httpcheck

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

	"github.com/vrrpkit/vrrpkit/health"
)

// Get passes when a GET of URL answers with an expected status code and,
// if Body is set, a body that contains it (keepalived's HTTP_GET and
// SSL_GET, as a VRRP tracker). Redirects are not followed, proxies from the
// environment are not used, and every run opens a new connection.
type Get struct {
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

var _ health.Check = (*Get)(nil)

func (g *Get) init() {
	g.client = &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{}).DialContext,
			TLSClientConfig:   g.TLS,
			DisableKeepAlives: true,
			ForceAttemptHTTP2: false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Check makes one request.
func (g *Get) Check(ctx context.Context) health.Result {
	g.once.Do(g.init)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL, nil)
	if err != nil {
		return health.Result{Reason: err.Error()}
	}
	for k, v := range g.Header {
		req.Header[k] = v
	}
	if g.Host != "" {
		req.Host = g.Host
	}
	resp, err := g.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return health.Result{Reason: "GET " + g.URL + ": " + context.Cause(ctx).Error()}
		}
		return health.Result{Reason: err.Error()}
	}
	defer resp.Body.Close()
	if !g.statusOK(resp.StatusCode) {
		return health.Result{Reason: fmt.Sprintf("GET %s: status %d", g.URL, resp.StatusCode)}
	}
	if g.Body == "" {
		return health.Result{Up: true, Reason: fmt.Sprintf("status %d", resp.StatusCode)}
	}
	limit := g.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return health.Result{Reason: fmt.Sprintf("GET %s: read body: %v", g.URL, err)}
	}
	if !bytes.Contains(body, []byte(g.Body)) {
		return health.Result{Reason: fmt.Sprintf("GET %s: status %d, body does not contain %q", g.URL, resp.StatusCode, g.Body)}
	}
	return health.Result{Up: true, Reason: fmt.Sprintf("status %d, body contains %q", resp.StatusCode, g.Body)}
}

func (g *Get) statusOK(code int) bool {
	if len(g.Status) == 0 {
		return code >= 200 && code <= 299
	}
	for _, c := range g.Status {
		if c == code {
			return true
		}
	}
	return false
}

// ParseStatus parses keepalived's status_code list ("200", "200-299 503")
// into the codes it names, for Get.Status.
func ParseStatus(s string) ([]int, error) {
	var codes []int
	for _, f := range strings.Fields(s) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 100 || a > 999 {
			return nil, fmt.Errorf("httpcheck: status code %q: not 100-999", f)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b > 999 {
				return nil, fmt.Errorf("httpcheck: status code range %q: bad end", f)
			}
		}
		for c := a; c <= b; c++ {
			codes = append(codes, c)
		}
	}
	return codes, nil
}
