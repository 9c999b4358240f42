package vrrp_test

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrptest"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/scripts/*.txt")

// TestScripts runs the scenario scripts in testdata/scripts: each block is
// a command, "----", and the expected output (the log lines the command
// caused, with simulated times, and what the command prints), ended by a
// blank line. Run with -rewrite to update the expected output after a
// deliberate change, and review the diff.
//
// Commands:
//
//	node NAME [prio=N] [v2] [interval=D] [nopreempt] [delay=D] [ip=A] [vrid=N,...]
//	     [unicast] [anysrc] [peerttl=MIN-MAX] [pass=P] [ah=P] [startmaster] [sync=G] [lowernoadvert]
//	     [csv2] [anycsum] [ipv6] [novips] [higherprioadvert]
//	start|stop|crash NAME...      start, stop cleanly, or kill nodes
//	advance D                     let D of simulated time pass
//	partition A B | C ...         split the LAN into groups; heal joins them
//	loss P% [NAME]                packet loss on every link (or NAME's)
//	link NAME up|down
//	prio NAME[/ROUTER] N          SetPriority
//	resign NAME[/ROUTER]
//	track NAME[/ROUTER] OBJ [delta=N] [fault] [down]   Track a status
//	state                         print every router's state
//	stats NAME                    print a node's counters
//	calls NAME                    print the Backend calls of a node's routers
//	inject NAME key=value...      deliver a crafted advert to NAME, and let
//	                              the 1 ms pass in which its Node reads it
//	                              (with AH: sealed with the router's key and
//	                              seq=N; with auth_hmac: see script_hmac_test.go)
//	hmac NAME[/ROUTER] off|OPTIONS   SetHMAC (see script_hmac_test.go)
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/scripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runScript(t, f)
		})
	}
}

type scriptBlock struct {
	line    int
	cmd     string
	want    string
	comment string // lines before the command
}

func parseScript(t *testing.T, path string) []scriptBlock {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var blocks []scriptBlock
	var comment []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			comment = append(comment, l)
			continue
		}
		b := scriptBlock{line: i + 1, cmd: l, comment: strings.Join(comment, "\n")}
		comment = nil
		i++
		if i >= len(lines) || lines[i] != "----" {
			t.Fatalf("%s:%d: want ---- after the command", path, i+1)
		}
		var out []string
		for i++; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		b.want = strings.Join(out, "\n")
		blocks = append(blocks, b)
	}
	return blocks
}

func runScript(t *testing.T, path string) {
	synctest.Test(t, func(t *testing.T) { runScriptInBubble(t, path) })
}

