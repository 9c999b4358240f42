package httpcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vrrpkit/vrrpkit/health"
)

// errCause stands for the tracker's timeout, which cancels a run's context
// with its cause.
var errCause = errors.New("check timed out")

func TestHTTP(t *testing.T) {
	hang := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "role: primary")
		case "/created":
			w.WriteHeader(http.StatusCreated)
		case "/unavailable":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/host":
			fmt.Fprint(w, r.Host)
		case "/hang":
			entered <- struct{}{}
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	defer close(hang)
	tests := []struct {
		name   string
		check  *Get
		up     bool
		reason string
	}{
		{"200 is up by default", &Get{URL: srv.URL + "/ok"}, true, "status 200"},
		{"any 2xx is up by default", &Get{URL: srv.URL + "/created"}, true, "status 201"},
		{"503 is down", &Get{URL: srv.URL + "/unavailable"}, false, "status 503"},
		{"expected codes", &Get{URL: srv.URL + "/unavailable", Status: []int{200, 503}}, true, "status 503"},
		{"unexpected code", &Get{URL: srv.URL + "/created", Status: []int{200}}, false, "status 201"},
		{"redirects are not followed", &Get{URL: srv.URL + "/redirect"}, false, "status 302"},
		{"body contains", &Get{URL: srv.URL + "/ok", Body: "primary"}, true, `status 200, body contains "primary"`},
		{"body does not contain", &Get{URL: srv.URL + "/ok", Body: "replica"}, false, `body does not contain "replica"`},
		{"body beyond MaxBody", &Get{URL: srv.URL + "/ok", Body: "primary", MaxBody: 5}, false, "body does not contain"},
		{"virtual host", &Get{URL: srv.URL + "/host", Host: "www.example", Body: "www.example"}, true, "status 200"},
		{"not found", &Get{URL: srv.URL + "/nope"}, false, "status 404"},
		{"bad URL", &Get{URL: "://"}, false, "missing protocol scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check.Check(t.Context())
			if r.Up != tt.up || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("got up %v %q, want up %v containing %q", r.Up, r.Reason, tt.up, tt.reason)
			}
		})
	}
	t.Run("hung server is cut off by the context", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		done := make(chan health.Result)
		go func() { done <- (&Get{URL: srv.URL + "/hang"}).Check(ctx) }()
		<-entered
		cancel(errCause)
		if r := <-done; r.Up || !strings.Contains(r.Reason, errCause.Error()) {
			t.Errorf("got %+v, want down with the cause", r)
		}
	})
	t.Run("server gone", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		url := "http://" + ln.Addr().String() + "/"
		ln.Close()
		if r := (&Get{URL: url}).Check(t.Context()); r.Up || !strings.Contains(r.Reason, "connection refused") {
			t.Errorf("got %+v, want down, connection refused", r)
		}
	})
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer srv.Close()
	trusting := srv.Client().Transport.(*http.Transport).TLSClientConfig
	if r := (&Get{URL: srv.URL, TLS: trusting, Body: "hello"}).Check(t.Context()); !r.Up {
		t.Errorf("trusted certificate: %+v, want up", r)
	}
	if r := (&Get{URL: srv.URL}).Check(t.Context()); r.Up || !strings.Contains(r.Reason, "certificate") {
		t.Errorf("untrusted certificate: %+v, want down", r)
	}
}

// TestParseStatus: keepalived.conf(5), HTTP_GET: "eg status_code 200 or
// status_code 200-299 400-499 503 505".
func TestParseStatus(t *testing.T) {
	got, err := ParseStatus("200-202 503 505")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{200, 201, 202, 503, 505}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"abc", "99", "300-200", "200-", "1000"} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q) accepted", bad)
		}
	}
}
