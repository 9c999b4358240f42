package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

func TestScriptIdentityFollowsKeepalived(t *testing.T) {
	exists := func(string) bool { return true }
	missing := func(string) bool { return false }
	for _, c := range []struct {
		name      string
		env       scriptEnv
		cmd       kaconf.Command
		user, grp string
	}{
		{"command's own user", scriptEnv{user: "g", lookupUser: exists}, kaconf.Command{User: "u", Group: "w"}, "u", "w"},
		{"script_user", scriptEnv{user: "g", group: "gg", lookupUser: exists}, kaconf.Command{}, "g", "gg"},
		{"keepalived_script when it exists", scriptEnv{lookupUser: exists}, kaconf.Command{}, "keepalived_script", ""},
		{"else the daemon's own", scriptEnv{lookupUser: missing}, kaconf.Command{}, "", ""},
	} {
		u, g := c.env.identity(c.cmd)
		if u != c.user || g != c.grp {
			t.Errorf("%s: %q %q, want %q %q", c.name, u, g, c.user, c.grp)
		}
	}
}

func TestScriptsAreFoundAndCheckedAsKeepalivedDoes(t *testing.T) {
	env := &scriptEnv{lookupUser: func(string) bool { return false }}
	if _, _, err := env.exec(kaconf.Command{Args: []string{"/nonexistent/x"}}); !errors.Is(err, errScriptDisabled) {
		t.Errorf("a missing script: %v", err)
	}
	ex, warns, err := env.exec(kaconf.Command{Args: []string{"true", "a"}})
	if err != nil || !filepath.IsAbs(ex.Path) || len(ex.Args) != 1 {
		t.Fatalf("a bare name: %+v, %v", ex, err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "resolved by path search") {
		t.Errorf("no path search warning: %q", warns)
	}
}

// TestUnsafeScriptsAreDisabledWithScriptSecurity: a script others can
// modify does not run as root with enable_script_security, and runs with a
// warning without it.
func TestUnsafeScriptsAreDisabledWithScriptSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		// Everything under the test's directories belongs to a non-root
		// user, which is unsafe in itself: check that much.
		f := writeScript(t, t.TempDir(), "s.sh", "true")
		if why := insecurePath(f); !strings.Contains(why, "owned by uid") {
			t.Errorf("insecurePath(%s) = %q, want owned by a non-root uid", f, why)
		}
		return
	}
	dir := t.TempDir()
	safe := writeScript(t, dir, "safe.sh", "true")
	if why := insecurePath(safe); why != "" {
		t.Fatalf("a root-owned 0755 script under root-owned directories is unsafe: %s", why)
	}
	open := writeScript(t, dir, "open.sh", "true")
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if why := insecurePath(open); !strings.Contains(why, "world-writable") {
		t.Errorf("world-writable script: %q", why)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	inOpenDir := writeScript(t, sub, "s.sh", "true")
	if why := insecurePath(inOpenDir); !strings.Contains(why, sub+" is world-writable") {
		t.Errorf("script in a world-writable directory: %q", why)
	}
	if err := os.Chmod(sub, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if why := insecurePath(inOpenDir); why != "" {
		t.Errorf("a sticky directory like /tmp counts as unsafe: %q", why)
	}

	secure := &scriptEnv{security: true, asRoot: true, lookupUser: func(string) bool { return false }}
	if _, _, err := secure.exec(kaconf.Command{Args: []string{open}}); !errors.Is(err, errScriptDisabled) {
		t.Errorf("enable_script_security ran an unsafe script: %v", err)
	}
	lax := &scriptEnv{asRoot: true, lookupUser: func(string) bool { return false }}
	_, warns, err := lax.exec(kaconf.Command{Args: []string{open}})
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "Unsafe permissions") {
		t.Errorf("without enable_script_security: %v, %q", err, warns)
	}
	// Not run as root: nothing to protect.
	if _, _, err := secure.exec(kaconf.Command{Args: []string{open}, User: "nobody"}); err != nil {
		t.Errorf("an unsafe script run as nobody: %v", err)
	}
}
