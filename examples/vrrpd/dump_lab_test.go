package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

var rewriteKadump = flag.Bool("rewrite-kadump", false, "store keepalived's own dumps of testdata/kadump/config/keepalived.conf in testdata/kadump")

// keepalivedNewEnv names the keepalived 2.4.3 binary (CI unpacks it).
const keepalivedNewEnv = "VRRPKIT_KEEPALIVED_NEW"

// TestDumpsMatchKeepalivedsLayout: the files vrrpd writes on keepalived's
// DATA, STATS and JSON signals have the layout of keepalived's own dumps
// of the same configuration, run in the same lab: every field vrrpd
// writes is one keepalived writes, in keepalived's order and section;
// the stats are keepalived 2.4.3's fields exactly; the JSON has 2.4.3's
// field names, in its order, with values of the same types.
func TestDumpsMatchKeepalivedsLayout(t *testing.T) {
	conf, err := os.ReadFile(filepath.Join("testdata", "kadump", "config", "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	lab := netlab.New(t, 3)
	ld := newLabDaemon(t, lab)
	h1, h2, h3 := lab.Host(1), lab.Host(2), lab.Host(3)

	vdir, vtmp := t.TempDir(), t.TempDir()
	v := ld.vrrpdEnv(h1, vdir, string(conf), []string{"TMPDIR=" + vtmp})
	v.awaitStatus("every instance started", func(st *Status) bool {
		n := 0
		for _, in := range st.Instances {
			if in.State != "INIT" {
				n++
			}
		}
		return n == 3
	})
	type peer struct {
		name, bin string
		host      *netlab.Host
	}
	var peers []peer
	if bin, ok := netlab.HaveTool(t, "keepalived", "to compare with keepalived 2.2.7's dumps of this run rather than stored ones"); ok {
		peers = append(peers, peer{"keepalived-2.2.7", bin, h2})
	}
	if bin := os.Getenv(keepalivedNewEnv); bin != "" || os.Getenv(netlab.RequireEnv) == "1" {
		peers = append(peers, peer{"keepalived-2.4.3", netlab.NeedToolEnv(t, keepalivedNewEnv, "to compare dumps with keepalived 2.4.3's"), h3})
	} else {
		t.Logf("%s is not set: comparing with the stored dumps of keepalived 2.4.3", keepalivedNewEnv)
	}

	dumps := map[string]map[string][]byte{"vrrpd": signalDumps(t, v, vtmp)}
	for _, p := range peers {
		tmp := t.TempDir()
		k := ld.keepalivedEnv(p.host, p.bin, string(conf), []string{"TMPDIR=" + tmp})
		k.await(0, `\(VI_1\) Entering (BACKUP|MASTER) STATE`)
		k.await(0, `VRRP_Script\(chk_bad\) failed`) // every script has a result
		dumps[p.name] = signalDumps(t, k, tmp)
		if *rewriteKadump {
			for name, b := range dumps[p.name] {
				if err := os.WriteFile(filepath.Join("testdata", "kadump", p.name, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, ver := range []string{"keepalived-2.2.7", "keepalived-2.4.3"} {
		if dumps[ver] != nil {
			continue
		}
		dumps[ver] = make(map[string][]byte)
		for _, name := range []string{dataFile, statsFile, jsonFile} {
			b, err := os.ReadFile(filepath.Join("testdata", "kadump", ver, name))
			if err != nil {
				t.Fatal(err)
			}
			dumps[ver][name] = b
		}
	}
	if testing.Verbose() {
		for name, b := range dumps["vrrpd"] {
			t.Logf("vrrpd's %s:\n%s", name, b)
		}
	}
	compareDumps(t, dumps)
}

// compareDumps checks vrrpd's dumps against keepalived's.
func compareDumps(t *testing.T, dumps map[string]map[string][]byte) {
	t.Helper()
	ours := dumps["vrrpd"]
	for _, ver := range []string{"keepalived-2.2.7", "keepalived-2.4.3"} {
		theirs := dumps[ver]
		// keepalived.data: each block's fields a subsequence of keepalived's.
		ob, tb := dataBlocks(ours[dataFile]), dataBlocks(theirs[dataFile])
		for _, name := range slices.Sorted(mapKeys(ob)) {
			kb, ok := tb[name]
			if !ok {
				t.Errorf("%s: keepalived.data has %q, %s's has not", ver, name, ver)
				continue
			}
			if i, ok := subsequence(ob[name], kb); !ok {
				t.Errorf("%s: keepalived.data %s: field %q is not where %s writes it (ours %q, theirs %q)", ver, name, ob[name][i], ver, ob[name], kb)
			}
		}
		// keepalived.stats: 2.4.3's fields exactly; 2.2.7's within them.
		osk, ts := statsKeys(ours[statsFile]), statsKeys(theirs[statsFile])
		if ver == "keepalived-2.4.3" && !slices.Equal(osk, ts) {
			t.Errorf("%s: keepalived.stats fields differ:\nours   %q\ntheirs %q", ver, osk, ts)
		}
		if i, ok := subsequence(ts, osk); !ok {
			t.Errorf("%s: keepalived.stats lacks %s's %q", ver, ver, ts[i])
		}
		// keepalived.json.
		oj, tj := jsonShape(t, ours[jsonFile]), jsonShape(t, theirs[jsonFile])
		for name, o := range oj {
			k, ok := tj[name]
			if !ok {
				t.Errorf("%s: keepalived.json has instance %s, %s's has not", ver, name, ver)
				continue
			}
			if i, ok := subsequence(o.dataKeys, k.dataKeys); !ok && !(ver == "keepalived-2.4.3" && o.dataKeys[i] == "track_script") {
				t.Errorf("%s: keepalived.json %s data: field %q is not where %s writes it (ours %q, theirs %q)", ver, name, o.dataKeys[i], ver, o.dataKeys, k.dataKeys)
			}
			for key, kind := range o.kinds {
				if tk, ok := k.kinds[key]; ok && tk != kind {
					t.Errorf("%s: keepalived.json %s: %s is a %s, %s writes a %s", ver, name, key, kind, ver, tk)
				}
			}
			if ver == "keepalived-2.4.3" && !slices.Equal(o.statsKeys, k.statsKeys) {
				t.Errorf("%s: keepalived.json %s stats fields differ:\nours   %q\ntheirs %q", ver, name, o.statsKeys, k.statsKeys)
			}
		}
	}
}

// signalDumps sends p the DATA, STATS and JSON signals and returns the
// files that appear in dir.
func signalDumps(t *testing.T, p *proc, dir string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	for _, s := range []struct {
		sig  syscall.Signal
		file string
	}{{syscall.SIGUSR1, dataFile}, {syscall.SIGUSR2, statsFile}, {sigJSON, jsonFile}} {
		if err := p.cmd.Process.Signal(s.sig); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		// keepalived writes its data file in two processes' turns (the
		// parent's global part, then the VRRP child's, Interfaces last)
		// through stdio buffers: a read may come between them. A dump is
		// whole when it is as it was at the read before, and a
		// keepalived data file when it has reached its Interfaces.
		var b, prev []byte
		err := poll(func() bool {
			var err error
			prev = b
			b, err = os.ReadFile(filepath.Join(dir, s.file))
			if err != nil || len(b) == 0 || !bytes.Equal(b, prev) {
				return false
			}
			switch {
			case s.file == jsonFile:
				return json.Valid(b)
			case s.file == dataFile && strings.HasPrefix(p.name, "keepalived"):
				return bytes.Contains(b, []byte("------< Interfaces >------\n"))
			}
			return true
		})
		if err != nil {
			t.Fatalf("%s wrote no %s in %s after signal %d: %v", p.name, s.file, dir, s.sig, err)
		}
		if fi, err := os.Stat(filepath.Join(dir, s.file)); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %s has mode %v, want 0600 as keepalived", p.name, s.file, fi.Mode().Perm())
		}
		out[s.file] = b
	}
	return out
}

var digits = regexp.MustCompile(`[0-9]+`)

// dataBlocks splits keepalived.data into blocks ("Global definitions",
// "VRRP Instance = VI_1", "VRRP Script = chk_ok", ...), each the list of
// its fields: indentation and key ("   State"), lists as "<item>".
func dataBlocks(b []byte) map[string][]string {
	out := make(map[string][]string)
	var section, block string
	for _, line := range strings.Split(string(b), "\n") {
		text := strings.TrimLeft(line, " ")
		indent := len(line) - len(text)
		switch {
		case text == "":
			continue
		case strings.HasPrefix(text, "------<"):
			section = strings.Trim(text, "-<> ")
			block = section
			continue
		case indent == 1 && section != "Global definitions":
			block = text
			if k, v, ok := strings.Cut(text, " = "); ok {
				block = k + " = " + v
			}
			continue
		}
		var key string
		switch {
		case indent >= 5:
			key = "<item>"
		case strings.Contains(text, " = "):
			key, _, _ = strings.Cut(text, " = ")
		case strings.Contains(text, " : "):
			key, _, _ = strings.Cut(text, " : ")
		case strings.HasSuffix(text, ":"):
			key = digits.ReplaceAllString(text, "N")
		default:
			f := strings.Fields(text)
			key = strings.Join(f[:min(2, len(f))], " ")
		}
		key = strings.Repeat(" ", indent) + key
		if l := out[block]; len(l) > 0 && l[len(l)-1] == key && key == strings.Repeat(" ", indent)+"<item>" {
			continue // lists of any length
		}
		out[block] = append(out[block], key)
	}
	return out
}

// statsKeys are keepalived.stats' lines without their values.
func statsKeys(b []byte) []string {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		k, _, _ := strings.Cut(line, ":")
		if strings.HasPrefix(line, "VRRP Instance:") {
			k = line
		}
		out = append(out, k)
	}
	return out
}

type jsonInstanceShape struct {
	dataKeys, statsKeys []string
	kinds               map[string]string
}

// jsonShape reads keepalived.json's instances: their field names in
// order, and the kind of each value.
func jsonShape(t *testing.T, b []byte) map[string]jsonInstanceShape {
	t.Helper()
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("keepalived.json: %v", err)
	}
	out := make(map[string]jsonInstanceShape)
	for _, in := range raw {
		dk, kinds := orderedKeys(t, in["data"])
		sk, _ := orderedKeys(t, in["stats"])
		var d struct {
			IName string `json:"iname"`
		}
		_ = json.Unmarshal(in["data"], &d)
		out[d.IName] = jsonInstanceShape{dataKeys: dk, statsKeys: sk, kinds: kinds}
	}
	return out
}

func orderedKeys(t *testing.T, obj json.RawMessage) ([]string, map[string]string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	kinds := make(map[string]string)
	for k, v := range m {
		switch v[0] {
		case '"':
			kinds[k] = "string"
		case '[':
			kinds[k] = "array"
		case 't', 'f':
			kinds[k] = "bool"
		case '{':
			kinds[k] = "object"
		default:
			kinds[k] = "number"
		}
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 && m[tok] != nil && !slices.Contains(keys, tok) {
				keys = append(keys, tok)
				// skip its value
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return keys, kinds
}

// subsequence reports whether sub's items appear in full in order; when
// not, i is the first that does not.
func subsequence(sub, full []string) (i int, ok bool) {
	j := 0
	for i = range sub {
		for j < len(full) && full[j] != sub[i] {
			j++
		}
		if j == len(full) {
			return i, false
		}
		j++
	}
	return 0, true
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// vrrpdEnv is ld.vrrpd with more environment.
func (ld *labDaemon) vrrpdEnv(h *netlab.Host, dir, text string, env []string, extra ...string) *proc {
	ld.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		ld.t.Fatal(err)
	}
	cfg := writeConf(ld.t, dir, "vrrpd.conf", text)
	args := append([]string{"-n", "-l", "-f", cfg, "-p", filepath.Join(dir, "vrrpd.pid"),
		"--status", "unix:" + filepath.Join(dir, "status.sock"), "--notify-timeout", "5s"}, extra...)
	cmd := h.Command(context.Background(), exe, args...)
	cmd.Env = append(append(os.Environ(), daemonEnv+"=1"), env...)
	return ld.start("vrrpd@"+h.Name, h, dir, cmd)
}

// keepalivedEnv is ld.keepalived for binary bin, with more environment.
func (ld *labDaemon) keepalivedEnv(h *netlab.Host, bin, text string, env []string) *proc {
	ld.t.Helper()
	dir := ld.t.TempDir()
	cfg := writeConf(ld.t, dir, "keepalived.conf", text)
	cmd := h.Command(context.Background(), bin, "--dont-fork", "--log-console", "--no-syslog",
		"-f", cfg, "-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	cmd.Env = append(os.Environ(), env...)
	return ld.start(fmt.Sprintf("%s@%s", filepath.Base(bin), h.Name), h, dir, cmd)
}
