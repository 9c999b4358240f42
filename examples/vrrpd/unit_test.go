package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

const unitFile = "systemd/vrrpd.service"

// TestUnitFileRunsUnprivilegedAsNotify: the unit runs vrrpd as Type=notify
// with a watchdog, as a user that is not root, with the two capabilities
// and nothing more, and with the filesystem read-only.
func TestUnitFileRunsUnprivilegedAsNotify(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	settings := make(map[string][]string)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = append(settings[k], v)
		}
	}
	for k, want := range map[string]string{
		"Type":                  "notify",
		"AmbientCapabilities":   "CAP_NET_ADMIN CAP_NET_RAW",
		"CapabilityBoundingSet": "CAP_NET_ADMIN CAP_NET_RAW",
		"ProtectSystem":         "strict",
		"NoNewPrivileges":       "yes",
		"User":                  "vrrpd",
		"ExecReload":            "/bin/kill -HUP $MAINPID",
	} {
		if got := settings[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	if len(settings["WatchdogSec"]) != 1 {
		t.Error("no WatchdogSec: a stuck loop would not be restarted")
	}
	exec := strings.Join(settings["ExecStart"], " ")
	for _, opt := range []string{"--pid=", "--metrics=unix:", "--status=unix:"} {
		if !strings.Contains(exec, opt) {
			t.Errorf("ExecStart %q lacks %s", exec, opt)
		}
	}
	// The options of ExecStart parse.
	if _, err := parseOptions(strings.Fields(exec)[1:]); err != nil {
		t.Errorf("ExecStart's options: %v", err)
	}
}

// TestUnitFileVerifies: systemd-analyze verify accepts the unit (with
// ExecStart pointed at an executable that exists here).
func TestUnitFileVerifies(t *testing.T) {
	analyze := netlab.NeedTool(t, "systemd-analyze", "to verify the unit file")
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(b), "/usr/local/bin/vrrpd", self)
	p := filepath.Join(t.TempDir(), "vrrpd.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", p)
	cmd.Dir = filepath.Dir(p)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "vrrpd.service") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
