package netlab

import (
	"os"
	"os/exec"
)

// ToolTB is the part of testing.TB the tool checks use.
type ToolTB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
}

// NeedTool returns the path of the program name (keepalived, tshark, nft,
// vtysh, pg_ctl, ...), which the test needs for why. When the machine
// lacks it the test is skipped with the reason, or fails when
// VRRPKIT_REQUIRE_NETNS=1 (CI installs every tool).
func NeedTool(t ToolTB, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not installed ("+err.Error()+")", why)
	}
	return path
}

// NeedToolEnv is NeedTool for a program found through an environment
// variable (a build that is no package, such as a newer keepalived
// unpacked by CI): env names the variable that holds its path.
func NeedToolEnv(t ToolTB, env, why string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		missing(t, env+" is not set", why)
		return ""
	}
	if _, err := exec.LookPath(path); err != nil {
		missing(t, env+"="+path+" is not runnable ("+err.Error()+")", why)
	}
	return path
}

// HaveTool is NeedTool for an extra check the test can do without: it
// reports whether name is installed, logging why not, and fails the test
// when VRRPKIT_REQUIRE_NETNS=1.
func HaveTool(t ToolTB, name, why string) (string, bool) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path, true
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s is not installed, needed %s (and %s=1 forbids doing without)", name, why, RequireEnv)
	}
	t.Logf("%s is not installed: skipping the check that needs it (%s)", name, why)
	return "", false
}

func missing(t ToolTB, what, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s, needed %s (and %s=1 forbids skipping)", what, why, RequireEnv)
	}
	t.Skipf("%s, needed %s; skipping (set %s=1 to fail instead)", what, why, RequireEnv)
}
