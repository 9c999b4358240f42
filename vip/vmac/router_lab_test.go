//go:build linux

package vmac

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// vmacRouter is what an embedding program runs for a router on a VMAC: a
// Manager, vip's Linux backend, the socket network wrapped by
// Manager.Network, and a Node, all in one lab host.
type vmacRouter struct {
	h      *netlab.Host
	m      *Manager
	r      *vrrp.Router
	cancel context.CancelFunc
	done   chan error
	stopFn func()
}

func startVMACRouter(t *testing.T, h *netlab.Host, prio int, sched vip.Schedule) *vmacRouter {
	t.Helper()
	log := zaptest.NewLogger(t).Named(h.Name)
	vr := &vmacRouter{h: h, done: make(chan error, 1)}
	var backend *vip.Linux
	var sn *vrrp.SocketNetwork
	if err := h.Do(func() (err error) {
		if vr.m, err = New(Config{Logger: log}); err != nil {
			return err
		}
		if backend, err = vip.NewLinux(vip.LinuxConfig{Logger: log, Schedule: &sched}); err != nil {
			return err
		}
		sn, err = vrrp.NewSocketNetwork()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := vr.m.Add(ctx, Spec{Base: "eth0", VRID: 51})
	if err != nil {
		t.Fatal(err)
	}
	vr.r, err = vrrp.NewRouter(vrrp.Config{Name: "VI_1", VRID: 51, Interface: v.Name, Priority: prio,
		Interval: 100 * time.Millisecond, Backend: backend,
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}},
		vrrp.NodeConfig{Network: vr.m.Network(sn), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	vr.cancel = cancel
	go func() { vr.done <- vr.r.Run(runCtx) }()
	stopped := false
	vr.stopFn = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-vr.done; err != nil {
			t.Errorf("%s: run: %v", h.Name, err)
		}
		if err := backend.Close(); err != nil {
			t.Errorf("%s: backend: %v", h.Name, err)
		}
		sn.Close()
		if err := vr.m.Close(); err != nil {
			t.Errorf("%s: vmac: %v", h.Name, err)
		}
	}
	t.Cleanup(vr.stop)
	return vr
}

func (vr *vmacRouter) stop() { vr.stopFn() }

func (vr *vmacRouter) await(t *testing.T, s vrrp.State) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := vr.r.WaitState(ctx, s); err != nil {
		t.Fatalf("%s: not %v: %v", vr.h.Name, s, err)
	}
}

// frame is what the test reads off a captured frame.
type frame struct {
	t      time.Time
	srcMAC net.HardwareAddr
	kind   string     // "vrrp", "garp", "arp", "igmp", "mld", "other"
	src    netip.Addr // IP source (vrrp); the announced address (garp)
	prio   uint8
}

func parse(f netlab.Frame) frame {
	d := f.Data
	out := frame{t: f.Time, srcMAC: net.HardwareAddr(d[6:12]), kind: "other"}
	switch binary.BigEndian.Uint16(d[12:14]) {
	case 0x0806:
		a := d[14:]
		out.kind = "arp"
		if len(a) >= 28 && bytes.Equal(a[14:18], a[24:28]) {
			out.kind, out.src = "garp", netip.AddrFrom4([4]byte(a[14:18]))
		}
	case 0x0800:
		ip := d[14:]
		payload := ip[int(ip[0]&0x0f)*4:]
		switch ip[9] {
		case 112:
			out.kind, out.src, out.prio = "vrrp", netip.AddrFrom4([4]byte(ip[12:16])), payload[2]
		case 2:
			out.kind = "igmp"
		}
	case 0x86dd:
		ip := d[14:]
		nh, payload := ip[6], ip[40:]
		if nh == 0 && len(payload) > 8 { // hop-by-hop options (MLD's router alert)
			nh, payload = payload[0], payload[(int(payload[1])+1)*8:]
		}
		if nh == 58 && len(payload) > 0 && (payload[0] == 131 || payload[0] == 143) {
			out.kind = "mld"
		}
	}
	return out
}

// With the router on a VMAC, adverts and gratuitous ARPs leave with the
// virtual MAC and the router's own address, the LAN's switch learns the
// virtual MAC on the master's port, a takeover moves it at the new
// master's first advert with no gratuitous ARP at all (a client keeps its
// ARP entry and reaches the VIP at the new master), and a backup never
// sends from the virtual MAC: its IGMP reports leave from its own MAC.
func TestRoutersOnVMACsOnTheWire(t *testing.T) {
	netlab.NeedTool(t, "ping", "a client on the LAN resolves and reaches the VIP")
	lab := netlab.New(t, 3)
	h1, h2, h3 := lab.Host(1), lab.Host(2), lab.Host(3)
	capture := lab.Capture()
	vmacAddr := Address(51, false)
	vipAddr := netip.MustParseAddr("10.0.0.100")
	r1 := startVMACRouter(t, h1, 200, vip.Schedule{Repeat: 2})
	r1.await(t, vrrp.Master)
	started2 := time.Now()
	// No announcements at all from h2: the switch must follow the adverts.
	r2 := startVMACRouter(t, h2, 100, vip.Schedule{})
	r2.await(t, vrrp.Backup)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wait := func(what string, match func(frame) bool) frame {
		t.Helper()
		f, err := capture.WaitFor(ctx, func(f netlab.Frame) bool { return match(parse(f)) })
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return parse(f)
	}
	wait("an advert of h1 from the virtual MAC", func(f frame) bool {
		return f.kind == "vrrp" && f.src == h1.IPv4 && bytes.Equal(f.srcMAC, vmacAddr)
	})
	wait("a gratuitous ARP of the VIP from the virtual MAC", func(f frame) bool {
		return f.kind == "garp" && f.src == vipAddr && bytes.Equal(f.srcMAC, vmacAddr)
	})
	wait("h2's IGMP report, from its own MAC", func(f frame) bool {
		return f.kind == "igmp" && bytes.Equal(f.srcMAC, h2.MAC) && f.t.After(started2)
	})
	if got, err := lab.FDBHost(vmacAddr); err != nil || got != h1 {
		t.Fatalf("the bridge has the virtual MAC on %v (%v), want h1", got, err)
	}
	// The client resolves the VIP to the virtual MAC.
	if out, err := h3.Run("ping", "-c", "1", "-W", "2", vipAddr.String()); err != nil {
		t.Fatalf("ping the VIP at h1: %v\n%s", err, out)
	}
	neigh := func() string {
		out, _ := h3.Run("ip", "neigh", "show", vipAddr.String())
		return out
	}
	if n := neigh(); !strings.Contains(n, vmacAddr.String()) {
		t.Fatalf("h3 resolved the VIP to %q, want the virtual MAC", n)
	}

	// h1 stops: h2 takes over; the bridge moves the virtual MAC at h2's
	// first advert.
	stoppedAt := time.Now()
	r1.stop()
	r2.await(t, vrrp.Master)
	first := wait("h2's first advert as master", func(f frame) bool {
		return f.kind == "vrrp" && f.src == h2.IPv4 && f.prio > 0 && f.t.After(stoppedAt)
	})
	if !bytes.Equal(first.srcMAC, vmacAddr) {
		t.Errorf("h2's advert came from %v, want the virtual MAC", first.srcMAC)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := lab.FDBHost(vmacAddr)
		if err == nil && got == h2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bridge still has the virtual MAC on %v (%v) after h2's adverts", got, err)
		}
		<-tick.C
	}
	if n := neigh(); !strings.Contains(n, vmacAddr.String()) {
		t.Errorf("h3's entry for the VIP changed: %q", n)
	}
	if out, err := h3.Run("ping", "-c", "1", "-W", "2", vipAddr.String()); err != nil {
		t.Errorf("ping the VIP at h2 without a gratuitous ARP: %v\n%s", err, out)
	}

	// h1 comes back with a lower priority: a backup, and never a sender
	// from the virtual MAC.
	back := time.Now()
	r1 = startVMACRouter(t, h1, 50, vip.Schedule{Repeat: 2})
	r1.await(t, vrrp.Backup)
	wait("h1's IGMP report, from its own MAC", func(f frame) bool {
		return f.kind == "igmp" && bytes.Equal(f.srcMAC, h1.MAC) && f.t.After(back)
	})
	// Let h2's adverts go on for a while: the bridge keeps the virtual MAC
	// on h2's port.
	wait("h2's advert a second later", func(f frame) bool {
		return f.kind == "vrrp" && f.src == h2.IPv4 && f.t.After(back.Add(time.Second))
	})
	if got, err := lab.FDBHost(vmacAddr); err != nil || got != h2 {
		t.Errorf("the bridge moved the virtual MAC to %v (%v) while h1 was a backup", got, err)
	}
	r1.stop()
	r2.stop()
	for _, raw := range capture.Frames() {
		f := parse(raw)
		if !bytes.Equal(f.srcMAC, vmacAddr) {
			continue
		}
		switch {
		case f.kind == "vrrp" && (f.src == h1.IPv4 && f.t.After(stoppedAt) && f.prio > 0):
			t.Errorf("%s: h1 advertised from the virtual MAC as a backup", f.t.Format(time.StampMicro))
		case f.kind == "igmp" || f.kind == "mld":
			t.Errorf("%s: %s report from the virtual MAC", f.t.Format(time.StampMicro), f.kind)
		}
	}
}
