package kaconf

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/kalab"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

const (
	hexKey  = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	textKey = "vrrpkit records keepalived 2.4.3 signing its adverts, key id 7!"
)

// hmacFS holds etc/k.conf's key files: mode 0600 unless the name says.
func hmacFS() fstest.MapFS {
	return fstest.MapFS{
		"etc/k1.key":       {Data: []byte("hex:" + hexKey + "\n"), Mode: 0o600},
		"etc/text.key":     {Data: []byte(textKey + "\r\n"), Mode: 0o600},
		"etc/sub/k.key":    {Data: []byte("hex:" + hexKey), Mode: 0o600},
		"etc/sub/inc.conf": {Data: []byte("    key 3 file:k.key\n"), Mode: 0o644},
		"etc/k644.key":     {Data: []byte("hex:" + hexKey), Mode: 0o644},
		"etc/k640.key":     {Data: []byte("hex:" + hexKey), Mode: 0o640},
		"etc/k602.key":     {Data: []byte("hex:" + hexKey), Mode: 0o602},
		"etc/dir.key/x":    {Data: []byte("x"), Mode: 0o600},
		"etc/big.key":      {Data: []byte(strings.Repeat("a", 5000)), Mode: 0o600},
		"etc/two.key":      {Data: []byte("hex:" + hexKey + "\nhex:" + hexKey), Mode: 0o600},
		"etc/chain.key":    {Data: []byte("file:k1.key"), Mode: 0o600},
		"run/credentials/vrrpd.service/vrrp_hmac": {Data: []byte("hex:" + hexKey), Mode: 0o400},
	}
}

func parseHMAC(t *testing.T, src string) (*Config, error) {
	t.Helper()
	return Parse("etc/k.conf", []byte(src), &Options{ConfigID: "node1", FS: hmacFS(), LookupEnv: testEnv})
}

func hmacConf(block string) string {
	return vi("    auth_hmac {\n" + block + "    }\n")
}

func TestAuthHMACParses(t *testing.T) {
	cfg, err := parseHMAC(t, vi(`    advert_int 3
    auth_hmac {
        key 1 hex:`+hexKey+`
        key 7 "`+textKey+`"
        key 2 file:k1.key
        key 4 file:text.key
        key 5 file:${_ENV CREDENTIALS_DIRECTORY}/vrrp_hmac
        include sub/inc.conf
        active_key 7
        mode permissive
    }
`))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Instances[0].HMAC
	if h == nil {
		t.Fatal("no HMAC")
	}
	want := map[int]string{1: hexKey, 7: fmt.Sprintf("%x", textKey), 2: hexKey, 4: fmt.Sprintf("%x", textKey), 5: hexKey, 3: hexKey}
	files := map[int]string{2: "k1.key", 4: "text.key", 5: "/run/credentials/vrrpd.service/vrrp_hmac", 3: "k.key"}
	if len(h.Keys) != len(want) {
		t.Fatalf("%d keys, want %d", len(h.Keys), len(want))
	}
	for _, k := range h.Keys {
		secret := []byte(strings.TrimSpace(want[k.Key.ID()]))
		var b []byte
		fmt.Sscanf(string(secret), "%x", &b)
		ref, err := auth.NewKey(k.Key.ID(), b)
		if err != nil {
			t.Fatal(err)
		}
		if !k.Key.Equal(ref) || k.File != files[k.Key.ID()] {
			t.Errorf("key %d: %v file %q, want the secret %s from %q", k.Key.ID(), k.Key, k.File, want[k.Key.ID()], files[k.Key.ID()])
		}
	}
	if h.ActiveKey != 7 || h.Mode != auth.RolloutPermissive || h.AntiReplay != auth.AntiReplayTime || h.Window != 9*time.Second {
		t.Errorf("%+v; want active key 7, permissive, time, window 9 s (3 × advert_int 3)", h)
	}
	// Nothing prints a secret: the model, the formatted configuration.
	for _, out := range []string{fmt.Sprintf("%+v %v %#v", h, cfg.Instances[0], h.Keys), cfg.Format()} {
		if strings.Contains(out, hexKey) || strings.Contains(out, "0001020304") || strings.Contains(out, textKey[:20]) || strings.Contains(out, "7672") {
			t.Fatalf("a secret shows in\n%s", out)
		}
	}
	c := h.Config(cfg.Instances[0].AdvertInterval)
	if _, err := auth.NewHMAC(c); err != nil || c.ActiveKey != 7 || len(c.Keys) != 6 {
		t.Errorf("Config(): %v, %v", c, err)
	}
}