func runScriptInBubble(t *testing.T, path string) {
	blocks := parseScript(t, path)
	w := newWorld(t, 1, zapcore.InfoLevel)
	defer w.stopAll()
	var rewritten strings.Builder
	failed := false
	for _, b := range blocks {
		w.takeLines()
		out, err := w.command(b.cmd)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", path, b.line, b.cmd, err)
		}
		w.settled()
		got := strings.Join(append(w.takeLines(), out...), "\n")
		if *rewrite {
			if b.comment != "" {
				rewritten.WriteString(b.comment + "\n")
			}
			rewritten.WriteString(b.cmd + "\n----\n")
			if got != "" {
				rewritten.WriteString(got + "\n")
			}
			rewritten.WriteString("\n")
			continue
		}
		if got != b.want {
			failed = true
			t.Errorf("%s:%d: %s\n--- got:\n%s\n--- want:\n%s", path, b.line, b.cmd, got, b.want)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.TrimSuffix(rewritten.String(), "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if failed {
		t.Log("run with -rewrite to accept the new output")
	}
}

// command runs one script command and returns what it prints.
func (w *world) command(line string) ([]string, error) {
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	switch cmd {
	case "node":
		return nil, w.cmdNode(args)
	case "start", "stop", "crash":
		for _, name := range args {
			sn := w.byName[name]
			if sn == nil {
				return nil, fmt.Errorf("no node %q", name)
			}
			switch cmd {
			case "start":
				sn.start()
			case "stop":
				sn.stop()
			case "crash":
				sn.crash()
			}
		}
		return nil, nil
	case "advance":
		if len(args) != 1 {
			return nil, errors.New("advance DURATION")
		}
		d, err := time.ParseDuration(args[0])
		if err != nil {
			return nil, err
		}
		w.advance(d)
		return nil, nil
	case "partition":
		var groups [][]string
		var g []string
		for _, a := range args {
			if a == "|" {
				groups = append(groups, g)
				g = nil
				continue
			}
			g = append(g, a)
		}
		groups = append(groups, g)
		w.lan.Partition(groups...)
		return nil, nil
	case "heal":
		w.lan.Heal()
		return nil, nil
	case "loss":
		if len(args) < 1 {
			return nil, errors.New("loss P% [NODE]")
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(args[0], "%"), 64)
		if err != nil {
			return nil, err
		}
		cfg := lanLink(p / 100)
		if len(args) > 1 {
			w.lan.SetLink(args[1], cfg)
		} else {
			w.lan.SetAllLinks(cfg)
		}
		return nil, nil
	case "link":
		if len(args) != 2 {
			return nil, errors.New("link NODE up|down")
		}
		w.node(args[0]).host.SetLinkUp(args[1] == "up")
		return nil, nil
	case "prio":
		r, err := w.routerArg(args, 2)
		if err != nil {
			return nil, err
		}
		p, err := strconv.Atoi(args[1])
		if err != nil {
			return nil, err
		}
		return nil, r.SetPriority(p)
	case "resign":
		r, err := w.routerArg(args, 1)
		if err != nil {
			return nil, err
		}
		r.Resign()
		return nil, nil
	case "track":
		r, err := w.routerArg(args, 2)
		if err != nil {
			return nil, err
		}
		s := vrrp.TrackStatus{Name: args[1], Up: true}
		for _, a := range args[2:] {
			switch {
			case strings.HasPrefix(a, "delta="):
				s.Delta, err = strconv.Atoi(strings.TrimPrefix(a, "delta="))
				if err != nil {
					return nil, err
				}
			case a == "fault":
				s.Fault, s.Up = true, false
			case a == "down":
				s.Up = false
			default:
				return nil, fmt.Errorf("track: unknown %q", a)
			}
		}
		if !s.Up {
			s.Reason = "exit status 1"
		}
		r.Track(s)
		return nil, nil
	case "state":
		return []string{w.stateTable()}, nil
	case "calls":
		var out []string
		sn := w.node(args[0])
		for i, r := range sn.routers {
			out = append(out, fmt.Sprintf("%s: %v", r.Name(), sn.backends[i].Calls()))
		}
		return out, nil
	case "stats":
		var out []string
		for _, r := range w.node(args[0]).routers {
			out = append(out, statsLine(r))
		}
		return out, nil
	case "inject":
		return nil, w.cmdInject(args)
	case "hmac":
		return nil, w.cmdHMAC(args)
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

// ipv4AHHeader is the IPv4 header of an AH advert as keepalived sends it.
func ipv4AHHeader(src, dst netip.Addr, ttl uint8, msgLen int) []byte {
	b := make([]byte, 20)
	b[0], b[1] = 0x45, 0xc0
	binary.BigEndian.PutUint16(b[2:], uint16(20+auth.AHLen+msgLen))
	binary.BigEndian.PutUint16(b[4:], 1)
	b[8], b[9] = ttl, auth.ProtocolAH
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	return b
}

// lanLink is the scripts' link: 0.5–1 ms one way, with loss.
func lanLink(loss float64) vrrptest.LinkConfig {
	return vrrptest.LinkConfig{Loss: loss, Delay: 500 * time.Microsecond, Jitter: 500 * time.Microsecond}
}

// routerArg resolves NAME[/ROUTER] in args[0].
func (w *world) routerArg(args []string, n int) (*vrrp.Router, error) {
	if len(args) < n {
		return nil, fmt.Errorf("need %d arguments", n)
	}
	name, router, _ := strings.Cut(args[0], "/")
	sn := w.byName[name]
	if sn == nil || !sn.running {
		return nil, fmt.Errorf("node %q is not running", name)
	}
	return sn.router(router), nil
}

func (w *world) cmdNode(args []string) error {
	if len(args) < 1 {
		return errors.New("node NAME ...")
	}
	name := args[0]
	idx := len(w.nodes) + 1
	spec := nodeSpec{name: name, addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(idx)})}
	base := defaultRouter(1)
	vrids := []int{1}
	var syncGroup string
	var hs hmacSpec
	for _, a := range args[1:] {
		key, val, _ := strings.Cut(a, "=")
		var err error
		if ok, err := hs.option(key, val); ok {
			if err != nil {
				return fmt.Errorf("node %s: %v", a, err)
			}
			continue
		}
		switch key {
		case "prio":
			base.Priority, err = strconv.Atoi(val)
		case "v2":
			base.Version = 2
		case "interval":
			base.Interval, err = time.ParseDuration(val)
		case "nopreempt":
			base.NoPreempt = true
		case "delay":
			base.PreemptDelay, err = time.ParseDuration(val)
		case "ip":
			spec.addr, err = netip.ParseAddr(val)
		case "vrid":
			vrids = nil
			for _, v := range strings.Split(val, ",") {
				var id int
				if id, err = strconv.Atoi(v); err != nil {
					break
				}
				vrids = append(vrids, id)
			}
		case "unicast":
			base.unicast = true
		case "anysrc":
			base.AcceptAnySource = true
		case "peerttl":
			lo, hi, _ := strings.Cut(val, "-")
			var h vrrp.PeerHopLimit
			if h.Min, err = strconv.Atoi(lo); err == nil {
				h.Max, err = strconv.Atoi(hi)
			}
			base.peerTTL = &h
		case "pass":
			base.Version, base.AuthType, base.AuthPass = 2, advert.AuthPass, auth.MustPassword(val)
		case "ah":
			base.Version, base.AuthType, base.AuthPass = 2, advert.AuthAH, auth.MustPassword(val)
		case "startmaster":
			base.StartAsMaster = true
		case "sync":
			syncGroup = val
		case "lowernoadvert":
			base.LowerPriorityNoAdvert = true
		case "ipv6":
			base.IPv6 = true
		case "csv2":
			base.Checksum = advert.ChecksumNoPseudoHeader
		case "anycsum":
			base.AcceptEitherChecksum = true
		case "novips":
			base.noVIPs = true
		case "higherprioadvert":
			base.HigherPriorityAdvert = true
		default:
			return fmt.Errorf("node: unknown option %q", a)
		}
		if err != nil {
			return fmt.Errorf("node %s: %v", a, err)
		}
	}
	base.HMAC = hs.config()
	for _, id := range vrids {
		rs := base
		d := defaultRouter(id)
		rs.Name, rs.VRID, rs.VIPs = d.Name, d.VRID, d.VIPs
		if rs.IPv6 {
			rs.VIPs = []vrrp.VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 13: byte(id), 15: 0x64}), 64)}}
		}
		if rs.noVIPs {
			rs.VIPs = nil
		}
		rs.SyncGroup = syncGroup
		spec.routers = append(spec.routers, rs)
	}
	w.addNode(spec)
	return nil
}

