package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// defaultPidFile is where vrrpd writes its pid without -p: keepalived's
// rule (RUNSTATEDIR/PROGRAM.pid, as /run/keepalived.pid), under vrrpd's own
// name, so that a keepalived running beside it (its health checkers, say)
// keeps its files.
const defaultPidFile = "/run/vrrpd.pid"

// A pid file is also the daemon's lock: the running daemon holds an
// exclusive flock(2) on it for as long as it runs, so "is one running?" is
// answered by the kernel, not by a pid that may have been reused. It is
// opened without following a symbolic link (O_NOFOLLOW) and must be a
// regular file with one link, so that a link planted in the directory
// cannot make root write elsewhere; the pid is written to a new file in
// the same directory, which then replaces the old one in one rename, so a
// reader never sees a partial file and an error leaves none behind.

// pidFile is a pid file this process holds.
type pidFile struct {
	path    string
	f       *os.File // locked; the file at path
	created bool     // there was no file at path before
	written bool     // f holds our pid
}

// writePidFiles locks every path (empty ones skipped) before writing any,
// refusing when one is held by a running daemon (keepalived refuses too:
// "daemon is already running"), then writes this process's pid to each.
// Release removes them. Two paths naming one file are one pid file.
func writePidFiles(paths ...string) (*pidFiles, error) {
	ps := &pidFiles{}
	seen := make(map[string]bool)
	for _, path := range paths {
		if path == "" {
			continue
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			ps.release()
			return nil, fmt.Errorf("pid file %s: %w", path, err)
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		p, err := lockPidFile(path)
		if err != nil {
			ps.release()
			return nil, err
		}
		ps.files = append(ps.files, p)
	}
	for _, p := range ps.files {
		if err := p.write(); err != nil {
			ps.release()
			return nil, err
		}
	}
	return ps, nil
}

// pidFiles are the pid files of a run.
type pidFiles struct{ files []*pidFile }

// release removes the pid files this process wrote (or created) and that
// still are the ones it holds, and drops the locks.
func (ps *pidFiles) release() {
	if ps == nil {
		return
	}
	for _, p := range ps.files {
		p.release()
	}
	ps.files = nil
}

// lockPidFile opens path and takes its lock, or says who holds it.
func lockPidFile(path string) (*pidFile, error) {
	fail := func(err error) (*pidFile, error) { return nil, fmt.Errorf("pid file %s: %w", path, err) }
	for range 10 {
		p := &pidFile{path: path}
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			fd, err = unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
			p.created = err == nil
			if errors.Is(err, unix.EEXIST) {
				continue // created by another process meanwhile
			}
		}
		if errors.Is(err, unix.ELOOP) {
			return fail(errors.New("is a symbolic link: refusing to follow it"))
		}
		if err != nil {
			return fail(err)
		}
		p.f = os.NewFile(uintptr(fd), path)
		if err := checkRegular(p.f); err != nil {
			p.f.Close()
			return fail(err)
		}
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			p.f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				if pid, ok := readPid(path); ok {
					return fail(fmt.Errorf("vrrpd is already running as pid %d", pid))
				}
				return fail(errors.New("held by a running vrrpd"))
			}
			return fail(fmt.Errorf("lock: %w", err))
		}
		// The lock is on the inode opened; a daemon that locked the file
		// before us may have replaced it since: the lock counts only on
		// the file that is at path.
		if !p.isAtPath() {
			p.f.Close()
			continue
		}
		// A pid file without a lock, left by a daemon that takes none (an
		// older vrrpd, keepalived), may still name a running one.
		if pid, ok := readPid(path); ok && pid != os.Getpid() && runsDaemon(pid) {
			p.f.Close()
			return fail(fmt.Errorf("%s is already running as pid %d", daemonName(pid), pid))
		}
		return p, nil
	}
	return fail(errors.New("replaced again and again by another process"))
}

// checkRegular refuses anything but a regular file with one link: a hard
// link to another file would have us overwrite it.
func checkRegular(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("not a regular file")
	}
	if st.Nlink != 1 {
		return fmt.Errorf("has %d links: refusing to write through a hard link", st.Nlink)
	}
	return nil
}

// isAtPath reports whether p.f is the file at p.path (which is no
// symbolic link).
func (p *pidFile) isAtPath() bool {
	var held, now unix.Stat_t
	if unix.Fstat(int(p.f.Fd()), &held) != nil || unix.Lstat(p.path, &now) != nil {
		return false
	}
	return held.Dev == now.Dev && held.Ino == now.Ino
}

// write replaces the file at p.path by a new one holding our pid, locked
// before it takes the place: at no time is the file at path unlocked or
// partly written.
func (p *pidFile) write() error {
	fail := func(err error) error { return fmt.Errorf("pid file %s: %w", p.path, err) }
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(p.path), "."+filepath.Base(p.path)+"."+hex.EncodeToString(rnd[:]))
	fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fail(err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	abort := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fail(err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return abort(fmt.Errorf("lock: %w", err))
	}
	if err := unix.Fchmod(fd, 0o644); err != nil { // not the umask's
		return abort(err)
	}
	if _, err := f.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		return abort(err)
	}
	if err := f.Sync(); err != nil {
		return abort(err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		return abort(err)
	}
	p.f.Close() // the replaced file, and its lock
	p.f, p.written = f, true
	return nil
}

// release removes the pid file if it is still the one this process holds
// and it wrote (or created) it, then drops the lock. Removing before
// unlocking means no other daemon can take the file between the two.
func (p *pidFile) release() {
	if p.f == nil {
		return
	}
	if (p.written || p.created) && p.isAtPath() {
		os.Remove(p.path)
	}
	p.f.Close()
	p.f = nil
}

// readPid reads the pid in path; ok is false when there is none.
func readPid(path string) (pid int, ok bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	b := make([]byte, 32)
	n, _ := f.Read(b)
	pid, err = strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid, err == nil && pid > 0
}

func selfExe() string { return exeOf("self") }

// exeOf is the program process proc ("self" or a pid) runs, without the
// " (deleted)" the kernel appends when the file was replaced (an upgrade
// while the old daemon runs is still the same daemon).
func exeOf(proc string) string {
	p, err := os.Readlink("/proc/" + proc + "/exe")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(p, " (deleted)")
}

// daemonName names the daemon process pid runs, for a message.
func daemonName(pid int) string {
	if exe := exeOf(strconv.Itoa(pid)); exe != "" && exe != selfExe() {
		return filepath.Base(exe)
	}
	return "vrrpd"
}

// runsDaemon reports whether process pid is alive and runs vrrpd (this
// program) or keepalived: two VRRP daemons on one host would fight over
// the same VIPs. When it is alive but its program cannot be read (another
// user's process, a zombie), it counts as running: refusing to start is
// the safe mistake.
func runsDaemon(pid int) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	other := exeOf(strconv.Itoa(pid))
	self := selfExe()
	return other == "" || self == "" || other == self || filepath.Base(other) == "keepalived"
}
