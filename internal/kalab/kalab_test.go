package kalab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// recorder is a TB that records how Binary decided, instead of ending
// the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestBinaryUnsetSkipsOrFails(t *testing.T) {
	t.Setenv(EnvBinary, "")
	t.Setenv(netlab.RequireEnv, "")
	r := &recorder{TB: t}
	Binary(r)
	if !strings.Contains(r.skipped, EnvBinary) || r.failed != "" {
		t.Errorf("unset: skipped %q, failed %q; want a skip naming %s", r.skipped, r.failed, EnvBinary)
	}
	t.Setenv(netlab.RequireEnv, "1")
	r = &recorder{TB: t}
	Binary(r)
	if !strings.Contains(r.failed, EnvBinary) || r.skipped != "" {
		t.Errorf("unset with %s=1: skipped %q, failed %q; want a failure", netlab.RequireEnv, r.skipped, r.failed)
	}
}

func TestBinaryNotExecutableFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keepalived")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p, filepath.Join(t.TempDir(), "missing")} {
		t.Setenv(EnvBinary, path)
		r := &recorder{TB: t}
		if got := Binary(r); r.failed == "" {
			t.Errorf("%s: returned %q without failing", path, got)
		}
	}
}

// keepalived 2.4.3 runs in a lab host from a configuration with a key
// file beside it, comes up as BACKUP and MASTER, and stops cleanly on
// SIGTERM.
func TestStartRunsKeepalived(t *testing.T) {
	Binary(t)
	lab := netlab.New(t, 1)
	d := Start(t, lab.Host(1), Spec{
		Conf: `vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 200
  advert_int 1
  auth_hmac {
    key 1 file:k1.key
    active_key 1
  }
  virtual_ipaddress {
    10.0.0.100/24
  }
}
`,
		Files: map[string]string{"k1.key": "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	mark := d.Mark()
	if _, err := d.WaitLog(ctx, 0, regexp.MustCompile(`Starting Keepalived v2\.4\.3`)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WaitLog(ctx, mark, regexp.MustCompile(`\(VI_1\) Entering MASTER STATE`)); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, l := range d.Log() {
		if strings.Contains(l, "auth_hmac") || strings.Contains(l, "disabling extension") {
			t.Errorf("keepalived complained: %s", l)
		}
	}
}
