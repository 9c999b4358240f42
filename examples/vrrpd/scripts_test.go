package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

func TestScriptIdentityFollowsKeepalived(t *testing.T) {
	users := fakeUsers{
		users:  map[string]ids{"u": {1001, 1001}, "g": {1002, 1002}, defaultScriptUser: {1003, 1003}},
		groups: map[string]uint32{"w": 2001, "gg": 2002},
	}
	noDefault := users
	noDefault.missing = defaultScriptUser
	self := ids{0, 0}
	for _, c := range []struct {
		name string
		env  scriptEnv
		cmd  kaconf.Command
		want ids
	}{
		{"command's own user and group", scriptEnv{user: "g", users: users, self: self}, kaconf.Command{User: "u", Group: "w"}, ids{1001, 2001}},
		{"command's own user, its primary group", scriptEnv{user: "g", users: users, self: self}, kaconf.Command{User: "u"}, ids{1001, 1001}},
		{"script_user", scriptEnv{user: "g", group: "gg", users: users, self: self}, kaconf.Command{}, ids{1002, 2002}},
		{"keepalived_script when it exists", scriptEnv{users: users, self: self}, kaconf.Command{}, ids{1003, 1003}},
		{"else the daemon's own", scriptEnv{users: noDefault, self: self}, kaconf.Command{}, self},
	} {
		got, _, err := c.env.identity(c.cmd)
		if err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	e := scriptEnv{users: users, self: self}
	if _, _, err := e.exec(kaconf.Command{Args: []string{"/bin/true"}, User: "nosuchuser"}); !errors.Is(err, errScriptDisabled) {
		t.Errorf("an unknown user: %v", err)
	}
}

func TestScriptsAreFoundAndCheckedAsKeepalivedDoes(t *testing.T) {
	env := testEnv()
	if _, _, err := env.exec(kaconf.Command{Args: []string{"/nonexistent/x"}}); !errors.Is(err, errScriptDisabled) {
		t.Errorf("a missing script: %v", err)
	}
	ex, warns, err := env.exec(kaconf.Command{Args: []string{"true", "a"}})
	if err != nil || !filepath.IsAbs(ex.Path) || len(ex.Args) != 1 {
		t.Fatalf("a bare name: %+v, %v", ex, err)
	}
	if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, "resolved by path search") }) {
		t.Errorf("no path search warning: %q", warns)
	}
	// The daemon's PATH is not where bare names are found.
	dir := t.TempDir()
	writeScript(t, dir, "vrrpd-test-only-here", "true")
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	if _, _, err := env.exec(kaconf.Command{Args: []string{"vrrpd-test-only-here"}}); !errors.Is(err, errScriptDisabled) {
		t.Errorf("a program found in the daemon's PATH: %v", err)
	}
	// keepalived disables a script its user cannot execute.
	noexec := filepath.Join(dir, "noexec.sh")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.exec(kaconf.Command{Args: []string{noexec}}); !errors.Is(err, errScriptDisabled) || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("a script without execute permission: %v", err)
	}
}

// rootTree is a directory that every user can traverse, for files whose
// owners the test sets; it needs root.
func rootTree(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// nobodyDir is a directory under dir owned by nobody (65534).
func nobodyDir(t *testing.T, dir, name string) string {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return d
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

	secure, lax := testEnv(), testEnv()
	secure.security = true
	if _, _, err := secure.exec(kaconf.Command{Args: []string{open}}); !errors.Is(err, errScriptDisabled) {
		t.Errorf("enable_script_security ran an unsafe script: %v", err)
	}
	_, warns, err := lax.exec(kaconf.Command{Args: []string{open}})
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "Unsafe permissions") {
		t.Errorf("without enable_script_security: %v, %q", err, warns)
	}
}

