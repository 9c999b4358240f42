package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// serveFor serves sampleStatus on l with s's bounds until the test ends.
func serveFor(t *testing.T, l net.Listener, s *statusServer) {
	t.Helper()
	s.snapshot = func() Status { return sampleStatus }
	s.log = zaptest.NewLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.serve(ctx, l)
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func defaultServer() *statusServer {
	return &statusServer{maxConns: maxStatusConns, readTimeout: statusReadTimeout, writeTimeout: statusWriteTimeout}
}

// The unix socket is rw for its owner (the daemon's user) and the
// configured group only, whatever the umask, from the moment it can be
// connected to.
func TestStatusSocketIsOwnerAndGroupOnly(t *testing.T) {
	gid := os.Getegid()
	if os.Geteuid() == 0 {
		gid = 4242 // root may give it any group
	}
	path := filepath.Join(t.TempDir(), "status.sock")
	l, err := listenStatus("unix:"+path, statusListen{gid: gid})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 || int(st.Uid) != os.Geteuid() || int(st.Gid) != gid {
		t.Errorf("socket %v uid %d gid %d, want a socket 0660 uid %d gid %d", fi.Mode(), st.Uid, st.Gid, os.Geteuid(), gid)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
	l.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after close: %v", err)
	}
}

// A socket left by a killed daemon is replaced; one a running daemon
// serves on is not taken from it.
func TestStatusSocketOfARunningDaemonIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	first, err := listenStatus(path, statusListen{gid: os.Getegid()})
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	serveFor(t, first, defaultServer())
	if _, err := listenStatus(path, statusListen{gid: os.Getegid()}); err == nil || !strings.Contains(err.Error(), "another daemon serves on it") {
		t.Fatalf("second listener on a live socket: %v", err)
	}
	if _, err := fetchStatus(context.Background(), "unix:"+path); err != nil {
		t.Errorf("the first daemon lost its endpoint: %v", err)
	}
	if err := os.WriteFile(path+".file", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listenStatus(path+".file", statusListen{gid: os.Getegid()}); err == nil {
		t.Error("a regular file was replaced by the socket")
	}
}

// TCP is loopback only, unless allowed: the endpoint has no
// authentication.
func TestStatusTCPIsLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:0", false, true},
		{"[::1]:0", false, true},
		{"localhost:0", false, true},
		{":0", false, false},
		{"0.0.0.0:0", false, false},
		{"[::]:0", false, false},
		{"0.0.0.0:0", true, true},
	} {
		l, err := listenStatus(tc.addr, statusListen{remote: tc.remote})
		if l != nil {
			l.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s (remote %v): %v, want ok %v", tc.addr, tc.remote, err, tc.ok)
		}
		if err != nil && !tc.ok && !strings.Contains(err.Error(), "--status-remote") {
			t.Errorf("%s: %v does not say how to allow it", tc.addr, err)
		}
	}
}

func ask(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "GET /status HTTP/1.1\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// Connections beyond the bound are told 503 at once; the ones that hold a
// slot without asking are closed after the read timeout.
func TestStatusBoundsConnections(t *testing.T) {
	l, err := listenStatus("127.0.0.1:0", statusListen{})
	if err != nil {
		t.Fatal(err)
	}
	s := defaultServer()
	s.maxConns, s.readTimeout = 2, time.Minute
	serveFor(t, l, s)
	addr := l.Addr().String()
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close() // idle: holds a slot
	}
	// Until the server has accepted both idle connections, one more may
	// still be served.
	deadline := time.Now().Add(10 * time.Second)
	for {
		line, err := ask(addr)
		if err != nil {
			t.Fatal(err)
		}
		if line == "HTTP/1.1 503 Service Unavailable" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a third request at once was answered %q, want 503", line)
		}
	}

	l2, err := listenStatus("127.0.0.1:0", statusListen{})
	if err != nil {
		t.Fatal(err)
	}
	s2 := defaultServer()
	s2.readTimeout = 50 * time.Millisecond
	serveFor(t, l2, s2)
	c, err := net.Dial("tcp", l2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 400") {
		t.Errorf("an idle connection got %q, %v; want 400 after the read timeout", line, err)
	}
}

// failingListener fails its first n Accepts as a process out of file
// descriptors does.
type failingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// EMFILE from Accept is waited out, not the end of the endpoint.
func TestStatusSurvivesAcceptErrors(t *testing.T) {
	inner, err := listenStatus("127.0.0.1:0", statusListen{})
	if err != nil {
		t.Fatal(err)
	}
	l := &failingListener{Listener: inner}
	l.n.Store(5)
	serveFor(t, l, defaultServer())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := fetchStatus(ctx, inner.Addr().String())
	if err != nil || st.RouterID != "lb1" {
		t.Fatalf("after %d failed accepts: %v, %v", 5, st, err)
	}
	if l.n.Load() >= 0 {
		t.Errorf("the failures were not all seen: %d left", l.n.Load())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("too slow")
	}
}

// Without --status the daemon serves on the unix socket vrrpd status
// asks by default (the test only reads the option).
func TestDefaultStatusEndpoint(t *testing.T) {
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.status != "unix:/run/vrrpd.sock" || o.statusSet {
		t.Errorf("--status default %q (given %v)", o.status, o.statusSet)
	}
	if o, _ := parseOptions([]string{"--status", "none"}); o == nil || o.status != "none" {
		t.Errorf("--status none: %+v", o)
	}
}
