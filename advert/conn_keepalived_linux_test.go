package advert

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startKeepalived runs keepalived (VRRP only, in the foreground, logging
// to the console) in the host with the config; the lab kills it at cleanup.
// Its pid files go to a temporary directory so that several instances can
// run on one machine.
func startKeepalived(t *testing.T, h *netlab.Host, conf string) *syncBuffer {
	t.Helper()
	netlab.NeedTool(t, "keepalived", "as the interoperability peer")
	dir := t.TempDir()
	conf, err := filepath.Abs(conf)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd := h.Command(context.Background(), "keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp",
		"--use-file", conf, "--config-id", h.Namespace,
		"--pid", filepath.Join(dir, "keepalived.pid"), "--vrrp_pid", filepath.Join(dir, "vrrp.pid"),
		"--checkers_pid", filepath.Join(dir, "checkers.pid"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived output:\n%s", out.String())
		}
	})
	return &out
}

// keepalivedComplaint matches what keepalived logs about an advert it
// rejects ("invalid ttl", "Invalid VRRPv3 checksum", "IPSEC-AH : invalid
// ...", "bad ...", interval or address mismatches, "received an invalid
// ...").
var keepalivedComplaint = regexp.MustCompile(`(?i)invalid|checksum|ipsec-ah|\bttl\b|bad |mismatch|error|wrong|discard`)

// interopInstance is one vrrp_instance of testdata/interop-keepalived.conf.
type interopInstance struct {
	name    string
	vrid    uint8
	version uint8
	ipv6    bool
	unicast bool
	auth    AuthType
	vip     netip.Addr
}

var interopInstances = []interopInstance{
	{"V2_PASS", 11, 2, false, false, AuthPass, netip.MustParseAddr("10.0.0.111")},
	{"V2_AH", 12, 2, false, false, AuthAH, netip.MustParseAddr("10.0.0.112")},
	{"V2_AH_UNICAST", 13, 2, false, true, AuthAH, netip.MustParseAddr("10.0.0.113")},
	{"V3_IPV4", 14, 3, false, false, AuthNone, netip.MustParseAddr("10.0.0.114")},
	{"V3_IPV4_UNICAST", 15, 3, false, true, AuthNone, netip.MustParseAddr("10.0.0.115")},
	{"V3_IPV6", 16, 3, true, false, AuthNone, netip.MustParseAddr("fd00::116")},
	{"V3_IPV6_UNICAST", 17, 3, true, true, AuthNone, netip.MustParseAddr("fd00::117")},
}

