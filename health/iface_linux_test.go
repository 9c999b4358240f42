package health

import (
	"context"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// openInterface opens the check inside the host's namespace: its netlink
// sockets stay there, while the test runs in its own.
func openInterface(t *testing.T, h *netlab.Host, name string) *Interface {
	t.Helper()
	var ifc *Interface
	if err := h.Do(func() (err error) { ifc, err = NewInterface(name); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ifc.Close() })
	return ifc
}

// waitState waits (polling the cached state that netlink events update)
// until the check says up/down with the reason.
func waitState(t *testing.T, ifc *Interface, up bool, reason string) {
	t.Helper()
	waitFor(t, reason, func() bool {
		u, r := ifc.Up()
		return u == up && r == reason
	})
}

// TestInterfaceFollowsLinkInLab takes a real interface down and up in a
// network namespace: loss of carrier (the other end of the veth goes down)
// and administrative down are both down, as keepalived judges
// track_interface (IFF_UP and IFF_RUNNING).
func TestInterfaceFollowsLinkInLab(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	ifc := openInterface(t, h, h.Ifname)
	if up, reason := ifc.Up(); !up || reason != "up and running" {
		t.Fatalf("initially %v %q, want up and running", up, reason)
	}

	ch := ifc.Changed()
	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no change notified for carrier loss")
	}
	waitState(t, ifc, false, "no carrier")
	if r := ifc.Check(t.Context()); r.Up || r.Reason != "no carrier" {
		t.Errorf("Check %+v, want down, no carrier", r)
	}
	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	waitState(t, ifc, true, "up and running")

	if _, err := h.Run("ip", "link", "set", h.Ifname, "down"); err != nil {
		t.Fatal(err)
	}
	waitState(t, ifc, false, "administratively down")
	if _, err := h.Run("ip", "link", "set", h.Ifname, "up"); err != nil {
		t.Fatal(err)
	}
	waitState(t, ifc, true, "up and running")
}

// TestInterfaceAppearsAndGoes: keepalived tracks interfaces that do not
// exist yet; deleting or renaming the interface is down.
func TestInterfaceAppearsAndGoes(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	ifc := openInterface(t, h, "vk0")
	waitState(t, ifc, false, "no such interface")
	run := func(args ...string) {
		t.Helper()
		if out, err := h.Run("ip", args...); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	run("link", "add", "vk0", "type", "veth", "peer", "name", "vk0p")
	waitState(t, ifc, false, "administratively down")
	run("link", "set", "vk0", "up")
	waitState(t, ifc, false, "no carrier")
	run("link", "set", "vk0p", "up")
	waitState(t, ifc, true, "up and running")
	run("link", "set", "vk0", "down")
	run("link", "set", "vk0", "name", "vk1")
	waitState(t, ifc, false, "renamed to vk1")
	run("link", "set", "vk1", "name", "vk0")
	run("link", "set", "vk0", "up")
	waitState(t, ifc, true, "up and running")
	run("link", "del", "vk0")
	waitState(t, ifc, false, "deleted")
}

// TestTrackerInterfaceWeightZeroIsFault runs the interface check through a
// Tracker the way vrrpd maps "track_interface { eth0 }" (weight 0) and
// "eth0 weight -30": link down is Fault, or priority -30.
func TestTrackerInterfaceWeightZeroIsFault(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	ifc := openInterface(t, h, h.Ifname)
	fault := make(chan vrrp.TrackStatus, 16)
	weighted := make(chan vrrp.TrackStatus, 16)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go (&Tracker{Name: h.Ifname, Check: ifc}).Run(ctx, nil, func(s vrrp.TrackStatus) { fault <- s })
	go (&Tracker{Name: h.Ifname, Check: ifc, Weight: -30}).Run(ctx, nil, func(s vrrp.TrackStatus) { weighted <- s })
	for _, c := range []chan vrrp.TrackStatus{fault, weighted} {
		nextReport(t, c) // initial
		if s := nextReport(t, c); !s.Up || s.Fault || s.Delta != 0 {
			t.Fatalf("link up: %+v", s)
		}
	}
	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	if s := nextReport(t, fault); !s.Fault || s.Reason != "no carrier" {
		t.Errorf("weight 0, link down: %+v, want Fault", s)
	}
	if s := nextReport(t, weighted); s.Fault || s.Delta != -30 {
		t.Errorf("weight -30, link down: %+v, want delta -30", s)
	}
	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	if s := nextReport(t, fault); s.Fault || !s.Up {
		t.Errorf("weight 0, link up: %+v, want up", s)
	}
	if s := nextReport(t, weighted); s.Delta != 0 || !s.Up {
		t.Errorf("weight -30, link up: %+v, want delta 0", s)
	}
}

// TestInterfaceCloseIsIdempotent: concurrent and repeated Closes all
// return nil and none panics (a double close of the done channel did, and
// the netlink sockets were closed twice).
func TestInterfaceCloseIsIdempotent(t *testing.T) {
	for range 10 {
		ifcs := make([]*Interface, 50)
		for i := range ifcs {
			ifc, err := NewInterface("lo")
			if err != nil {
				t.Fatal(err)
			}
			ifcs[i] = ifc
		}
		if err := closeConcurrently(ifcs); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, ifc := range ifcs {
			if err := ifc.Close(); err != nil {
				t.Fatalf("Close after Close: %v", err)
			}
		}
	}
}
