package vip

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The notification sockets hold a burst of notifications: the buffer asked
// for as root (past rmem_max), as far as rmem_max allows otherwise.
func TestNotificationSocketsHoldABurst(t *testing.T) {
	c, err := dialNotifications(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := notificationBuffer
	if os.Geteuid() != 0 {
		b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
		if err != nil {
			t.Fatal(err)
		}
		max, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		want = min(want, max)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	// The kernel reports twice what was set (its bookkeeping overhead).
	if got < want {
		t.Errorf("receive buffer %d bytes, want at least %d", got, want)
	}
}