// TestConnInteropKeepalived: keepalived 2.2.7 on h1 runs one instance per
// mode (v2 PASS, v2 AH multicast and unicast, v3 IPv4 multicast and
// unicast, v3 IPv6 multicast and unicast). Our Conns on h2 receive and
// decode every instance's adverts; then adverts we send with a higher
// priority make every instance step down to BACKUP, and keepalived
// complains about none of them.
func TestConnInteropKeepalived(t *testing.T) {
	lab := netlab.New(t, 2)
	h1, h2 := lab.Host(1), lab.Host(2)
	c4 := listenOn(t, h2, Config{AH: true})
	c6 := listenOn(t, h2, Config{IPv6: true})
	in4, in6 := receiveAll(c4), receiveAll(c6)
	log := startKeepalived(t, h1, "testdata/interop-keepalived.conf")
	sealer := newKeepalivedAH("key12345")

	// keepalived → us. Its instances start as BACKUP and become MASTER
	// after Master_Down_Interval (3 s + skew).
	byVRID := map[uint8]interopInstance{}
	for _, in := range interopInstances {
		byVRID[in.vrid] = in
	}
	seen := map[uint8]bool{}
	deadline := time.After(15 * time.Second)
	for len(seen) < len(interopInstances) {
		var p Packet
		select {
		case g := <-in4:
			p = g.p
			if g.err != nil {
				t.Fatal(g.err)
			}
		case g := <-in6:
			p = g.p
			if g.err != nil {
				t.Fatal(g.err)
			}
		case <-deadline:
			t.Fatalf("adverts seen from VRIDs %v only", seen)
		}
		var a Advert
		if _, err := a.Decode(p.Msg, p.Src, p.Dst, ChecksumStandard); err != nil {
			t.Errorf("keepalived advert from %v to %v: %v", p.Src, p.Dst, err)
			continue
		}
		in, ok := byVRID[a.VRID]
		if !ok || seen[a.VRID] {
			continue
		}
		seen[a.VRID] = true
		wantSrc, wantDst, wantHL := h1.IPv4, GroupIPv4, uint8(255)
		switch {
		case in.ipv6 && in.unicast:
			// keepalived sends IPv6 unicast with the default hop limit.
			wantSrc, wantDst, wantHL = h1.IPv6, h2.IPv6, 64
		case in.ipv6:
			wantSrc, wantDst = h1.LinkLocal, GroupIPv6
		case in.unicast:
			wantDst = h2.IPv4
		}
		if p.Src != wantSrc || p.Dst != wantDst || p.HopLimit != wantHL {
			t.Errorf("%s: received %v → %v hop limit %d, want %v → %v hop limit %d", in.name, p.Src, p.Dst, p.HopLimit, wantSrc, wantDst, wantHL)
		}
		if a.Version != in.version || a.Priority != 100 || a.AuthType != in.auth || len(a.Addrs) != 1 || a.Addrs[0] != in.vip {
			t.Errorf("%s: decoded %+v", in.name, a)
		}
		if in.auth == AuthPass && string(a.AuthData[:]) != "secret12" {
			t.Errorf("%s: password %q", in.name, a.AuthData)
		}
		if in.auth == AuthAH && !sealer.verify(p.IPHeader, p.AH, p.Msg) {
			t.Errorf("%s: AH from keepalived does not verify: %x %x", in.name, p.IPHeader, p.AH)
		}
	}

	// us → keepalived: priority 200 beats its 100 in every instance.
	// A sequence number above keepalived's own, growing with each send.
	seq := uint32(1000)
	send := func() {
		for _, in := range interopInstances {
			c, src, dst := c4, h2.IPv4, GroupIPv4
			switch {
			case in.ipv6 && in.unicast:
				c, src, dst = c6, h2.IPv6, h1.IPv6
			case in.ipv6:
				c, src, dst = c6, h2.LinkLocal, GroupIPv6
			case in.unicast:
				dst = h1.IPv4
			}
			a := &Advert{Version: in.version, VRID: in.vrid, Priority: 200, Interval: time.Second, AuthType: in.auth, Addrs: []netip.Addr{in.vip}}
			if in.auth == AuthPass {
				copy(a.AuthData[:], "secret12")
			}
			p := &Packet{Src: src, Dst: dst, Msg: encode(t, a, src, dst)}
			if in.auth == AuthAH {
				seq++
				p.Sealer, p.Seq = sealer, seq
			}
			if err := c.Send(p); err != nil {
				t.Fatalf("%s: %v", in.name, err)
			}
		}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline = time.After(10 * time.Second)
	for {
		send()
		out := log.String()
		var waiting []string
		for _, in := range interopInstances {
			// After it became MASTER, it stepped down because of us.
			i := strings.LastIndex(out, "("+in.name+") Entering MASTER STATE")
			if i < 0 || !strings.Contains(out[i:], "("+in.name+") Entering BACKUP STATE\n") {
				waiting = append(waiting, in.name)
			}
		}
		if len(waiting) == 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("still MASTER after our higher-priority adverts: %v", waiting)
		case <-tick.C:
		}
	}
	if testing.Verbose() {
		t.Logf("keepalived:\n%s", log.String())
	}
	for _, line := range strings.Split(log.String(), "\n") {
		if keepalivedComplaint.MatchString(line) {
			t.Errorf("keepalived complains: %s", line)
		}
	}
}
