package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

// secretConf has a PASS and an AH instance whose auth_pass is too long
// and has words after it: keepalived uses the first 8 bytes of the first
// word, and everything on those lines is secret.
const secretConf = `vrrp_instance PASS_1 {
    interface eth0
    virtual_router_id 1
    authentication {
        auth_type PASS
        auth_pass hunter2-topsecret and-more-secret
    }
    virtual_ipaddress {
        10.0.0.100/24
    }
}
vrrp_instance AH_1 {
    interface eth0
    virtual_router_id 2
    authentication {
        auth_type AH
        auth_pass ahkey123-longer-than-eight
    }
    virtual_ipaddress {
        10.0.0.101/24
    }
}
`

// secretWords are the pieces of secretConf's passwords that must never
// be shown, the 8-byte passwords in use first.
var secretWords = []string{"hunter2-", "ahkey123", "topsecret", "and-more-secret", "longer-than-eight"}

func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, w := range secretWords {
		if strings.Contains(text, w) {
			t.Errorf("%s shows the secret %q:\n%s", what, w, text)
		}
	}
}

func writeSecretConf(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(secretConf+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// --check (and -t), which loads the configuration as every start and
// reload does, prints the warnings about the passwords without them.
func TestCheckNeverShowsPasswords(t *testing.T) {
	path := writeSecretConf(t, "")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--check", "-f", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("--check exit %d:\n%s", code, stderr.String())
	}
	out := stdout.String() + stderr.String()
	assertNoSecret(t, "--check", out)
	// The warnings are still there, with what the user needs to act.
	for _, want := range []string{"auth_pass: redacted (17 bytes): cut to its first 8 bytes", "1 extra words ignored"} {
		if !strings.Contains(out, want) {
			t.Errorf("--check does not say %q:\n%s", want, out)
		}
	}
}

// A password written on the line after auth_pass is an unknown keyword
// of the block: an error (vrrpd will not run authentication it does not
// understand) that does not show it.
func TestUnknownLinesOfAuthenticationAreNotShown(t *testing.T) {
	conf := strings.Replace(secretConf, "        auth_pass hunter2-topsecret and-more-secret\n",
		"        auth_pass hunter2-\n        topsecret\n", 1)
	path := filepath.Join(t.TempDir(), "k.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	_, warnings, err := loadConfig(&options{configFile: path})
	assertNoSecret(t, "the warnings", strings.Join(warnings, "\n"))
	if err == nil {
		t.Fatal("loaded a configuration with an unknown line in authentication")
	}
	assertNoSecret(t, "the error", err.Error())
	if !strings.Contains(err.Error(), "authentication: unknown line (not shown: it may be a secret)") {
		t.Errorf("no error about the stray line: %v", err)
	}
}

// A configuration with errors is refused with every error and warning
// logged: none of them shows a password either.
func TestConfigErrorsNeverShowPasswords(t *testing.T) {
	path := writeSecretConf(t, "vrrp_instance BROKEN {\n    interface eth0\n    virtual_router_id 300\n}\n")
	p, warnings, err := loadConfig(&options{configFile: path})
	if err == nil || p != nil {
		t.Fatal("a configuration with errors loaded")
	}
	assertNoSecret(t, "the errors", err.Error())
	assertNoSecret(t, "the warnings", strings.Join(warnings, "\n"))
}

// -d logs the configuration with the passwords redacted.
func TestDumpRedactsPasswords(t *testing.T) {
	p, _, err := loadConfig(&options{configFile: writeSecretConf(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	dumpConfig(newLogger(&log, true), p.conf)
	assertNoSecret(t, "-d", log.String())
	if !strings.Contains(log.String(), `auth_pass "redacted (8 bytes)"`) {
		t.Errorf("-d does not show the redacted password:\n%s", log.String())
	}
}

// Printing the model by accident (a %v in a log line or an error, a JSON
// document) shows no password: the Secret type prints redacted at any
// depth, in exported fields and in unexported ones alike.
func TestModelNeverPrintsPasswords(t *testing.T) {
	p, _, err := loadConfig(&options{configFile: writeSecretConf(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range p.conf.Instances {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			assertNoSecret(t, verb+" of the instance", fmt.Sprintf(verb, *in))
			assertNoSecret(t, verb+" of its auth", fmt.Sprintf(verb, in.Auth))
			assertNoSecret(t, verb+" of its password", fmt.Sprintf(verb, in.Auth.Password))
		}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecret(t, "JSON of the instance", string(b))
		wrapped := struct{ auth kaconf.Auth }{in.Auth}
		assertNoSecret(t, "%+v of an unexported field", fmt.Sprintf("%+v", wrapped))
	}
}

// The status endpoint's document carries no password.
func TestStatusNeverShowsPasswords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := strings.ReplaceAll(secretConf, "    interface eth0\n", "    interface eth0\n    advert_int 1\n")
		m := startMemDaemon(t, src)
		b, err := json.Marshal(m.d.status("k.conf"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "PASS_1") || !strings.Contains(string(b), "AH_1") {
			t.Fatalf("status without the instances: %s", b)
		}
		assertNoSecret(t, "status", string(b))
		m.stop(t)
	})
}
