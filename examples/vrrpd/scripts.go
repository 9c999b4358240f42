package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/health"
)

// Scripts (vrrp_script, notify*) run as keepalived runs them: the program
// is executed directly with the arguments keepalived would pass (no shell
// unless the command names one), in a process group of its own, as the
// configured user:
//
//   - the command's own user (vrrp_script's "user", notify_* ... USER
//     [GROUP]), else global_defs script_user, else keepalived_script if
//     that user exists, else the daemon's own user (root); the names are
//     resolved to numeric ids once, when the script is checked, and the
//     script runs as exactly those ids;
//   - a program named without a '/' is looked up in scriptPath (not the
//     daemon's PATH), with keepalived's warning to give the full path;
//   - keepalived's check_script_secure: a script that is not executable
//     for its uid and gid is disabled; one that needs protection — run
//     with uid 0 or gid 0, whatever the names (a uid-0 alias is root,
//     "nobody root" runs with root's group), or setuid / setgid root — is
//     checked along its whole path: every directory from / down, every
//     symbolic link on the way (its own owner, then the directories and
//     file it leads to), and the file itself. If any of them is owned by
//     a non-root user, or writable by a non-root group or by others
//     (directories with the sticky bit excepted), a non-root user could
//     change what runs: with enable_script_security the script is
//     disabled, without it vrrpd warns and runs it;
//   - the environment is scriptPath and, for notify scripts, the VRRP
//     variables (notifyEnv): nothing of the daemon's own.

// scriptPath is the PATH scripts run with and bare program names are
// looked up in.
const scriptPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultScriptUser is the user keepalived runs scripts as when none is
// configured, if the user exists.
const defaultScriptUser = "keepalived_script"

// maxSymlinks bounds the symbolic links followed on a script's path, as
// the kernel's 40.
const maxSymlinks = 40

// ids is a numeric identity.
type ids struct{ uid, gid uint32 }

func (i ids) String() string { return fmt.Sprintf("uid:gid %d:%d", i.uid, i.gid) }

// userDB resolves user and group names (or numbers) to ids.
type userDB interface {
	// user returns a user's uid and primary gid.
	user(name string) (ids, error)
	// group returns a group's gid.
	group(name string) (uint32, error)
}

// osUsers is the machine's user database (os/user).
type osUsers struct{}

func (osUsers) user(name string) (ids, error) {
	u, err := user.Lookup(name)
	if err != nil && isNumber(name) {
		u, err = user.LookupId(name)
	}
	if err != nil {
		return ids{}, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return ids{}, fmt.Errorf("user %s: %w", name, err)
	}
	return ids{uint32(uid), uint32(gid)}, nil
}

func (osUsers) group(name string) (uint32, error) {
	g, err := user.LookupGroup(name)
	if err != nil && isNumber(name) {
		g, err = user.LookupGroupId(name)
	}
	if err != nil {
		return 0, err
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	return uint32(gid), err
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// scriptEnv resolves how scripts run: global_defs' script_user and
// enable_script_security, and the machine's users.
type scriptEnv struct {
	user, group string // global script_user; empty: default
	security    bool   // enable_script_security
	users       userDB
	self        ids // the daemon's effective ids
}

func newScriptEnv(g kaconf.Global) *scriptEnv {
	return &scriptEnv{
		user: g.ScriptUser, group: g.ScriptGroup, security: g.ScriptSecurity,
		users: osUsers{},
		self:  ids{uint32(os.Geteuid()), uint32(os.Getegid())},
	}
}

// identity returns the ids a command runs as and how the configuration
// names them.
func (e *scriptEnv) identity(c kaconf.Command) (ids, string, error) {
	name, group := c.User, c.Group
	switch {
	case name != "":
	case e.user != "":
		name, group = e.user, e.group
	default:
		if id, err := e.users.user(defaultScriptUser); err == nil {
			return id, defaultScriptUser, nil
		}
		return e.self, "the daemon's own user", nil
	}
	id, err := e.users.user(name)
	if err != nil {
		return ids{}, "", fmt.Errorf("user %s: %w", name, err)
	}
	who := name
	if group != "" {
		if id.gid, err = e.users.group(group); err != nil {
			return ids{}, "", fmt.Errorf("group %s: %w", group, err)
		}
		who += " " + group
	}
	return id, who, nil
}

// errScriptDisabled marks a script vrrpd will not run.
var errScriptDisabled = errors.New("disabled")

// exec prepares a command to run, or says why it must not run (wrapping
// errScriptDisabled) and what to warn about even when it runs.
func (e *scriptEnv) exec(c kaconf.Command) (cmd *health.Exec, warnings []string, err error) {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return nil, nil, fmt.Errorf("%w: empty command", errScriptDisabled)
	}
	id, who, err := e.identity(c)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errScriptDisabled, err)
	}
	path := c.Args[0]
	if !strings.Contains(path, "/") {
		found, ok := lookPath(path, id)
		if !ok {
			return nil, nil, fmt.Errorf("%w: cannot find %s in %s executable for %s", errScriptDisabled, path, scriptPath, id)
		}
		warnings = append(warnings, fmt.Sprintf("WARNING - script `%s` resolved by path search to `%s`. Please specify full path.", path, found))
		path = found
	}
	fi, serr := os.Stat(path)
	if serr != nil {
		return nil, warnings, fmt.Errorf("%w: %s not found", errScriptDisabled, path)
	}
	if !fi.Mode().IsRegular() {
		return nil, warnings, fmt.Errorf("%w: %s is not a regular file", errScriptDisabled, path)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if !executable(st, id) {
		return nil, warnings, fmt.Errorf("%w: %s is not executable for %s (%s)", errScriptDisabled, path, id, who)
	}
	if needsProtection(st, id) {
		if why := insecurePath(path); why != "" {
			if e.security {
				return nil, warnings, fmt.Errorf("%w: unsafe permissions (%s) and enable_script_security is set", errScriptDisabled, why)
			}
			warnings = append(warnings, fmt.Sprintf("Unsafe permissions found for script '%s' (%s); running it because enable_script_security is not set", path, why))
		}
	}
	ex := &health.Exec{Path: path, Args: c.Args[1:], Env: scriptEnviron()}
	if id != e.self {
		ex.Credential = &health.Credential{UID: id.uid, GID: id.gid}
	}
	return ex, warnings, nil
}

