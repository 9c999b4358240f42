package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// TestFollowSwitchover: follow mode, where replication is managed
// elsewhere (here: by hand). The write VIP is on the primary and the
// read VIP on a streaming standby; a manual switchover (stop the primary,
// promote a standby, start the old primary as a standby) moves the write
// VIP within Master_Down_Interval plus one check interval of the
// promotion, measured on the wire (the new holder's first gratuitous
// ARP); the read VIP stays on a standby. Then the new primary's sidecar
// is stopped: it sends priority 0, releases the VIP, and leaves Postgres
// running as the primary.
func TestFollowSwitchover(t *testing.T) {
	c := newCluster(t, clusterSpec{nodes: 3, mode: modeFollow, readVIP: true})
	old, next := c.nodes[0], c.nodes[1]
	c.checkCapabilities()
	c.checkReadVIP(old)
	c.writer.waitAcks(failoverTimeout, time.Time{}, 50)

	// The switchover, by hand: stop the primary cleanly (its standbys
	// receive the shutdown checkpoint), promote a standby that has it,
	// point the other standby and the old primary at the new one.
	capture := c.lab.Capture()
	if out, err := old.pgctl("stop", "-m", "fast", "-w", "-t", "60"); err != nil {
		t.Fatalf("stop %s: %v\n%s", old.name, err, out)
	}
	start := time.Now()
	phase := func(what string) { t.Logf("%v: %s", time.Since(start).Round(time.Millisecond), what) }
	end := shutdownCheckpoint(t, c.env, old)
	next.sidecar.waitStatus(failoverTimeout, "holding the shutdown checkpoint at "+end.String(), func(d statusDoc) bool { return d.ReceiveLSN > end })
	phase("the new primary holds the old one's shutdown checkpoint")
	next.exec("SELECT pg_promote(true, 60)")
	promoted := time.Now()
	phase("promoted")
	third := c.nodes[2]
	third.exec(fmt.Sprintf("ALTER SYSTEM SET primary_conninfo = 'host=%s port=%d user=postgres connect_timeout=2'", next.h.IPv4, pgPort))
	third.exec("SELECT pg_reload_conf()")
	old.makeStandby(next)
	old.startPostgres()
	phase("old primary started as a standby")

	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
	defer cancel()
	garp, err := capture.WaitFor(ctx, func(f netlab.Frame) bool { return isGARP(f, next.h.MAC, writeVIP.Addr()) })
	if err != nil {
		t.Fatalf("no gratuitous ARP for %v from %s: %v", writeVIP.Addr(), next.name, err)
	}
	took := garp.Time.Sub(promoted)
	mdi := vrrp.MasterDownInterval(3, 200, 100*time.Millisecond)
	const check = 200 * time.Millisecond
	// The margin covers the check's own query and a loaded machine.
	const margin = 300 * time.Millisecond
	t.Logf("write VIP on %s %v after pg_promote returned (Master_Down_Interval %v + check interval %v)", next.name, took.Round(time.Millisecond), mdi, check)
	if took > mdi+check+margin {
		t.Errorf("the VIP moved %v after the promotion, more than Master_Down_Interval + one check interval (%v) + %v", took, mdi+check, margin)
	}
	c.waitHealthy(next)
	phase("healthy")
	c.checkReadVIP(next)
	// The old primary is stopped: whatever is acknowledged after the
	// promotion comes from the new one (on a connection that may have
	// started while the VIP was nowhere).
	c.writer.waitAcksAfter(failoverTimeout, promoted, 20)
	c.writer.stop()
	c.checkAcked(next)

	// Clean shutdown of the primary's sidecar.
	mark := len(capture.Frames())
	next.sidecar.stop()
	if hostHas(t, next.h, writeVIP.Addr()) {
		t.Errorf("%s: the write VIP is still on its interface after the sidecar stopped", next.name)
	}
	frames, _ := capture.Since(mark)
	zero := false
	for _, f := range frames {
		if src, vrid, prio, ok := vrrpAdvert(f); ok && src == next.h.IPv4 && vrid == 51 && prio == 0 {
			zero = true
		}
	}
	if !zero {
		t.Errorf("%s: no priority-0 advert on the wire at shutdown", next.name)
	}
	if !strings.Contains(next.sidecar.logText(), "Postgres left as it is") {
		t.Errorf("%s: no shutdown line in the log", next.name)
	}
	var inRecovery bool
	cn, err := next.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close(ctx)
	if err := cn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || inRecovery {
		t.Errorf("%s: Postgres after the sidecar stopped: in recovery %v, %v; want a running primary", next.name, inRecovery, err)
	}
}

