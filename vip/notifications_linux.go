package vip

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// notificationBuffer is the receive buffer of the sockets that follow the
// kernel's address, route and link notifications. A takeover of 1,000
// addresses makes about 3,000 notifications at once (each address, and
// its local and broadcast routes); the default buffer (about 200 KB) holds
// some 300 before the kernel drops the rest, and then the backends must
// check everything they hold.
const notificationBuffer = 4 << 20

// dialNotifications opens a route netlink socket subscribed to groups,
// with a notificationBuffer receive buffer: past net.core.rmem_max with
// CAP_NET_ADMIN (SO_RCVBUFFORCE), else as far as rmem_max allows.
func dialNotifications(groups uint32) (*netlink.Conn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Groups: groups})
	if err != nil {
		return nil, err
	}
	if err := setNotificationBuffer(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("receive buffer: %w", err)
	}
	return c, nil
}

func setNotificationBuffer(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, notificationBuffer)
	}); err != nil {
		return err
	}
	if serr == nil {
		return nil
	}
	return c.SetReadBuffer(notificationBuffer)
}