// scriptEnviron is a script's whole environment, before notify's
// variables.
func scriptEnviron() []string { return []string{"PATH=" + scriptPath} }

// lookPath finds a bare program name in scriptPath: the first regular
// file there that id may execute.
func lookPath(name string, id ids) (string, bool) {
	for _, dir := range filepath.SplitList(scriptPath) {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() && executable(fi.Sys().(*syscall.Stat_t), id) {
			return p, true
		}
	}
	return "", false
}

// executable applies the permission bits as the kernel does for id
// (root may run anything with an execute bit).
func executable(st *syscall.Stat_t, id ids) bool {
	m := st.Mode
	switch {
	case id.uid == 0:
		return m&0o111 != 0
	case id.uid == st.Uid:
		return m&0o100 != 0
	case id.gid == st.Gid:
		return m&0o010 != 0
	}
	return m&0o001 != 0
}

// needsProtection is keepalived's rule: the script runs with root's uid
// or gid, or gains them by its setuid / setgid bit.
func needsProtection(st *syscall.Stat_t, id ids) bool {
	setuidRoot := st.Uid == 0 && st.Mode&syscall.S_ISUID != 0 && st.Mode&0o100 != 0
	setgidRoot := st.Gid == 0 && st.Mode&syscall.S_ISGID != 0 && st.Mode&0o010 != 0
	return id.uid == 0 || id.gid == 0 || setuidRoot || setgidRoot
}

// insecurePath returns why a non-root user could change what runs at
// path, or "": it walks the path from / as the kernel resolves it,
// checking every directory it passes through, every symbolic link (and
// then where the link leads), and the file it arrives at.
func insecurePath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err.Error()
	}
	if why := unsafeEntry("/", mustLstat("/")); why != "" {
		return why
	}
	todo := components(abs)
	cur := "/"
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // checked on the way down
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return err.Error()
		}
		if why := unsafeEntry(next, fi); why != "" {
			return why
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxSymlinks {
				return next + ": too many levels of symbolic links"
			}
			target, err := os.Readlink(next)
			if err != nil {
				return err.Error()
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			todo = append(components(target), todo...)
			continue
		}
		last := len(todo) == 0
		switch {
		case !last && !fi.IsDir():
			return next + " is not a directory"
		case last && !fi.Mode().IsRegular():
			return next + " is not a regular file"
		}
		cur = next
	}
	return ""
}

func components(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func mustLstat(p string) fs.FileInfo {
	fi, _ := os.Lstat(p)
	return fi
}

// unsafeEntry is keepalived's test of one object on a script's path: it
// must belong to root, and a directory without the sticky bit, or a
// file, must not be writable by a non-root group or by others. (A
// symbolic link's own mode means nothing; its owner can replace it.)
func unsafeEntry(p string, fi fs.FileInfo) string {
	if fi == nil {
		return p + ": cannot be read"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return p + ": no owner known"
	}
	if st.Uid != 0 {
		return p + " is owned by uid " + strconv.FormatUint(uint64(st.Uid), 10)
	}
	checked := fi.Mode().IsRegular() || (fi.IsDir() && fi.Mode()&fs.ModeSticky == 0)
	if !checked {
		return ""
	}
	if st.Gid != 0 && fi.Mode().Perm()&0o020 != 0 {
		return p + " is group-writable by gid " + strconv.FormatUint(uint64(st.Gid), 10)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return p + " is world-writable"
	}
	return ""
}