func TestAuthHMACDefaults(t *testing.T) {
	for _, c := range []struct {
		advert string
		window time.Duration
	}{{"1", 5 * time.Second}, {"2.5", 6 * time.Second}, {"3", 9 * time.Second}} {
		cfg, err := parseHMAC(t, vi("    version 3\n    advert_int "+c.advert+"\n    auth_hmac {\n        key 1 hex:"+hexKey+"\n        active_key 1\n    }\n"))
		if err != nil {
			t.Fatal(err)
		}
		h := cfg.Instances[0].HMAC
		if h.Window != c.window || h.Mode != auth.RolloutEnforce || h.AntiReplay != auth.AntiReplayTime {
			t.Errorf("advert_int %s: %+v; want window %v, enforce, time", c.advert, h, c.window)
		}
	}
	cfg, err := parseHMAC(t, hmacConf("        key 1 hex:"+hexKey+"\n        active_key 1\n        anti_replay monotonic\n        time_window 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Instances[0].HMAC; h.AntiReplay != auth.AntiReplayMonotonic || h.Window != 20*time.Second {
		t.Errorf("%+v", h)
	}
	if !hasDiag(cfg.Warnings, "etc/k.conf:11: time_window: has no effect with anti_replay monotonic") {
		t.Errorf("warnings %v", cfg.Warnings)
	}
}

func hasDiag(ds []Diagnostic, want string) bool {
	for _, d := range ds {
		if d.String() == want {
			return true
		}
	}
	return false
}

// Whatever vrrpd does not understand about authentication stops the load,
// naming file and line: keepalived would run the instance unsigned, or
// otherwise than written.
func TestAuthHMACErrors(t *testing.T) {
	ok := "        key 1 hex:" + hexKey + "\n        active_key 1\n"
	for _, c := range []struct {
		name, src, want string
	}{
		{"unknown keyword", hmacConf(ok + "        rotate_every 60\n"),
			"etc/k.conf:10: rotate_every: unknown auth_hmac keyword: vrrpd would not sign or verify as this configuration asks"},
		{"a block inside", hmacConf(ok + "        key_ring {\n        }\n"),
			"etc/k.conf:10: key_ring: takes no { } block: vrrpd does not understand this auth_hmac"},
		{"no key", hmacConf("        active_key 1\n"), "etc/k.conf:7: auth_hmac: no key: keepalived would run VI_1 unsigned"},
		{"no active key", hmacConf("        key 1 hex:" + hexKey + "\n"), "etc/k.conf:7: auth_hmac: no active_key: keepalived would run VI_1 unsigned"},
		{"active key not defined", hmacConf("        key 1 hex:" + hexKey + "\n        active_key 2\n"),
			"etc/k.conf:7: active_key: 2 is not one of the keys: keepalived would run VI_1 unsigned"},
		{"key id twice", hmacConf(ok + "        key 1 hex:" + hexKey + "\n"), "etc/k.conf:10: key: key id 1 is defined twice"},
		{"key id 0", hmacConf("        key 0 hex:" + hexKey + "\n        active_key 1\n"), "etc/k.conf:8: key: 0 is out of range 1..255"},
		{"key id 256", hmacConf(ok + "        key 256 hex:" + hexKey + "\n"), "etc/k.conf:10: key: 256 is out of range 1..255"},
		{"key too short", hmacConf(ok + "        key 2 hex:" + hexKey[:62] + "\n"),
			"etc/k.conf:10: key: key 2 is 31 bytes: it must be 32 to 64 (keepalived would run unsigned)"},
		{"key too long", hmacConf(ok + "        key 2 " + strings.Repeat("k", 65) + "\n"),
			"etc/k.conf:10: key: key 2 is 65 bytes: it must be 32 to 64 (keepalived would run unsigned)"},
		{"odd hex", hmacConf(ok + "        key 2 hex:" + hexKey[:63] + "\n"),
			"etc/k.conf:10: key: key 2: an odd number of hex digits (keepalived would read the last one as a byte of its own)"},
		{"not hex", hmacConf(ok + "        key 2 hex:" + strings.Replace(hexKey, "0", "g", 1) + "\n"),
			"etc/k.conf:10: key: key 2: not hexadecimal after hex: (keepalived would run unsigned)"},
		{"a blank in an unquoted key", hmacConf(ok + "        key 2 " + textKey + "\n"),
			"etc/k.conf:10: key: extra words after the value: a key with blanks must be quoted (keepalived would use only its first word)"},
		{"no value", hmacConf(ok + "        key 2\n"), "etc/k.conf:10: key: needs an id and a value"},
		{"missing file", hmacConf(ok + "        key 2 file:none.key\n"), "etc/k.conf:10: key: key file none.key: file does not exist"},
		{"file readable by others", hmacConf(ok + "        key 2 file:k644.key\n"),
			"etc/k.conf:10: key: key file k644.key has mode 0644: group and others must have no access (chmod 600)"},
		{"file readable by the group", hmacConf(ok + "        key 2 file:k640.key\n"),
			"etc/k.conf:10: key: key file k640.key has mode 0640: group and others must have no access (chmod 600)"},
		{"file writable by others", hmacConf(ok + "        key 2 file:k602.key\n"),
			"etc/k.conf:10: key: key file k602.key has mode 0602: group and others must have no access (chmod 600)"},
		{"file is a directory", hmacConf(ok + "        key 2 file:dir.key\n"), "etc/k.conf:10: key: key file dir.key is not a regular file"},
		{"file too large", hmacConf(ok + "        key 2 file:big.key\n"),
			"etc/k.conf:10: key: key file big.key is 5000 bytes, more than a key (4096 at most)"},
		{"file of two lines", hmacConf(ok + "        key 2 file:two.key\n"), "etc/k.conf:10: key: key file two.key holds more than one line"},
		{"file naming a file", hmacConf(ok + "        key 2 file:chain.key\n"),
			"etc/k.conf:10: key: key file chain.key names another file: it must hold hex:HEX or the key itself"},
		{"environment variable not set", hmacConf(ok + "        key 2 file:${_ENV NOT_SET}/k.key\n"),
			"etc/k.conf:10: ${_ENV NOT_SET}: environment variable NOT_SET is not set (keepalived would substitute an empty string)"},
		{"time_window 0", hmacConf(ok + "        time_window 0\n"), "etc/k.conf:10: time_window: 0 is out of range 1..300"},
		{"time_window 301", hmacConf(ok + "        time_window 301\n"), "etc/k.conf:10: time_window: 301 is out of range 1..300"},
		{"time_window 2.5", hmacConf(ok + "        time_window 2.5\n"), `etc/k.conf:10: time_window: "2.5" is not a whole number`},
		{"anti_replay", hmacConf(ok + "        anti_replay counter\n"), `etc/k.conf:10: anti_replay: "counter" is not time or monotonic`},
		{"mode", hmacConf(ok + "        mode audit\n"), `etc/k.conf:10: mode: "audit" is not enforce, permissive or receive-only`},
		{"mode with extra words", hmacConf(ok + "        mode enforce now\n"), "etc/k.conf:10: mode: extra words: now"},
		{"active_key without value", hmacConf("        key 1 hex:" + hexKey + "\n        active_key\n"), "etc/k.conf:9: active_key: missing value"},
		{"twice", vi("    auth_hmac {\n" + ok + "    }\n    auth_hmac {\n" + ok + "    }\n"),
			"etc/k.conf:11: auth_hmac: set twice in VI_1 (first at etc/k.conf:7)"},
		{"with the authentication block", vi("    authentication {\n        auth_type PASS\n        auth_pass secret12\n    }\n    auth_hmac {\n" + ok + "    }\n"),
			"etc/k.conf:11: auth_hmac: cannot be combined with the authentication block at line 7 (keepalived drops that block)"},
		{"an unknown authentication keyword", vi("    authentication {\n        auth_type PASS\n        auth_pass secret12\n        auth_key 7\n    }\n"),
			"etc/k.conf:10: authentication: unknown line (not shown: it may be a secret): vrrpd would not authenticate as this configuration asks"},
		{"an unknown authentication block", vi("    auth_sha3 {\n" + ok + "    }\n"),
			"etc/k.conf:7: auth_sha3: unknown authentication keyword: vrrpd would not authenticate as this configuration asks"},
		{"an unknown auth type", vi("    authentication {\n        auth_type HMAC\n        auth_pass secret12\n    }\n"),
			`etc/k.conf:8: auth_type: "HMAC" is not PASS or AH`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseHMAC(t, c.src)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("%v, want an *Error", err)
			}
			if !hasDiag(e.Errors, c.want) {
				t.Errorf("errors:\n%v\nwant\n%s", err, c.want)
			}
			for _, d := range e.Errors {
				if strings.Contains(d.Msg, hexKey[:16]) {
					t.Errorf("an error shows a secret: %s", d)
				}
			}
		})
	}
}

