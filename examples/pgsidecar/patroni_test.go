package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/health/httpcheck"
)

// With --patroni, follow mode asks Patroni's REST API: GET /primary
// answers 200 on the leader and 503 elsewhere.
func TestPatroniDecidesTheRole(t *testing.T) {
	var leader atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/primary" {
			http.NotFound(w, r)
			return
		}
		if leader.Load() {
			w.WriteHeader(200)
		} else {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	// No Postgres at all: only the status needs it; Patroni decides.
	pg, err := newPgClient("host="+filepath.Join(t.TempDir(), "none")+" user=postgres", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s := &sidecar{opts: &options{}, log: zap.NewNop(), pg: pg}
	check := s.primaryCheck(&httpcheck.Get{URL: srv.URL + "/primary"})
	if res := check.Check(context.Background()); res.Up {
		t.Errorf("replica: check up (%s)", res.Reason)
	}
	leader.Store(true)
	if res := check.Check(context.Background()); !res.Up {
		t.Errorf("leader: check down (%s)", res.Reason)
	}
	if s.obs.Role != roleUnknown || s.obs.Err == "" {
		t.Errorf("observation without Postgres: %+v", s.obs)
	}
}
