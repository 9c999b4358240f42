package kaconf

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// testdataDir holds the configurations shared with examples/vrrpd.
const testdataDir = "../testdata"

// testdataConfigs lists every configuration of the five scenarios.
func testdataConfigs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdataDir, "*", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata configurations: %v", err)
	}
	return files
}

func goldenName(conf string) string {
	rel, _ := filepath.Rel(testdataDir, conf)
	return filepath.Join(testdataDir, "golden", strings.ReplaceAll(strings.TrimSuffix(rel, ".conf"), string(filepath.Separator), "-")+".golden")
}

// TestGolden loads every testdata configuration and compares its warnings
// and the configuration written back with all defaults made explicit
// (Format) with testdata/golden. Run with -update to rewrite them after a
// deliberate change, and review the diff.
func TestGolden(t *testing.T) {
	for _, conf := range testdataConfigs(t) {
		t.Run(filepath.Base(filepath.Dir(conf))+"/"+filepath.Base(conf), func(t *testing.T) {
			cfg, err := Load(conf, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var b strings.Builder
			for _, w := range cfg.Warnings {
				rel := strings.TrimPrefix(w.String(), testdataDir+"/")
				b.WriteString("# warning: " + rel + "\n")
			}
			b.WriteString(cfg.Format())
			golden := goldenName(conf)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", golden, b.String())
			}
		})
	}
}

// TestFormatRoundTrip: what Format writes reads back into an equal
// configuration, without warnings.
func TestFormatRoundTrip(t *testing.T) {
	for _, conf := range testdataConfigs(t) {
		cfg, err := Load(conf, nil)
		if err != nil {
			t.Fatalf("%s: %v", conf, err)
		}
		again, err := Parse("formatted.conf", []byte(cfg.FormatWithSecrets()), testOpts)
		if err != nil {
			t.Fatalf("%s: formatted configuration: %v", conf, err)
		}
		if !again.Equal(cfg) {
			t.Errorf("%s: formatted configuration reads back differently:\n%s", conf, again.Format())
		}
		if len(again.Warnings) > 0 {
			t.Errorf("%s: formatted configuration warns: %v", conf, again.Warnings)
		}
	}
}

