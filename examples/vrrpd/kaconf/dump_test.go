package kaconf

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/kalab"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// dumpBlock is one object of keepalived's -d dump: its "Key = Value"
// lines and its indented lists ("Tracked scripts :" and the lines below).
type dumpBlock struct {
	values map[string]string
	lists  map[string][]string
}

// keepalivedDump runs keepalived with -d (dump the configuration it
// runs with) on host h until the dump is complete, and returns the VRRP
// instances and scripts it lists, by name. bin is the keepalived to run:
// Debian's 2.2.7 ("keepalived", with -P: VRRP only) or 2.4.3 (built
// without the checker, and without -P).
func keepalivedDump(t *testing.T, h *netlab.Host, bin, conf string) (instances, scripts map[string]*dumpBlock) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{"-n", "-l", "-d", "-f", conf, "-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid")}
	if bin == "keepalived" {
		args = append(args, "-P")
	}
	cmd := h.Command(ctx, bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	stamp := regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: `)
	instances, scripts = map[string]*dumpBlock{}, map[string]*dumpBlock{}
	var section, list string
	var cur *dumpBlock
	var seen []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := stamp.ReplaceAllString(sc.Text(), "")
		seen = append(seen, line)
		if strings.HasPrefix(line, "------<") {
			section, cur = line, nil
			if strings.Contains(line, "Interfaces") {
				return instances, scripts // the last section of interest is done
			}
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := strings.TrimSpace(line)
		switch {
		case indent == 1 && strings.HasPrefix(text, "VRRP Instance = ") && strings.Contains(section, "VRRP Topology"):
			cur = &dumpBlock{values: map[string]string{}, lists: map[string][]string{}}
			instances[strings.TrimPrefix(text, "VRRP Instance = ")] = cur
		case indent == 1 && strings.HasPrefix(text, "VRRP Script = "):
			cur = &dumpBlock{values: map[string]string{}, lists: map[string][]string{}}
			scripts[strings.TrimPrefix(text, "VRRP Script = ")] = cur
		case cur == nil:
		case indent == 3 && strings.HasSuffix(text, ":"):
			list = strings.TrimSpace(strings.TrimSuffix(text, ":"))
			cur.lists[list] = []string{}
		case indent == 3:
			list = ""
			if k, v, ok := strings.Cut(text, " = "); ok {
				cur.values[k] = v
			}
		case indent >= 5 && list != "":
			cur.lists[list] = append(cur.lists[list], text)
		}
	}
	t.Fatalf("keepalived -d ended before its dump was complete:\n%s", strings.Join(seen, "\n"))
	return nil, nil
}

// dumpInterval reads "1 sec" or "250 milli-sec".
func dumpInterval(s string) time.Duration {
	n, unit, _ := strings.Cut(s, " ")
	v, _ := strconv.Atoi(n)
	if unit == "milli-sec" {
		return time.Duration(v) * time.Millisecond
	}
	return time.Duration(v) * time.Second
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// dumpTracks writes tracks as keepalived's dump lists them.
func dumpTracks(ts []Track, comma bool) []string {
	out := []string{}
	for _, tr := range ts {
		sep := " "
		if comma {
			sep = ", "
		}
		s := fmt.Sprintf("%s%sweight %d", tr.Name, sep, tr.Weight)
		if tr.Reverse {
			s += " reverse"
		}
		out = append(out, s)
	}
	return out
}

// compareWithDump checks an instance against what keepalived runs.
func compareWithDump(t *testing.T, in *Instance, k *dumpBlock) {
	t.Helper()
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s: kaconf %q, keepalived %q", in.Name, what, got, want)
		}
	}
	v := k.values
	check("version", strconv.Itoa(in.Version), v["VRRP Version"])
	check("VRID", strconv.Itoa(int(in.VRID)), v["Virtual Router ID"])
	check("priority", strconv.Itoa(int(in.Priority)), v["Priority"])
	check("advert_int", in.AdvertInterval.String(), dumpInterval(v["Advert interval"]).String())
	check("accept", enabled(in.Accept), v["Accept"])
	check("preempt", enabled(in.Preempt), v["Preempt"])
	check("garp delay", seconds(in.GARP.Delay), v["Gratuitous ARP delay"])
	check("garp repeat", strconv.Itoa(in.GARP.Repeat), v["Gratuitous ARP repeat"])
	check("garp refresh", seconds(in.GARP.Refresh), v["Gratuitous ARP refresh"])
	check("garp refresh repeat", strconv.Itoa(in.GARP.RefreshRepeat), v["Gratuitous ARP refresh repeat"])
	check("garp lower prio delay", seconds(in.GARP.LowerPrioDelay), v["Gratuitous ARP lower priority delay"])
	check("garp lower prio repeat", strconv.Itoa(in.GARP.LowerPrioRepeat), v["Gratuitous ARP lower priority repeat"])
	if in.Version == 2 {
		auth := map[AuthType]string{AuthNone: "none", AuthPass: "SIMPLE_PASSWORD", AuthAH: "IPSEC_AH"}[in.Auth.Type]
		check("auth type", auth, v["Authentication type"])
		if in.Auth.Type == AuthPass && v["Password"] != "********" { // 2.4.3 masks it
			check("auth_pass", in.Auth.Password.Reveal(), v["Password"])
		}
	}
	if in.SourceAddr.IsValid() {
		check("source", in.SourceAddr.String()+" (from configuration)", v["Using src_ip"])
	}
	var peers []string
	for _, p := range in.Peers {
		peers = append(peers, fmt.Sprintf("%s min_ttl %d max_ttl %d", p.Addr, p.MinTTL, p.MaxTTL))
	}
	check("unicast peers", strings.Join(peers, "; "), strings.Join(k.lists["Unicast Peer"], "; "))
	check("tracked scripts", strings.Join(dumpTracks(in.TrackScripts, false), "; "), strings.Join(k.lists["Tracked scripts"], "; "))
	check("tracked files", strings.Join(dumpTracks(in.TrackFiles, true), "; "), strings.Join(k.lists["Tracked files"], "; "))
	check("tracked processes", strings.Join(dumpTracks(in.TrackProcesses, true), "; "), strings.Join(k.lists["Tracked processes"], "; "))
	check("tracked interfaces", strings.Join(dumpTracks(in.TrackInterfaces, false), "; "), strings.Join(k.lists["Tracked interfaces"], "; "))
}

// defaultsConf exercises the defaults and rewrites that differ from the
// manual or are easy to get wrong, on the lab host's interface.
const defaultsConf = `global_defs {
    vrrp_garp_master_delay 7
    vrrp_garp_master_repeat 3
    enable_script_security
    script_user root
}
vrrp_script chk_weighted {
    script "/bin/true"
    weight 20 reverse
}
vrrp_script chk_plain {
    script "/bin/true"
    interval 4
}
track_file tf_default {
    file "/run/kaconf-dump-test"
}
vrrp_track_process tp {
    process kaconf-none
}
vrrp_instance OWNER {
    state MASTER
    interface eth0
    virtual_router_id 1
    track_interface {
        lo weight 5
    }
    track_script {
        chk_weighted
        chk_plain
    }
    track_file {
        tf_default
    }
    virtual_ipaddress {
        10.0.0.201
    }
}
vrrp_instance ROUNDED {
    interface eth0
    virtual_router_id 2
    advert_int 2.5
    garp_master_delay 2
    garp_lower_prio_repeat 2
    authentication {
        auth_type PASS
        auth_pass longer-than-eight
    }
    virtual_ipaddress {
        10.0.0.202
    }
}
vrrp_instance V3 {
    interface eth0
    virtual_router_id 3
    version 3
    advert_int 0.255
    virtual_ipaddress {
        10.0.0.203
    }
    track_process {
        tp weight 5 reverse
    }
}
vrrp_instance V6 {
    interface eth0
    virtual_router_id 4
    nopreempt
    no_accept
    virtual_ipaddress {
        fd00::204/64
    }
}
vrrp_instance M1 {
    interface eth0
    virtual_router_id 5
    track_interface {
        lo weight -10 reverse
    }
    track_script {
        chk_weighted
        chk_plain weight 3
    }
    track_file {
        tf_default
    }
    virtual_ipaddress {
        10.0.0.205
    }
}
vrrp_instance M2 {
    interface eth0
    virtual_router_id 6
    priority 90
    virtual_ipaddress {
        10.0.0.206
    }
}
vrrp_sync_group G {
    group {
        M1
        M2
    }
}
`

// TestDefaultsMatchKeepalivedDump compares the model of each testdata
// configuration, and of one written to exercise keepalived's defaults and
// its rewrites of tracking weights, with what keepalived 2.2.7 says it
// runs (keepalived -d).
func TestDefaultsMatchKeepalivedDump(t *testing.T) {
	h := requireKeepalived(t)
	defaults := filepath.Join(t.TempDir(), "defaults.conf")
	if err := os.WriteFile(defaults, []byte(defaultsConf), 0o644); err != nil {
		t.Fatal(err)
	}
	confs := append([]string{defaults}, testdataConfigs(t)...)
	for _, conf := range confs {
		name := filepath.Base(filepath.Dir(conf)) + "-" + filepath.Base(conf)
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(conf, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			skipMissingPrograms(t, cfg)
			abs, _ := filepath.Abs(conf)
			instances, scripts := keepalivedDump(t, h, "keepalived", abs)
			if len(instances) != len(cfg.Instances) {
				t.Errorf("keepalived runs %d instances, kaconf has %d", len(instances), len(cfg.Instances))
			}
			for _, in := range cfg.Instances {
				k := instances[in.Name]
				if k == nil {
					t.Errorf("%s: not in keepalived's dump", in.Name)
					continue
				}
				compareWithDump(t, in, k)
			}
			for _, s := range cfg.Scripts {
				k := scripts[s.Name]
				if k == nil {
					continue // keepalived does not list scripts no instance uses
				}
				timeout := k.values["Timeout"]
				if timeout == "0 sec" { // keepalived's "timeout = interval"
					timeout = k.values["Interval"]
				}
				got := fmt.Sprintf("%s sec/%s sec/%d/%d/%d", seconds(s.Interval), seconds(s.Timeout), s.Weight, s.Rise, s.Fall)
				want := fmt.Sprintf("%s/%s/%s/%s/%s", k.values["Interval"], timeout, strings.TrimSuffix(k.values["Weight"], " reverse"), k.values["Rise"], k.values["Fall"])
				if got != want {
					t.Errorf("vrrp_script %s: kaconf %s, keepalived %s (interval/timeout/weight/rise/fall)", s.Name, got, want)
				}
			}
		})
	}
}

// TestDefaultsMatchKeepalived243Dump: keepalived 2.4.3 runs defaultsConf
// with the same values as the model (and so as 2.2.7): the defaults did
// not change between the two. The scripts are named by their real path:
// 2.4.3 disables a script whose path goes through a symbolic link (/bin
// on a merged-/usr system).
func TestDefaultsMatchKeepalived243Dump(t *testing.T) {
	bin := kalab.Binary(t)
	h := netlab.New(t, 1).Host(1)
	src := strings.ReplaceAll(defaultsConf, `"/bin/true"`, `"/usr/bin/true"`)
	defaults := filepath.Join(t.TempDir(), "defaults.conf")
	if err := os.WriteFile(defaults, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(defaults, nil)
	if err != nil {
		t.Fatal(err)
	}
	instances, _ := keepalivedDump(t, h, bin, defaults)
	if len(instances) != len(cfg.Instances) {
		t.Errorf("keepalived 2.4.3 runs %d instances, kaconf has %d", len(instances), len(cfg.Instances))
	}
	for _, in := range cfg.Instances {
		if k := instances[in.Name]; k == nil {
			t.Errorf("%s: not in keepalived 2.4.3's dump", in.Name)
		} else {
			compareWithDump(t, in, k)
		}
	}
}