// shutdownCheckpoint reads the stopped node's last checkpoint location.
func shutdownCheckpoint(t *testing.T, env pgEnv, n *pgNode) lsn {
	t.Helper()
	out, err := exec.Command(env.bin+"/pg_controldata", "-D", n.data).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_controldata: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Latest checkpoint location:"); ok {
			l, err := parseLSN(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	}
	t.Fatalf("pg_controldata: no checkpoint location:\n%s", out)
	return 0
}

// checkReadVIP checks that the read VIP is on exactly one node, a
// streaming standby, not on the primary p.
func (c *cluster) checkReadVIP(p *pgNode) {
	c.t.Helper()
	holder, err := waitFor(failoverTimeout, func() (*pgNode, bool, error) {
		var holders []*pgNode
		for _, n := range c.nodes {
			if hostHas(c.t, n.h, readVIP.Addr()) {
				holders = append(holders, n)
			}
		}
		if len(holders) == 1 && holders[0] != p {
			return holders[0], true, nil
		}
		return nil, false, nil
	})
	if err != nil {
		c.t.Fatalf("the read VIP is not on exactly one standby")
	}
	d, err := holder.sidecar.status()
	if err != nil || d.Role != roleStandby || d.Read == nil || d.Read.VRRPState != "MASTER" {
		c.t.Errorf("read VIP holder %s: %s %v", holder.name, describe(d), err)
	}
	c.t.Logf("read VIP on %s", holder.name)
}

// checkCapabilities checks that each sidecar runs as the postgres user
// with CAP_NET_ADMIN and CAP_NET_RAW and nothing else.
func (c *cluster) checkCapabilities() {
	c.t.Helper()
	const want = 1<<12 | 1<<13 // CAP_NET_ADMIN, CAP_NET_RAW
	for _, n := range c.nodes {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(n.sidecar.cmd.Process.Pid) + "/status")
		if err != nil {
			c.t.Fatal(err)
		}
		var uid, capEff string
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				uid = strings.Fields(v)[1] // effective
			}
			if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
				capEff = strings.TrimSpace(v)
			}
		}
		caps, _ := strconv.ParseUint(capEff, 16, 64)
		if uid != strconv.Itoa(c.env.uid) || caps != want {
			c.t.Errorf("%s: sidecar runs as uid %s with capabilities %s, want uid %d with %x", n.name, uid, capEff, c.env.uid, want)
		}
	}
}

// isGARP reports a gratuitous ARP request for a from mac.
func isGARP(f netlab.Frame, mac net.HardwareAddr, a netip.Addr) bool {
	d := f.Data
	if len(d) < 42 || binary.BigEndian.Uint16(d[12:14]) != 0x0806 || binary.BigEndian.Uint16(d[20:22]) != 1 {
		return false
	}
	spa, tpa := netip.AddrFrom4([4]byte(d[28:32])), netip.AddrFrom4([4]byte(d[38:42]))
	return string(d[22:28]) == string(mac) && spa == a && tpa == a
}

// vrrpAdvert returns an IPv4 VRRP advert's source, VRID and priority.
func vrrpAdvert(f netlab.Frame) (src netip.Addr, vrid, prio uint8, ok bool) {
	d := f.Data
	if len(d) < 14+20+8 || binary.BigEndian.Uint16(d[12:14]) != 0x0800 {
		return
	}
	ip := d[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != 112 || len(ip) < ihl+8 {
		return
	}
	v := ip[ihl:]
	return netip.AddrFrom4([4]byte(ip[12:16])), v[1], v[2], true
}