// The model of each scenario, asserted field by field where it matters
// (the golden files cover the rest).
func TestScenarios(t *testing.T) {
	load := func(name string) *Config {
		t.Helper()
		cfg, err := Load(filepath.Join(testdataDir, name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return cfg
	}
	addr := netip.MustParseAddr
	vip := func(s string) VIP { return VIP{Prefix: netip.MustParsePrefix(s)} }

	t.Run("pass-pair", func(t *testing.T) {
		n1, n2 := load("pass-pair/node1.conf"), load("pass-pair/node2.conf")
		a, b := n1.Instances[0], n2.Instances[0]
		if a.State != Master || a.Priority != 150 || b.State != Backup || b.Priority != 100 {
			t.Errorf("states/priorities %v %d / %v %d", a.State, a.Priority, b.State, b.Priority)
		}
		for _, in := range []*Instance{a, b} {
			if in.VRID != 51 || in.Version != 2 || in.AdvertInterval != time.Second || !in.Preempt ||
				!in.Auth.Equal(Auth{Type: AuthPass, Password: NewSecret("s3cr3tpw")}) ||
				!reflect.DeepEqual(in.VIPs, []VIP{vip("10.0.0.100/24")}) || len(in.Peers) != 0 ||
				in.MulticastGroup != addr("224.0.0.18") || in.GARP != DefaultGARP() {
				t.Errorf("%+v", in)
			}
		}
		if n1.Global.RouterID != "node1" || len(n1.Warnings) != 4 {
			t.Errorf("router id %q, warnings %v", n1.Global.RouterID, n1.Warnings)
		}
	})

	t.Run("postgres-unicast", func(t *testing.T) {
		for i, name := range []string{"pg1", "pg2", "pg3"} {
			cfg := load("postgres-unicast/" + name + ".conf")
			in := cfg.Instances[0]
			self := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
			var peers []Peer
			for j := 1; j <= 3; j++ {
				if j != i+1 {
					peers = append(peers, Peer{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(j)}), MaxTTL: 255})
				}
			}
			if in.Version != 3 || in.SourceAddr != self || !reflect.DeepEqual(in.Peers, peers) || in.Priority != 100 {
				t.Errorf("%s: %+v", name, in)
			}
			want := VIP{Prefix: netip.MustParsePrefix("10.0.0.110/24"), Interface: "eth0", Label: "eth0:pg"}
			if !reflect.DeepEqual(in.VIPs, []VIP{want}) {
				t.Errorf("%s: VIPs %+v", name, in.VIPs)
			}
			// Weight 0 from the script: a failing check means Fault.
			if !reflect.DeepEqual(in.TrackScripts, []Track{{Name: "chk_patroni_primary"}}) {
				t.Errorf("%s: tracks %+v", name, in.TrackScripts)
			}
			s := cfg.Scripts[0]
			if !reflect.DeepEqual(s.Command.Args, []string{"/usr/bin/curl", "-sf", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:8008/primary"}) ||
				s.Interval != 2*time.Second || s.Timeout != 3*time.Second || s.Fall != 2 || s.Rise != 1 || s.Weight != 0 {
				t.Errorf("%s: script %+v", name, s)
			}
			if !cfg.Global.ScriptSecurity || cfg.Global.ScriptUser != "root" {
				t.Errorf("%s: global %+v", name, cfg.Global)
			}
		}
	})

	t.Run("ah-nopreempt-sshd", func(t *testing.T) {
		for i, name := range []string{"node1", "node2"} {
			cfg := load("ah-nopreempt-sshd/" + name + ".conf")
			in := cfg.Instances[0]
			if in.Preempt || in.State != Backup || in.Priority != uint8(150-50*i) ||
				!in.Auth.Equal(Auth{Type: AuthAH, Password: NewSecret("bastion1")}) || in.Version != 2 {
				t.Errorf("%s: %+v", name, in)
			}
			if !reflect.DeepEqual(in.TrackProcesses, []Track{{Name: "track_sshd"}}) {
				t.Errorf("%s: tracks %+v", name, in.TrackProcesses)
			}
			want := &TrackProcess{Name: "track_sshd", Process: "sshd", Quorum: 1, QuorumMax: NoQuorumMax, ForkDelay: 2 * time.Second, TerminateDelay: 2 * time.Second}
			if !cfg.Processes[0].Equal(want) {
				t.Errorf("%s: process %+v", name, cfg.Processes[0])
			}
		}
	})

	t.Run("cloud-unicast", func(t *testing.T) {
		cfg := load("cloud-unicast/node1.conf")
		in := cfg.Instances[0]
		if in.Priority != 110 || in.SourceAddr != addr("10.0.0.1") || !reflect.DeepEqual(in.Peers, []Peer{{Addr: addr("10.0.0.2"), MaxTTL: 255}}) {
			t.Errorf("%+v", in)
		}
		any := in.Notify.Any
		if any == nil || !reflect.DeepEqual(any.NotifyArgs("INSTANCE", in.Name, "MASTER", int(in.Priority)),
			[]string{"/etc/keepalived/failover.sh", "--eni", "eni-0a1b2c3d4e5f60718", "--ip", "10.0.0.130", "INSTANCE", "VI_CLOUD", "MASTER", "110"}) {
			t.Errorf("notify %+v", any)
		}
		if m := in.Notify.Master; m == nil || !reflect.DeepEqual(m.Args, []string{"/usr/bin/logger", "-t", "keepalived", "VI_CLOUD: this node is now master"}) {
			t.Errorf("notify_master %+v", m)
		}
	})

	t.Run("mixed-10", func(t *testing.T) {
		cfg := load("mixed-10/node1.conf")
		if len(cfg.Instances) != 10 {
			t.Fatalf("%d instances", len(cfg.Instances))
		}
		type row struct {
			version  int
			ipv6     bool
			interval time.Duration
			priority uint8
			auth     AuthType
			unicast  bool
		}
		want := map[string]row{
			"VI_EXT":  {2, false, time.Second, 200, AuthPass, false},
			"VI_INT":  {2, false, time.Second, 200, AuthPass, false},
			"VI_LB":   {2, false, time.Second, 150, AuthAH, false},
			"VI_UNI":  {2, false, 2 * time.Second, 150, AuthNone, true},
			"VI_V3":   {3, false, 500 * time.Millisecond, 150, AuthNone, false},
			"VI_FAST": {3, false, 100 * time.Millisecond, 150, AuthNone, true},
			"VI6":     {3, true, time.Second, 150, AuthNone, false},
			"VI6_UNI": {3, true, time.Second, 150, AuthNone, true},
			"VI_DUAL": {3, false, time.Second, 150, AuthNone, false},
			"VI_SLOW": {2, false, time.Second, 150, AuthNone, false},
		}
		for _, in := range cfg.Instances {
			w, ok := want[in.Name]
			got := row{in.Version, in.IPv6, in.AdvertInterval, in.Priority, in.Auth.Type, len(in.Peers) > 0}
			if !ok || got != w {
				t.Errorf("%s: %+v, want %+v", in.Name, got, w)
			}
		}
		// Global garp settings reach every instance; VI_FAST overrides two.
		g := GARP{Repeat: 5, Delay: 10 * time.Second, Refresh: 60 * time.Second, RefreshRepeat: 1, LowerPrioRepeat: 5, LowerPrioDelay: 10 * time.Second}
		fast := g
		fast.Repeat, fast.Delay = 1, 0
		if cfg.Instance("VI_EXT").GARP != g || cfg.Instance("VI_FAST").GARP != fast {
			t.Errorf("garp %+v %+v", cfg.Instance("VI_EXT").GARP, cfg.Instance("VI_FAST").GARP)
		}
		if cfg.Global.ARPInterval != time.Millisecond || cfg.Global.NAInterval != time.Millisecond {
			t.Errorf("intervals %+v", cfg.Global)
		}
		if got := cfg.Instance("VI_EXT").VIPs; len(got) != 4 || got[1].Excluded || !got[2].Excluded {
			t.Errorf("VI_EXT VIPs %+v", got)
		}
		if got := cfg.Instance("VI_DUAL").VIPs; len(got) != 2 || got[1].Prefix.String() != "fd00::108/64" || !got[1].Excluded {
			t.Errorf("VI_DUAL VIPs %+v", got)
		}
		if cfg.Instance("VI_EXT").SyncGroup != "VG_EDGE" || cfg.Instance("VI_INT").SyncGroup != "VG_EDGE" || cfg.Instance("VI_LB").SyncGroup != "" {
			t.Error("sync group membership")
		}
		if got := cfg.Instance("VI_V3").TrackFiles; !reflect.DeepEqual(got, []Track{{"maintenance", -100, false}}) {
			t.Errorf("track file %+v", got)
		}
		if got := cfg.Instance("VI_LB").TrackScripts; !reflect.DeepEqual(got, []Track{{"chk_haproxy", -20, false}}) {
			t.Errorf("track script %+v", got)
		}
		if in := cfg.Instance("VI_SLOW"); in.PreemptDelay != 5*time.Second {
			t.Errorf("preempt delay %v", in.PreemptDelay)
		}
		if in := cfg.Instance("VI6"); in.MulticastGroup != addr("ff02::12") {
			t.Errorf("VI6 group %v", in.MulticastGroup)
		}
		if len(cfg.Warnings) != 0 {
			t.Errorf("warnings %v", cfg.Warnings)
		}
	})
}

// fsGlobTestdata lists the testdata configurations without a *testing.T.
func fsGlobTestdata() ([]string, error) {
	return filepath.Glob(filepath.Join(testdataDir, "*", "*.conf"))
}
