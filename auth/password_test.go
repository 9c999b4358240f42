package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNewPasswordIsStrict(t *testing.T) {
	p, err := NewPassword("secret12")
	if err != nil || p != (Password{'s', 'e', 'c', 'r', 'e', 't', '1', '2'}) {
		t.Errorf("secret12: %v", err)
	}
	p, err = NewPassword("abc")
	if err != nil || p != (Password{'a', 'b', 'c'}) {
		t.Errorf("abc: not zero-padded, %v", err)
	}
	for _, tc := range []struct {
		in     string
		want   error
		detail string
	}{
		{"PostgresReplication", ErrPasswordTooLong, "19 bytes"},
		{"123456789", ErrPasswordTooLong, "9 bytes"},
		{"", ErrPasswordInvalid, "empty"},
		{"ab\x00c", ErrPasswordInvalid, "NUL byte at offset 2"},
	} {
		_, err := NewPassword(tc.in)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.detail) || !strings.HasPrefix(err.Error(), "auth: password: ") {
			t.Errorf("NewPassword(%q) = %v, want %v naming %q", tc.in, err, tc.want, tc.detail)
		}
		if tc.in != "" && len(tc.in) > 3 && strings.Contains(err.Error(), tc.in[:4]) {
			t.Errorf("error %q shows the password", err)
		}
	}
}

// keepalived truncates auth_pass to 8 bytes ("Truncating auth_pass to 8
// characters"), and configurations rely on it: PostgresReplication is sent
// as Postgres.
func TestKeepalivedPasswordTruncatesAndSaysSo(t *testing.T) {
	p, truncated, err := KeepalivedPassword("PostgresReplication")
	if err != nil || !truncated || p != (Password{'P', 'o', 's', 't', 'g', 'r', 'e', 's'}) {
		t.Errorf("PostgresReplication: truncated=%v, %v", truncated, err)
	}
	strict, _ := NewPassword("Postgres")
	if p != strict {
		t.Error("truncated password differs from the 8-byte one")
	}
	p, truncated, err = KeepalivedPassword("12345678")
	if err != nil || truncated || p != (Password{'1', '2', '3', '4', '5', '6', '7', '8'}) {
		t.Errorf("8 bytes: truncated=%v, %v", truncated, err)
	}
	if _, truncated, err := KeepalivedPassword(""); !errors.Is(err, ErrPasswordInvalid) || truncated {
		t.Errorf("empty: %v, truncated=%v; want ErrPasswordInvalid", err, truncated)
	}
	if _, _, err := KeepalivedPassword("ab\x00cdefghij"); !errors.Is(err, ErrPasswordInvalid) {
		t.Errorf("NUL: %v, want ErrPasswordInvalid", err)
	}
}

// RFC 2338 §5.3.10 / keepalived: the received 8 bytes are compared with the
// zero-padded password; the captured keepalived adverts carry secret12.
func TestPasswordVerify(t *testing.T) {
	p, _ := NewPassword("secret12")
	frames := readVRRP(t, "v2-pass-mcast")
	if len(frames) != 4 {
		t.Fatalf("%d adverts, want 4", len(frames))
	}
	for i, msg := range frames {
		var data [8]byte
		copy(data[:], msg[len(msg)-8:])
		if err := p.Verify(data); err != nil {
			t.Errorf("advert %d: %v", i, err)
		}
	}
	other, _ := NewPassword("secret1")
	var data [8]byte
	copy(data[:], frames[0][len(frames[0])-8:])
	if err := other.Verify(data); !errors.Is(err, ErrPasswordMismatch) {
		t.Errorf("secret1 vs secret12: %v, want ErrPasswordMismatch", err)
	}
	short, _ := NewPassword("abc")
	if err := short.Verify([8]byte{'a', 'b', 'c'}); err != nil {
		t.Errorf("zero-padded: %v", err)
	}
	if err := short.Verify([8]byte{'a', 'b', 'c', 'd'}); !errors.Is(err, ErrPasswordMismatch) {
		t.Errorf("abcd vs abc: %v", err)
	}
}

func TestPasswordNeverFormats(t *testing.T) {
	p, _ := NewPassword("secret12")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%08b"} {
		s := fmt.Sprintf(verb, p)
		if strings.Contains(s, "secret") || strings.Contains(s, "736563") || strings.Contains(s, "115") {
			t.Errorf("%s shows the password: %s", verb, s)
		}
	}
	if s := fmt.Sprint(struct{ P Password }{p}); strings.Contains(s, "secret") || strings.Contains(s, "115") {
		t.Errorf("inside a struct: %s", s)
	}
}