// A relative file: key is read relative to the file that names it; with
// the operating system's files, a key file owned by another user than
// root or vrrpd's is refused.
func TestAuthHMACKeyFileOnDisk(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	key := filepath.Join(dir, "keys", "k1.key")
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("hex:"+hexKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := hmacConf("        key 1 file:keys/k1.key\n        active_key 1\n")
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // relative to the configuration, not to the working directory
	cfg, err := Load(conf, &Options{ConfigID: "node1", LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if k := cfg.Instances[0].HMAC.Keys[0]; k.Key.ID() != 1 || k.File != "keys/k1.key" {
		t.Errorf("%+v", k)
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot give the key file to another user")
	}
	if err := os.Chown(key, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err = Load(conf, &Options{ConfigID: "node1", LookupEnv: testEnv})
	if err == nil || !strings.Contains(err.Error(), "key file keys/k1.key belongs to uid 65534: it must belong to root or to the user vrrpd runs as") {
		t.Errorf("%v", err)
	}
}

// Format writes file keys back as their references and inline keys as a
// comment; a configuration of file keys reads back equal.
func TestAuthHMACFormat(t *testing.T) {
	cfg, err := parseHMAC(t, hmacConf("        key 2 file:k1.key\n        key 1 hex:"+hexKey+"\n        active_key 2\n        mode receive-only\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.Format()
	for _, want := range []string{"        key 2 file:k1.key\n", "        # key 1: 32 bytes in the configuration, not shown\n",
		"        active_key 2\n", "        anti_replay time\n", "        time_window 5\n", "        mode receive-only\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("Format lacks %q:\n%s", want, out)
		}
	}
	files, err := parseHMAC(t, hmacConf("        key 2 file:k1.key\n        active_key 2\n        anti_replay monotonic\n"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("etc/formatted.conf", []byte(files.Format()), &Options{ConfigID: "node1", FS: hmacFS(), LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if !files.Instances[0].Equal(again.Instances[0]) {
		t.Errorf("read back differently:\n%s", files.Format())
	}
}

// A reload that changes a key, even only inside its file, changes the
// instance; one that changes nothing does not.
func TestAuthHMACDiff(t *testing.T) {
	src := hmacConf("        key 2 file:k1.key\n        active_key 2\n")
	fsys := hmacFS()
	opts := &Options{ConfigID: "node1", FS: fsys, LookupEnv: testEnv}
	old, err := Parse("etc/k.conf", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := Parse("etc/k.conf", []byte(src), opts)
	fsys["etc/k1.key"] = &fstest.MapFile{Data: []byte("hex:" + strings.Repeat("ab", 32)), Mode: fs.FileMode(0o600)}
	rotated, err := Parse("etc/k.conf", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := old.Diff(same); len(d.Changed) != 0 {
		t.Errorf("the same configuration: %+v", d)
	}
	if d := old.Diff(rotated); len(d.Changed) != 1 {
		t.Errorf("a key file with another key: %+v", d)
	}
}

func TestKeepalived24Syntax(t *testing.T) {
	cfg, err := parseHMAC(t, `global_defs {
    vrrp_delay_after_boot 15.23
    v3_checksum_as_v2
}
vrrp_instance CLOUD {
    interface ${_ENV VRRP_IFACE}
    virtual_router_id 51
    version 3
    no_virtual_ipaddress
}
vrrp_instance V2 {
    interface eth0
    virtual_router_id 52
    no_virtual_ipaddress
}
vrrp_instance PSEUDO {
    interface eth0
    virtual_router_id 53
    version 3
    v3_checksum_as_v2 off
    virtual_ipaddress {
        10.0.0.53/24
    }
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.DelayAfterBoot != 15230*time.Millisecond || !cfg.Global.V3ChecksumAsV2 {
		t.Errorf("global %+v", cfg.Global)
	}
	cloud, v2, pseudo := cfg.Instance("CLOUD"), cfg.Instance("V2"), cfg.Instance("PSEUDO")
	if cloud.Interface != "eth0" || !cloud.NoVirtualIPAddress || len(cloud.VIPs) != 0 || !cloud.V3ChecksumAsV2 {
		t.Errorf("CLOUD %+v", cloud)
	}
	if pseudo.V3ChecksumAsV2 || !v2.NoVirtualIPAddress {
		t.Errorf("PSEUDO %+v, V2 %+v", pseudo, v2)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	again, err := Parse("etc/formatted.conf", []byte(cfg.Format()), &Options{ConfigID: "node1", FS: hmacFS(), LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range cfg.Instances {
		if !in.Equal(again.Instance(in.Name)) {
			t.Errorf("%s reads back differently:\n%s", in.Name, cfg.Format())
		}
	}
	if again.Global.DelayAfterBoot != cfg.Global.DelayAfterBoot {
		t.Errorf("vrrp_delay_after_boot does not read back")
	}
	for _, bad := range []string{"0", "0.0005", "4294.967296", "abc"} {
		if _, err := parseHMAC(t, "global_defs {\n    vrrp_delay_after_boot "+bad+"\n}\n"+vi("")); err == nil {
			t.Errorf("vrrp_delay_after_boot %s accepted; keepalived 2.4.3 refuses it", bad)
		}
	}
	empty, err := parseHMAC(t, "global_defs {\n    router_id a${_ENV EMPTY}b\n}\n"+vi(""))
	if err != nil || empty.Global.RouterID != "ab" {
		t.Errorf("an empty variable: %q, %v", empty.Global.RouterID, err)
	}
}

// keepalived 2.4.3's own check (-t) agrees: it accepts, silently, every
// auth_hmac and 2.4 configuration kaconf accepts, and complains about
// those kaconf refuses — but for the few where kaconf is stricter, each
// of which keepalived would run otherwise than written.
func TestKeepalived243JudgesAsWeDo(t *testing.T) {
	bin := kalab.Binary(t)
	h := netlab.New(t, 1).Host(1)
	dir := t.TempDir()
	for name, c := range map[string]struct {
		data string
		mode os.FileMode
	}{"k1.key": {"hex:" + hexKey + "\n", 0o600}, "k644.key": {"hex:" + hexKey, 0o644}, "text.key": {textKey + "\n", 0o400}} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c.data), c.mode); err != nil {
			t.Fatal(err)
		}
	}
	ok := "        key 1 hex:" + hexKey + "\n        active_key 1\n"
	const (
		accepted = iota
		bothRefuse
		stricter // kaconf refuses what keepalived runs otherwise than written
	)
	for i, c := range []struct {
		verdict int
		src     string
	}{
		{accepted, hmacConf(ok)},
		{accepted, hmacConf("        key 7 \"" + textKey + "\"\n        key 2 file:k1.key\n        key 3 file:text.key\n        active_key 3\n        anti_replay monotonic\n        mode receive-only\n")},
		{accepted, hmacConf(ok + "        time_window 300\n        mode permissive\n        anti_replay time\n")},
		{accepted, "global_defs {\n    vrrp_delay_after_boot 15.23\n    v3_checksum_as_v2\n}\nvrrp_instance V {\n    interface eth0\n    virtual_router_id 9\n    version 3\n    no_virtual_ipaddress\n    v3_checksum_as_v2 off\n}\n"},
		{bothRefuse, hmacConf(ok + "        rotate_every 60\n")},
		{bothRefuse, hmacConf("        active_key 1\n")},
		{bothRefuse, hmacConf("        key 1 hex:" + hexKey + "\n")},
		{bothRefuse, hmacConf("        key 1 hex:" + hexKey + "\n        active_key 2\n")},
		{bothRefuse, hmacConf(ok + "        key 1 hex:" + hexKey + "\n")},
		{bothRefuse, hmacConf("        key 0 hex:" + hexKey + "\n        active_key 1\n")},
		{bothRefuse, hmacConf(ok + "        key 2 hex:" + hexKey[:62] + "\n")},
		{bothRefuse, hmacConf(ok + "        key 2 hex:" + strings.Replace(hexKey, "0", "g", 1) + "\n")},
		{bothRefuse, hmacConf(ok + "        key 2 file:none.key\n")},
		{bothRefuse, hmacConf(ok + "        key 2 file:k644.key\n")},
		{bothRefuse, hmacConf(ok + "        time_window 0\n")},
		{bothRefuse, hmacConf(ok + "        time_window 2.5\n")},
		{bothRefuse, hmacConf(ok + "        mode audit\n")},
		{bothRefuse, hmacConf(ok + "        anti_replay counter\n")},
		{bothRefuse, vi("    authentication {\n        auth_type PASS\n        auth_pass secret12\n        auth_key 7\n    }\n")},
		{bothRefuse, "global_defs {\n    vrrp_delay_after_boot 0\n}\n" + vi("")},
		{stricter, hmacConf(ok + "        key 2 hex:" + hexKey[:63] + "\n")},                        // the last digit becomes a byte
		{bothRefuse, hmacConf(ok + "        key 2 " + textKey + "\n")},                              // keepalived: only "vrrpkit" is the key
		{stricter, hmacConf(ok + "        key 2 hex:" + hexKey + " x\n")},                           // the extra word is dropped silently
		{bothRefuse, hmacConf("        key 1 file:${_ENV NOT_SET}/k1.key\n        active_key 1\n")}, // keepalived reads /k1.key
	} {
		path := filepath.Join(dir, fmt.Sprintf("case%d.conf", i))
		if err := os.WriteFile(path, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, kerr := Load(path, &Options{ConfigID: "node1", LookupEnv: testEnv})
		out, err := h.Run("env", "-u", "NOT_SET", bin, "-t", "-l", "-f", path)
		keepalivedOK := err == nil && strings.TrimSpace(out) == ""
		switch {
		case c.verdict == accepted && (kerr != nil || !keepalivedOK):
			t.Errorf("case %d: kaconf %v; keepalived -t: %v %s\n%s", i, kerr, err, out, c.src)
		case c.verdict == bothRefuse && (kerr == nil || keepalivedOK):
			t.Errorf("case %d: kaconf %v; keepalived -t accepts: %v\n%s", i, kerr, keepalivedOK, c.src)
		case c.verdict == stricter && (kerr == nil || !keepalivedOK):
			t.Errorf("case %d: kaconf %v; keepalived -t: %v %s — not the documented difference\n%s", i, kerr, err, out, c.src)
		}
	}
}
