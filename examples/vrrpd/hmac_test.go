package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

const (
	hmacSecret1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	hmacSecret2 = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f1011121314151617"
)

func hmacInstance(block string, extra ...string) string {
	return instanceBlock(append([]string{"  virtual_ipaddress {\n    10.0.0.100/24\n  }", "  advert_int 2",
		"  auth_hmac {\n" + block + "\n  }"}, extra...)...)
}

// auth_hmac translates into the router's HMAC: keys, active key, modes,
// window; the router's interval sets the default window.
func TestAuthHMACTranslates(t *testing.T) {
	p := mustPlan(t, hmacInstance("    key 1 hex:"+hmacSecret1+"\n    key 2 hex:"+hmacSecret2+"\n    active_key 2\n"+
		"    anti_replay monotonic\n    mode permissive"))
	h := p.routers[0].cfg.HMAC
	if h == nil {
		t.Fatal("no HMAC")
	}
	if h.ActiveKey != 2 || len(h.Keys) != 2 || h.Keys[0].ID() != 1 || h.Keys[1].Len() != 40 ||
		h.AntiReplay != auth.AntiReplayMonotonic || h.Rollout != auth.RolloutPermissive {
		t.Errorf("HMAC %v", h)
	}
	p = mustPlan(t, hmacInstance("    key 1 hex:"+hmacSecret1+"\n    active_key 1"))
	cfg := p.routers[0].cfg
	if st := hmacStatus(cfg); st.Window != "6s" || st.Mode != "enforce" || st.AntiReplay != "time" {
		t.Errorf("status %+v, want window 6s (3 × advert_int 2), enforce, time", st)
	}
}

// The status, keepalived.json and keepalived.data show ids, lengths and
// modes of auth_hmac, never a key.
func TestAuthHMACShowsNoKey(t *testing.T) {
	p := mustPlan(t, hmacInstance("    key 1 hex:"+hmacSecret1+"\n    key 2 hex:"+hmacSecret2+"\n    active_key 2\n    time_window 9"))
	cfg := p.routers[0].cfg
	var b bytes.Buffer
	hmacData(&b, cfg)
	want := "   Authentication extension = HMAC-SHA256-128\n     Keys = 2, active key id = 2\n" +
		"     Mode = enforce\n     Anti replay = time, window = 9 sec\n"
	if b.String() != want {
		t.Errorf("data:\n%s\nwant:\n%s", b.String(), want)
	}
	st, err := json.Marshal(hmacStatus(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"mode":"enforce","active_key":2,"keys":[{"id":1,"length":32},{"id":2,"length":40}],"anti_replay":"time","time_window":"9s"}`; string(st) != want {
		t.Errorf("status %s\nwant %s", st, want)
	}
	for _, out := range []string{b.String(), string(st), cfg.HMAC.String()} {
		for _, s := range []string{hmacSecret1[:16], hmacSecret2[:16], string([]byte{0, 1, 2, 3})} {
			if strings.Contains(out, s) {
				t.Errorf("shows a key: %s", out)
			}
		}
	}
}

// A reload that changes only an instance's auth_hmac (a key added or
// removed, active_key, mode, on or off) or its priority (not to or from
// the owner's 255) is applied without a restart; any other change with
// them restarts the instance.
func TestInPlaceChanges(t *testing.T) {
	conf := func(src string) *kaconf.Config {
		c, err := kaconf.Parse("k.conf", []byte(src), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	key1, key2 := "    key 1 hex:"+hmacSecret1+"\n", "    key 2 hex:"+hmacSecret2+"\n"
	base := conf(hmacInstance(key1 + "    active_key 1"))
	unsigned := conf(instanceBlock("  virtual_ipaddress {\n    10.0.0.100/24\n  }", "  advert_int 2"))
	hmacOnly, prioOnly, both := &inPlace{hmac: true}, &inPlace{priority: true}, &inPlace{hmac: true, priority: true}
	for _, c := range []struct {
		name string
		from *kaconf.Config
		to   string
		want *inPlace // nil: restart (or unchanged)
	}{
		{"key added", base, hmacInstance(key1 + key2 + "    active_key 1"), hmacOnly},
		{"active key moved", conf(hmacInstance(key1 + key2 + "    active_key 1")), hmacInstance(key1 + key2 + "    active_key 2"), hmacOnly},
		{"key removed", conf(hmacInstance(key1 + key2 + "    active_key 2")), hmacInstance(key2 + "    active_key 2"), hmacOnly},
		{"mode", base, hmacInstance(key1 + "    active_key 1\n    mode receive-only"), hmacOnly},
		{"turned on", unsigned, hmacInstance(key1 + "    active_key 1\n    mode receive-only"), hmacOnly},
		{"turned off", base, instanceBlock("  virtual_ipaddress {\n    10.0.0.100/24\n  }", "  advert_int 2"), hmacOnly},
		{"priority", base, hmacInstance(key1+"    active_key 1", "  priority 50"), prioOnly},
		{"priority and a key", base, hmacInstance(key1+key2+"    active_key 1", "  priority 50"), both},
		{"priority to the owner's", base, hmacInstance(key1+"    active_key 1", "  priority 255"), nil},
		{"priority from the owner's", conf(hmacInstance(key1+"    active_key 1", "  priority 255")), hmacInstance(key1+"    active_key 1", "  priority 200"), nil},
		{"priority and advert_int", base, instanceBlock("  virtual_ipaddress {\n    10.0.0.100/24\n  }", "  advert_int 3",
			"  auth_hmac {\n"+key1+"    active_key 1\n  }", "  priority 50"), nil},
		{"a key and a VIP", base, instanceBlock("  virtual_ipaddress {\n    10.0.0.100/24\n    10.0.0.101/24\n  }", "  advert_int 2",
			"  auth_hmac {\n"+key1+key2+"    active_key 1\n  }"), nil},
		{"unchanged", base, hmacInstance(key1 + "    active_key 1"), nil},
	} {
		next := conf(c.to)
		d := c.from.Diff(next)
		got, ok := inPlaceChanges(c.from, next, d.Changed)["VI_1"]
		switch {
		case ok != (c.want != nil):
			t.Errorf("%s: in place %v (%+v), want %v (changed %v)", c.name, ok, got, c.want != nil, d.Changed)
		case ok && got != *c.want:
			t.Errorf("%s: in place %+v, want %+v", c.name, got, *c.want)
		}
		if ok && !slices.Contains(d.Changed, "VI_1") {
			t.Errorf("%s: not changed at all", c.name)
		}
	}
}
