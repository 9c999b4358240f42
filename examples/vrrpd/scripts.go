package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/health"
)

// Scripts (vrrp_script, notify*) run as keepalived runs them: the program
// is executed directly with the arguments keepalived would pass (no shell
// unless the command names one), in the daemon's environment, in a process
// group of its own, as the configured user:
//
//   - the command's own user (vrrp_script's "user", notify_* ... USER
//     [GROUP]), else global_defs script_user, else keepalived_script if
//     that user exists, else the daemon's own user (root);
//   - a program named without a '/' is looked up in PATH, with keepalived's
//     warning to give the full path;
//   - with enable_script_security, a script that would run as root but
//     that a non-root user could modify (the file or a directory above it
//     owned by a non-root user, or writable by a non-root group or by
//     others, sticky directories excepted) is disabled, as keepalived
//     disables it; without it, vrrpd warns and runs it.

// defaultScriptUser is the user keepalived runs scripts as when none is
// configured, if the user exists.
const defaultScriptUser = "keepalived_script"

// scriptEnv resolves how scripts run: global_defs' script_user and
// enable_script_security, and the machine's users.
type scriptEnv struct {
	user, group string // global script_user; empty: default
	security    bool   // enable_script_security
	// lookupUser reports whether a user exists (os/user; a field for tests).
	lookupUser func(name string) bool
	// asRoot says whether scripts without a user run as root (the daemon
	// runs as root).
	asRoot bool
}

func newScriptEnv(g kaconf.Global) *scriptEnv {
	return &scriptEnv{
		user: g.ScriptUser, group: g.ScriptGroup, security: g.ScriptSecurity,
		lookupUser: func(name string) bool { _, err := user.Lookup(name); return err == nil },
		asRoot:     os.Geteuid() == 0,
	}
}

// identity returns the user and group a command runs as ("" = the
// daemon's own).
func (e *scriptEnv) identity(c kaconf.Command) (string, string) {
	switch {
	case c.User != "":
		return c.User, c.Group
	case e.user != "":
		return e.user, e.group
	case e.lookupUser != nil && e.lookupUser(defaultScriptUser):
		return defaultScriptUser, ""
	}
	return "", ""
}

// errScriptDisabled marks a script vrrpd will not run.
var errScriptDisabled = errors.New("disabled")

// exec prepares a command to run, or says why it must not run (wrapping
// errScriptDisabled) and what to warn about even when it runs.
func (e *scriptEnv) exec(c kaconf.Command) (cmd *health.Exec, warnings []string, err error) {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return nil, nil, fmt.Errorf("%w: empty command", errScriptDisabled)
	}
	path := c.Args[0]
	if !strings.Contains(path, "/") {
		found, lerr := exec.LookPath(path)
		if lerr != nil {
			return nil, nil, fmt.Errorf("%w: cannot find %s in PATH", errScriptDisabled, path)
		}
		warnings = append(warnings, fmt.Sprintf("WARNING - script `%s` resolved by path search to `%s`. Please specify full path.", path, found))
		path = found
	}
	if _, serr := os.Stat(path); serr != nil {
		return nil, warnings, fmt.Errorf("%w: %s not found", errScriptDisabled, path)
	}
	u, g := e.identity(c)
	if e.runsAsRoot(u) {
		if why := insecurePath(path); why != "" {
			if e.security {
				return nil, warnings, fmt.Errorf("%w: unsafe permissions (%s) and enable_script_security is set", errScriptDisabled, why)
			}
			warnings = append(warnings, fmt.Sprintf("Unsafe permissions found for script '%s' (%s); running it because enable_script_security is not set", path, why))
		}
	}
	return &health.Exec{Path: path, Args: c.Args[1:], User: u, Group: g}, warnings, nil
}

func (e *scriptEnv) runsAsRoot(u string) bool {
	if u == "" {
		return e.asRoot
	}
	return u == "root" || u == "0"
}

// insecurePath applies keepalived's check_script_secure to path: it
// returns why a non-root user could change what runs, or "".
func insecurePath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err.Error()
	}
	// Every directory from / down, then the file itself.
	parts := strings.Split(strings.TrimPrefix(abs, "/"), "/")
	p := "/"
	check := []string{p}
	for _, part := range parts {
		p = filepath.Join(p, part)
		check = append(check, p)
	}
	for _, p := range check {
		fi, err := os.Stat(p)
		if err != nil {
			return err.Error()
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		if st.Uid != 0 {
			return p + " is owned by uid " + fmt.Sprint(st.Uid)
		}
		sticky := fi.Mode()&os.ModeSticky != 0 && fi.IsDir()
		if sticky {
			continue
		}
		if st.Gid != 0 && fi.Mode().Perm()&0o020 != 0 {
			return p + " is group-writable by gid " + fmt.Sprint(st.Gid)
		}
		if fi.Mode().Perm()&0o002 != 0 {
			return p + " is world-writable"
		}
	}
	return ""
}
