package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestStatusEndpoint(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	doc := statusDoc{Role: rolePrimary, VRRPState: "MASTER", Decision: decision{Time: time.Unix(1, 0), Action: "take the VIP", Reason: "promoted"}}
	ss, err := startStatus([]string{"unix:" + sock}, func() statusDoc { return doc }, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer ss.close()
	got, err := fetchUnixStatus(sock)
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != rolePrimary || got.VRRPState != "MASTER" || got.Decision.Reason != "promoted" {
		t.Errorf("status %+v", got)
	}
	// The keys scripts read.
	raw, _ := json.Marshal(doc)
	for _, k := range []string{`"role":`, `"vrrp_state":`, `"decision":{`, `"reason":`, `"replay_lag_bytes":`, `"timeline":`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("no %s in %s", k, raw)
		}
	}
	c := &http.Client{Transport: unixTransport(sock)}
	for _, tt := range []struct {
		method, path string
		code         int
	}{{"GET", "/other", 404}, {"POST", "/status", 405}} {
		req, _ := http.NewRequest(tt.method, "http://x"+tt.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.code)
		}
	}
	// A socket left behind by a crashed predecessor is replaced.
	ss.srv.Close()
	ss2, err := startStatus([]string{"unix:" + sock}, func() statusDoc { return doc }, zap.NewNop())
	if err != nil {
		t.Fatalf("restart over a stale socket: %v", err)
	}
	ss2.close()
}
