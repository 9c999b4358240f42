package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var secret32 = []byte("0123456789abcdef0123456789abcdef")

func TestNewKeyBounds(t *testing.T) {
	for _, c := range []struct {
		id  int
		len int
		ok  bool
	}{
		{1, 32, true}, {255, 64, true}, {7, 48, true},
		{0, 32, false}, {256, 32, false}, {-1, 32, false},
		{1, 31, false}, {1, 65, false}, {1, 0, false},
	} {
		k, err := NewKey(c.id, bytes.Repeat([]byte{'k'}, c.len))
		if c.ok != (err == nil) {
			t.Errorf("NewKey(%d, %d bytes): %v", c.id, c.len, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrKey) {
				t.Errorf("NewKey(%d, %d bytes): %v, want ErrKey", c.id, c.len, err)
			}
			continue
		}
		if k.ID() != c.id || k.Len() != c.len {
			t.Errorf("NewKey(%d, %d bytes) = id %d, %d bytes", c.id, c.len, k.ID(), k.Len())
		}
	}
}

// The secret is copied: changing the caller's bytes changes no key.
func TestNewKeyCopiesTheSecret(t *testing.T) {
	b := bytes.Clone(secret32)
	k, _ := NewKey(1, b)
	b[0] ^= 0xff
	k2, _ := NewKey(1, secret32)
	if !k.Equal(k2) {
		t.Error("the key changed with the caller's slice")
	}
	k3, _ := NewKey(2, secret32)
	k4, _ := NewKey(1, append(bytes.Clone(secret32), 'x'))
	if k.Equal(k3) || k.Equal(k4) || k.Equal(Key{}) || !(Key{}).Equal(Key{}) {
		t.Error("Equal: keys with another id, another secret, or none compare equal")
	}
}

// A key never prints its secret: not with any fmt verb, not nested in
// exported or unexported fields, slices, maps or pointers, not through
// JSON or text marshalling.
func TestKeyNeverPrints(t *testing.T) {
	k, _ := NewKey(3, secret32)
	type inner struct {
		Exported Key
		hidden   Key
		Keys     []Key
	}
	v := inner{Exported: k, hidden: k, Keys: []Key{k}}
	cfg := HMACConfig{Keys: []Key{k}, ActiveKey: 3}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, v), fmt.Sprintf(verb, &v),
			fmt.Sprintf(verb, map[string]Key{"k": k}), fmt.Sprintf(verb, cfg))
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := k.MarshalText()
	outs = append(outs, string(j), string(txt), k.String(), k.GoString(), cfg.String())
	hexSecret := fmt.Sprintf("%x", secret32)
	for _, o := range outs {
		for _, leak := range []string{string(secret32), hexSecret, "0123456789", "30313233"} {
			if strings.Contains(o, leak) {
				t.Fatalf("%q shows the secret", o)
			}
		}
	}
	if got := fmt.Sprint(k); got != "auth.Key(id 3, 32 bytes)" {
		t.Errorf("Sprint = %q", got)
	}
	if string(j) != `{"Exported":{"id":3,"length":32},"Keys":[{"id":3,"length":32}]}` {
		t.Errorf("JSON = %s", j)
	}
	if got := cfg.String(); got != "auth_hmac enforce, active key 3, keys [3], time window 5s" {
		t.Errorf("HMACConfig.String = %q", got)
	}
}
