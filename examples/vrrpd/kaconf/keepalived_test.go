package kaconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// keepalivedCheck runs `keepalived -t -f conf` on host h and reports what it
// said; keepalived 2.2.7 exits 0 and prints nothing for a configuration
// without errors or warnings. It is run in a lab host because keepalived
// checks that the interfaces exist.
func keepalivedCheck(t *testing.T, h *netlab.Host, conf string) {
	t.Helper()
	out, err := h.Run("keepalived", "-t", "-f", conf)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("keepalived -t -f %s: %v\n%s", conf, err, out)
	}
}

// requireKeepalived skips the test when keepalived is not installed (CI
// installs it) and builds a one-host lab: eth0 with 10.0.0.1/24 and
// fd00::1/64, as in the lab the configurations are written for.
func requireKeepalived(t *testing.T) *netlab.Host {
	t.Helper()
	netlab.NeedTool(t, "keepalived", "to compare with keepalived's own reading")
	return netlab.New(t, 1).Host(1)
}

// skipMissingPrograms skips when a vrrp_script's program is not installed
// here: keepalived -t rejects such a script ("not found/accessible").
func skipMissingPrograms(t *testing.T, cfg *Config) {
	t.Helper()
	for _, s := range cfg.Scripts {
		if p := s.Command.Args[0]; filepath.IsAbs(p) {
			if _, err := os.Stat(p); err != nil {
				t.Skipf("%s is not installed, so keepalived -t would reject vrrp_script %s", p, s.Name)
			}
		}
	}
}

// TestKeepalivedAcceptsTestdata: every testdata configuration passes
// keepalived 2.2.7's own check without a word, and so does what Format
// writes for it (so the defaults kaconf made explicit are keepalived's).
func TestKeepalivedAcceptsTestdata(t *testing.T) {
	h := requireKeepalived(t)
	dir := t.TempDir()
	for _, conf := range testdataConfigs(t) {
		name := filepath.Base(filepath.Dir(conf)) + "-" + filepath.Base(conf)
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(conf, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			skipMissingPrograms(t, cfg)
			abs, err := filepath.Abs(conf)
			if err != nil {
				t.Fatal(err)
			}
			keepalivedCheck(t, h, abs)
			formatted := filepath.Join(dir, name)
			if err := os.WriteFile(formatted, []byte(cfg.FormatWithSecrets()), 0o644); err != nil {
				t.Fatal(err)
			}
			keepalivedCheck(t, h, formatted)
		})
	}
}

// TestKeepalivedRejectsBrokenConfigs: what kaconf refuses, keepalived
// complains about too (-t exits non-zero), for the configurations of
// TestBrokenConfigs that keepalived can judge (not the vrrpd-only ones).
func TestKeepalivedRejectsBrokenConfigs(t *testing.T) {
	h := requireKeepalived(t)
	dir := t.TempDir()
	for i, src := range []string{
		"vrrp_instance VI_1 {\n    interface eth0\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
		vi("") + strings.Replace(vi(""), "VI_1", "VI_2", 1),
		vi("    priority 256\n"),
		vi("    virtual_ipaddress {\n        10.0.0.300/24\n    }\n"),
		vi("    virtual_ipaddress {\n        fd00::5\n    }\n"),
		vi("    state FOO\n"),
		vi("    state MASTER\n    priority 150\n    nopreempt\n"),
		vi("    priority 255\n    nopreempt\n"),
		vi("    state MASTER\n    preempt_delay 10\n"),
		vi("    authentication {\n        auth_type PASS\n    }\n"),
		"vrrp_instance V3 {\n    interface eth0\n    virtual_router_id 1\n    version 3\n}\n",
		vi("    version 3\n    advert_int 41\n"),
		vi("    track_script {\n        chk_haproxy\n    }\n"),
		vi("") + "}\n",
		vi("") + "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n",
	} {
		if _, err := Parse("k.conf", []byte(src), testOpts); err == nil {
			t.Errorf("case %d: kaconf accepts it", i)
			continue
		}
		path := filepath.Join(dir, "broken.conf")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := h.Run("keepalived", "-t", "-f", path); err == nil {
			t.Errorf("case %d: keepalived -t accepts it:\n%s\n%s", i, src, out)
		}
	}
}
