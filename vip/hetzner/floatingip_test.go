package hetzner

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

const secret = "hcloud-test-token-0123456789abcdefghijklmnopqrstuvwxyz"

// fakeAPI is the part of the Hetzner Cloud API a floating IP needs, and
// the metadata service's instance-id.
type fakeAPI struct {
	mu       sync.Mutex
	server   *int64 // the floating IP's server
	requests []string
	fail     func(path string) (int, string) // status, error code
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/metadata/instance-id" {
		fmt.Fprint(w, "4711")
		return
	}
	var body map[string]int64
	json.NewDecoder(r.Body).Decode(&body)
	line := r.Method + " " + r.URL.Path
	if len(body) > 0 {
		line += fmt.Sprintf(" server=%d", body["server"])
	}
	f.requests = append(f.requests, line)
	fail := func(status int, code string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":"%s happened"}}`, code, code)
	}
	if r.Header.Get("Authorization") != "Bearer "+secret {
		fail(401, "unauthorized")
		return
	}
	if f.fail != nil {
		if st, code := f.fail(r.URL.Path); st != 0 {
			fail(st, code)
			return
		}
	}
	switch line := r.Method + " " + r.URL.Path; line {
	case "GET /v1/floating_ips/42":
		out, _ := json.Marshal(map[string]any{"floating_ip": map[string]any{"id": 42, "ip": "203.0.113.7", "server": f.server}})
		w.Write(out)
	case "POST /v1/floating_ips/42/actions/assign":
		id := body["server"]
		f.server = &id
		w.WriteHeader(201)
		fmt.Fprint(w, `{"action":{"id":1,"command":"assign_floating_ip","status":"running"}}`)
	default:
		fail(404, "not_found")
	}
}

func (f *fakeAPI) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

var set = vrrp.AddressSet{Router: "VI_1", Interface: "eth0"}

var fast = cloud.Options{AcquireTimeout: 2 * time.Second, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Reassert: -1}

func newFIP(t *testing.T, f *fakeAPI, o cloud.Options, tok Token) *cloud.Backend {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	b, err := NewFloatingIP(FloatingIPConfig{Token: tok, FloatingIPID: 42, Endpoint: srv.URL + "/v1", MetadataEndpoint: srv.URL + "/metadata", Options: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestFloatingIPAssignsToThisServerAndConfirms(t *testing.T) {
	other := int64(99)
	f := &fakeAPI{server: &other}
	b := newFIP(t, f, fast, NewToken(secret))
	if err := b.Acquire(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	want := "POST /v1/floating_ips/42/actions/assign server=4711|GET /v1/floating_ips/42"
	if got := strings.Join(f.log(), "|"); got != want {
		t.Errorf("requests %s\nwant     %s", got, want)
	}
	if *f.server != 4711 {
		t.Errorf("assigned to %d", *f.server)
	}
	n := len(f.log())
	if err := b.Release(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	if len(f.log()) != n {
		t.Errorf("release sent %v", f.log()[n:])
	}
}

func TestFloatingIPRetriesRateLimitsAndLocks(t *testing.T) {
	n := 0
	f := &fakeAPI{fail: func(path string) (int, string) {
		if strings.HasSuffix(path, "/assign") && n < 2 {
			n++
			return []int{429, 423}[n-1], []string{"rate_limit_exceeded", "locked"}[n-1]
		}
		return 0, ""
	}}
	b := newFIP(t, f, fast, NewToken(secret))
	if err := b.Acquire(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.ProviderErrors != 2 || f.server == nil || *f.server != 4711 {
		t.Errorf("stats %+v", s)
	}
}

func TestFloatingIPRejectionsFailAtOnce(t *testing.T) {
	for _, tc := range []struct {
		token Token
		fail  func(string) (int, string)
		want  string
	}{
		{NewToken("wrong"), nil, "401 unauthorized"},
		{NewToken(secret), func(string) (int, string) { return 422, "invalid_input" }, "422 invalid_input"},
		{NewToken(secret), func(string) (int, string) { return 404, "not_found" }, "404 not_found"},
	} {
		f := &fakeAPI{fail: tc.fail}
		b := newFIP(t, f, fast, tc.token)
		start := time.Now()
		err := b.Acquire(t.Context(), set)
		if !errors.Is(err, cloud.ErrRejected) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want a rejection with %q", err, tc.want)
		}
		if len(f.log()) != 1 || time.Since(start) > time.Second {
			t.Errorf("%q: %d requests in %v: a rejection is not retried", tc.want, len(f.log()), time.Since(start))
		}
	}
}

func TestFloatingIPServerErrorsUntilAcquireTimeout(t *testing.T) {
	f := &fakeAPI{fail: func(string) (int, string) { return 503, "service_error" }}
	o := fast
	o.AcquireTimeout = 300 * time.Millisecond
	b := newFIP(t, f, o, NewToken(secret))
	if err := b.Acquire(t.Context(), set); !errors.Is(err, cloud.ErrAcquireTimeout) || !strings.Contains(err.Error(), "service_error") {
		t.Fatalf("error %v", err)
	}
}

func TestTokenNeverPrints(t *testing.T) {
	tok := NewToken(secret)
	cfg := FloatingIPConfig{Token: tok, FloatingIPID: 42}
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s %q %x", tok, cfg, cfg, tok, tok, tok)} {
		if strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
			t.Errorf("the token shows: %s", s)
		}
	}
	core, logs := observer.New(zap.DebugLevel)
	f := &fakeAPI{fail: func(string) (int, string) { return 403, "forbidden" }}
	o := fast
	o.Logger = zap.New(core)
	b := newFIP(t, f, o, tok)
	err := b.Acquire(t.Context(), set)
	all := err.Error()
	for _, e := range logs.All() {
		all += e.Message + fmt.Sprint(e.ContextMap())
	}
	if strings.Contains(all, secret) {
		t.Error("the token appears in the logs or errors")
	}
}

func TestTokenFromFileRefusesAFileOthersMayRead(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/token"
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := TokenFromFile(p); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("a 0644 token file: %v", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := TokenFromFile(p)
	if err != nil || tok.secret != secret {
		t.Errorf("a 0600 token file: %v", err)
	}
}
