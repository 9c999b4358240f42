package vip

import (
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestRouteWatchGetsOnlyDeletions: the route watch's socket gets none of
// the notifications of an address added, a route added or a route of
// another protocol deleted; the first it gets is the deletion of a route
// of ours.
func TestRouteWatchGetsOnlyDeletions(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	var watch *netlink.Conn
	if err := h.Do(func() (err error) {
		groups := uint32(unix.RTMGRP_IPV4_ROUTE|unix.RTMGRP_IPV6_ROUTE) |
			1<<(unix.RTNLGRP_IPV4_RULE-1) | 1<<(unix.RTNLGRP_IPV6_RULE-1)
		if watch, err = dialNotifications(groups); err != nil {
			return err
		}
		return watch.SetBPF(deletionFilter(ProtoKeepalived))
	}); err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	for _, c := range []string{
		"ip addr add 10.0.0.77/32 dev eth0",
		"ip route add 10.8.0.0/24 dev eth0 proto static",
		"ip route del 10.8.0.0/24 dev eth0 proto static",
		"ip route add 10.9.0.0/24 dev eth0 proto 18",
		"ip route del 10.9.0.0/24 dev eth0 proto 18",
	} {
		if out, err := h.Run("sh", "-c", c); err != nil {
			t.Fatalf("%s: %v %s", c, err, out)
		}
	}
	if err := watch.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	msgs, err := watch.Receive()
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	m := msgs[0]
	var rm rtnetlink.RouteMessage
	if m.Header.Type != unix.RTM_DELROUTE || rm.UnmarshalBinary(m.Data) != nil || rm.Protocol != ProtoKeepalived {
		t.Fatalf("first notification: type %d, protocol %d; want RTM_DELROUTE (%d) of protocol %d",
			m.Header.Type, rm.Protocol, unix.RTM_DELROUTE, ProtoKeepalived)
	}
}