// cmdInject delivers a crafted advert: inject NODE [from=A] [ttl=N]
// [prio=N] [vrid=N] [version=N] [interval=D] [addrs=A,B|none] [pass=P]
// [checksum=bad] [seq=N] (AH: sealed with the router's key).
func (w *world) cmdInject(args []string) error {
	if len(args) < 1 {
		return errors.New("inject NODE ...")
	}
	sn := w.node(args[0])
	r := sn.routers[0]
	cfg := r.Config()
	a := advert.Advert{Version: uint8(cfg.Version), Type: advert.TypeAdvertisement, VRID: uint8(cfg.VRID),
		Priority: 100, Interval: cfg.Interval, AuthType: cfg.AuthType}
	for _, v := range cfg.VIPs {
		a.Addrs = append(a.Addrs, v.Prefix.Addr())
	}
	a.AuthData = cfg.AuthPass
	from := netip.MustParseAddr("10.0.0.99")
	ttl := 255
	badSum := false
	var seq uint32 = 1
	var signer injectSigner
	for _, arg := range args[1:] {
		key, val, _ := strings.Cut(arg, "=")
		var err error
		var n int
		if ok, err := signer.option(w, key, val); ok {
			if err != nil {
				return fmt.Errorf("inject %s: %v", arg, err)
			}
			continue
		}
		switch key {
		case "from":
			from, err = netip.ParseAddr(val)
		case "ttl":
			ttl, err = strconv.Atoi(val)
		case "prio":
			n, err = strconv.Atoi(val)
			a.Priority = uint8(n)
		case "vrid":
			n, err = strconv.Atoi(val)
			a.VRID = uint8(n)
		case "version":
			n, err = strconv.Atoi(val)
			a.Version = uint8(n)
		case "interval":
			a.Interval, err = time.ParseDuration(val)
		case "addrs":
			a.Addrs = nil
			if val == "none" {
				break
			}
			for _, s := range strings.Split(val, ",") {
				var ad netip.Addr
				if ad, err = netip.ParseAddr(s); err != nil {
					break
				}
				a.Addrs = append(a.Addrs, ad)
			}
		case "pass":
			a.AuthData = [8]byte{}
			copy(a.AuthData[:], val)
		case "checksum":
			badSum = val == "bad"
		case "seq":
			var u uint64
			u, err = strconv.ParseUint(val, 10, 32)
			seq = uint32(u)
		default:
			return fmt.Errorf("inject: unknown %q", arg)
		}
		if err != nil {
			return fmt.Errorf("inject %s: %v", arg, err)
		}
	}
	if a.Version == 3 {
		a.AuthType, a.AuthData = 0, [8]byte{}
	}
	dst := advert.GroupIPv4
	msg, err := a.Append(nil, from, dst, advert.ChecksumStandard)
	if err != nil {
		return err
	}
	if badSum {
		msg[6] ^= 0xff
	}
	if msg, err = signer.seal(msg, from, w.clock.Now()); err != nil {
		return err
	}
	p := &advert.Packet{Src: from, Dst: dst, HopLimit: uint8(ttl), Msg: msg}
	if cfg.AuthType == advert.AuthAH {
		key := cfg.AuthPass
		p.IPHeader = ipv4AHHeader(from, dst, uint8(ttl), len(msg))
		p.AH = make([]byte, auth.AHLen)
		if err := auth.NewAH(key, len(cfg.Peers) > 0, 0).SealAH(p.AH, p.IPHeader, msg, seq); err != nil {
			return err
		}
	}
	sn.host.Inject(p)
	w.advance(time.Millisecond) // the Node's read policy lets packets gather 1 ms
	return nil
}