// A root-owned script reached through a symbolic link in a safe directory
// but living in a directory a user owns: the user can replace it, so the
// directories of where the link leads are checked too, and so is a link
// that a user owns.
func TestScriptSecurityChecksWhereLinksLead(t *testing.T) {
	dir := rootTree(t)
	userDir := nobodyDir(t, dir, "home")
	target := writeScript(t, userDir, "check.sh", "true") // root-owned, 0755
	safe := filepath.Join(dir, "etc")
	if err := os.Mkdir(safe, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(safe, "check.sh")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dirLink := filepath.Join(safe, "scripts")
	if err := os.Symlink("../home", dirLink); err != nil {
		t.Fatal(err)
	}
	userLink := filepath.Join(safe, "user-link.sh")
	if err := os.Symlink(writeScript(t, safe, "real.sh", "true"), userLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(userLink, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	secure := newScriptEnv(kaconf.Global{ScriptSecurity: true})
	for _, path := range []string{link, filepath.Join(dirLink, "check.sh"), userLink} {
		if _, _, err := secure.exec(kaconf.Command{Args: []string{path}}); !errors.Is(err, errScriptDisabled) {
			t.Errorf("%s runs as root: %v", path, err)
		}
	}
	// The safe original of the user's link is fine.
	if _, _, err := secure.exec(kaconf.Command{Args: []string{filepath.Join(safe, "real.sh")}}); err != nil {
		t.Errorf("a safe script: %v", err)
	}
}

// Root is uid 0 or gid 0, whatever the names: a uid-0 alias,
// "script_user nobody root" (root's group), and a setuid-root program run
// as nobody all need the checks.
func TestScriptSecurityJudgesRootByID(t *testing.T) {
	dir := rootTree(t)
	open := writeScript(t, dir, "open.sh", "true")
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	userDir := nobodyDir(t, dir, "home")
	setuid := writeScript(t, userDir, "setuid", "true")
	if err := os.Chmod(setuid, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	setgid := writeScript(t, userDir, "setgid", "true")
	if err := os.Chmod(setgid, os.ModeSetgid|0o755); err != nil {
		t.Fatal(err)
	}
	alias := newScriptEnv(kaconf.Global{ScriptSecurity: true, ScriptUser: "toor"})
	alias.users = fakeUsers{users: map[string]ids{"toor": {0, 0}}, fallback: osUsers{}}
	for _, c := range []struct {
		name string
		env  *scriptEnv
		cmd  kaconf.Command
	}{
		{"a uid-0 alias", alias, kaconf.Command{Args: []string{open}}},
		{"script_user nobody root", newScriptEnv(kaconf.Global{ScriptSecurity: true, ScriptUser: "nobody", ScriptGroup: "root"}), kaconf.Command{Args: []string{open}}},
		{"notify ... nobody 0", newScriptEnv(kaconf.Global{ScriptSecurity: true}), kaconf.Command{Args: []string{open}, User: "nobody", Group: "0"}},
		{"setuid root as nobody", newScriptEnv(kaconf.Global{ScriptSecurity: true, ScriptUser: "nobody"}), kaconf.Command{Args: []string{setuid}}},
		{"setgid root as nobody", newScriptEnv(kaconf.Global{ScriptSecurity: true, ScriptUser: "nobody"}), kaconf.Command{Args: []string{setgid}}},
	} {
		if _, _, err := c.env.exec(c.cmd); !errors.Is(err, errScriptDisabled) {
			t.Errorf("%s: an unsafe script runs: %v", c.name, err)
		}
	}
	// Run as nobody:nogroup, nothing is root's to protect.
	if _, _, err := newScriptEnv(kaconf.Global{ScriptSecurity: true, ScriptUser: "nobody"}).exec(kaconf.Command{Args: []string{open}}); err != nil {
		t.Errorf("an unsafe script run as nobody: %v", err)
	}
}

// A script runs as the ids it was checked for.
func TestScriptsRunAsTheCheckedIDs(t *testing.T) {
	dir := rootTree(t)
	out := filepath.Join(nobodyDir(t, dir, "out"), "id")
	sh := writeScript(t, dir, "id.sh", `echo "$(id -u) $(id -g) $(id -G)" > `+out)
	ex, _, err := newScriptEnv(kaconf.Global{ScriptUser: "nobody"}).exec(kaconf.Command{Args: []string{sh}})
	if err != nil {
		t.Fatal(err)
	}
	if r := ex.Check(context.Background()); !r.Up {
		t.Fatalf("%+v", r)
	}
	if got := strings.TrimSpace(mustRead(t, out)); got != "65534 65534 65534" {
		t.Errorf("ran as %q, want 65534 65534 65534 (nobody, no supplementary groups)", got)
	}
}

// Scripts get PATH (and notify scripts the VRRP variables), nothing of the
// daemon's environment.
func TestScriptsRunWithAMinimalEnvironment(t *testing.T) {
	t.Setenv("VRRPD_TEST_SECRET", "do-not-leak")
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	sh := writeScript(t, dir, "env.sh", "env > "+out)
	env := testEnv()
	ex, _, err := env.exec(kaconf.Command{Args: []string{sh}})
	if err != nil {
		t.Fatal(err)
	}
	if r := ex.Check(context.Background()); !r.Up {
		t.Fatalf("%+v", r)
	}
	got := envOf(t, out)
	if strings.Join(got, " ") != "PATH="+scriptPath {
		t.Errorf("vrrp_script environment %q, want PATH only", got)
	}

	s := newNotifyScripts("INSTANCE", "VI_1", kaconf.Notify{Master: &kaconf.Command{Args: []string{sh}}}, env, func(k, m string) { t.Errorf("%s: %s", k, m) })
	cmds := s.commands("MASTER", 150)
	if r := cmds[0].Check(context.Background()); !r.Up {
		t.Fatalf("%+v", r)
	}
	want := []string{"PATH=" + scriptPath, "VRRP_NAME=VI_1", "VRRP_PRIORITY=150", "VRRP_STATE=MASTER", "VRRP_TYPE=INSTANCE"}
	if got := envOf(t, out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("notify environment %q, want %q", got, want)
	}
}

// envOf reads env(1)'s output, without what the shell adds itself.
func envOf(t *testing.T, path string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(mustRead(t, path)), "\n") {
		if !strings.HasPrefix(l, "PWD=") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}
