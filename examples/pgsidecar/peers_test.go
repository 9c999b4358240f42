package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A peer's answer comes from the network: anything but a well-formed
// status makes the peer unusable, as if it were unreachable.
func TestPeerFetchRejectsBadAnswers(t *testing.T) {
	good := `{"role":"standby","vrrp_state":"BACKUP","master":"10.0.0.2","timeline":3,"receive_lsn":"0/3000148","fenced":false}`
	tests := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"good", 200, good, true},
		{"unknown fields are ignored", 200, strings.TrimSuffix(good, "}") + `,"extra":[1,2]}`, true},
		{"error status", 500, good, false},
		{"not JSON", 200, "<html>", false},
		{"unknown role", 200, strings.Replace(good, `"standby"`, `"leader"`, 1), false},
		{"unknown state", 200, strings.Replace(good, `"BACKUP"`, `"backup"`, 1), false},
		{"bad master", 200, strings.Replace(good, `"10.0.0.2"`, `"10.0.0.256"`, 1), false},
		{"bad LSN", 200, strings.Replace(good, `"0/3000148"`, `"3000148"`, 1), false},
		{"negative timeline", 200, strings.Replace(good, `:3,`, `:-3,`, 1), false},
		{"too long", 200, `{"role":"standby","vrrp_state":"BACKUP","pad":"` + strings.Repeat("x", maxStatusBody) + `"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != statusPath {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			st, err := newPeerClient(2*time.Second).fetch(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
			if (err == nil) != tt.ok {
				t.Fatalf("fetch: %+v, %v; want ok %v", st, err, tt.ok)
			}
			if tt.ok && (st.Role != roleStandby || st.Timeline != 3 || st.ReceiveLSN != 0x3000148 || st.Master != self) {
				t.Errorf("parsed %+v", st)
			}
		})
	}
}

// A peer that accepts the connection and never answers costs at most
// the timeout.
func TestPeerFetchTimesOut(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	start := time.Now()
	res := newPeerClient(100*time.Millisecond).fetchAll(context.Background(), []string{strings.TrimPrefix(srv.URL, "http://")})
	if res[0].Err == nil {
		t.Fatalf("no error from a peer that never answers")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
