//go:build unix

package health

import (
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// prepare puts the program in a process group of its own, under User and
// Group if set.
func (e *Exec) prepare(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c := e.Credential; c != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{}}
		return nil
	}
	if e.User != "" || e.Group != "" {
		cred, err := credential(e.User, e.Group)
		if err != nil {
			return err
		}
		cmd.SysProcAttr.Credential = cred
	}
	return nil
}

// killGroup kills the program's process group: the program and every
// child it started that has not left the group.
func killGroup(cmd *exec.Cmd) {
	// The negative pid addresses the group.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// credential resolves User and Group the way keepalived does: the group
// defaults to the user's primary group.
func credential(userName, groupName string) (*syscall.Credential, error) {
	cred := &syscall.Credential{Uid: uint32(syscall.Getuid()), Gid: uint32(syscall.Getgid())}
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil && isNumber(userName) {
			u, err = user.LookupId(userName)
		}
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", userName, err)
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("user %s: uid %q: %w", userName, u.Uid, err)
		}
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("user %s: gid %q: %w", userName, u.Gid, err)
		}
		cred.Uid, cred.Gid = uint32(uid), uint32(gid)
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil && isNumber(groupName) {
			g, err = user.LookupGroupId(groupName)
		}
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", groupName, err)
		}
		gid, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("group %s: gid %q: %w", groupName, g.Gid, err)
		}
		cred.Gid = uint32(gid)
	}
	// An empty (non-nil) list makes the child call setgroups(0): a script
	// run as nobody must not keep root's supplementary groups.
	cred.Groups = []uint32{}
	return cred, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}
