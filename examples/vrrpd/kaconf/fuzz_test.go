package kaconf

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// fuzzOpts gives fuzzed includes one file to find.
var fuzzOpts = &Options{ConfigID: "node1", FS: fstest.MapFS{
	"inc.conf": {Data: []byte("vrrp_script inc {\n    script \"/bin/true\"\n}\n")},
}}

// FuzzParse: any input is either refused with at least one diagnostic or
// accepted; an accepted configuration written back with Format reads back
// into an equal one. Seeded with the testdata and the broken
// configurations.
func FuzzParse(f *testing.F) {
	for _, tc := range brokenConfigs {
		f.Add([]byte(tc.src))
	}
	files, _ := fsGlobTestdata()
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("include inc.conf\n" + vi("    track_script {\n        inc weight -3 reverse\n    }\n")))
	f.Add([]byte(parityConf))
	f.Add([]byte("$X=10.0.0.5\n@node1 " + vi("    virtual_ipaddress_excluded { ${X}/24 dev eth1 label eth1:x brd + }\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.conf", data, fuzzOpts)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Errors) == 0 {
				t.Fatalf("error without diagnostics: %v", err)
			}
			return
		}
		// Substitution can leave words that read differently once written
		// back (a "$" followed by a name), so only the rest round-trips.
		if bytes.Contains(data, []byte("$")) {
			return
		}
		out := cfg.FormatWithSecrets()
		for _, l := range strings.Split(out, "\n") {
			if len(l) > maxLine {
				return // escapes made a script line too long for keepalived
			}
		}
		again, err := Parse("formatted.conf", []byte(out), fuzzOpts)
		if err != nil {
			t.Fatalf("formatted configuration refused: %v\n%s", err, out)
		}
		if !again.Equal(cfg) {
			t.Fatalf("formatted configuration reads back differently:\n%s\nagain:\n%s", out, again.Format())
		}
	})
}

// FuzzCommandString: Command.String, as written by Format into a notify
// line, splits back into the same arguments the way keepalived splits
// them.
func FuzzCommandString(f *testing.F) {
	f.Add("/bin/echo\x00a b\x00'q'\x00\\x41\x00")
	f.Add("/x.sh\x00$HOME\x00#!{}\x00\"\x00\t\n")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		if args[0] == "" {
			return
		}
		c := Command{Args: args}
		if got, msg := splitQuoted(c.String()); msg != "" || !reflect.DeepEqual(got, args) {
			t.Fatalf("splitQuoted(%q) = %q, %q; want %q", c.String(), got, msg, args)
		}
		line := "    notify " + quoteEscaped(c.String()) + " \"us er\""
		if len(line) > maxLine {
			return // too long for keepalived's line buffer
		}
		cfg, err := Parse("f.conf", []byte(vi(line+"\n")), fuzzOpts)
		if err != nil {
			t.Fatalf("notify line refused: %v", err)
		}
		if got := cfg.Instances[0].Notify.Any; !reflect.DeepEqual(got.Args, args) || got.User != "us er" {
			t.Fatalf("notify = %q as %q; want %q", got.Args, got.User, args)
		}
	})
}
