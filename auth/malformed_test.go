package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var ahSentinels = map[string]error{
	"ErrIPHeader":     ErrIPHeader,
	"ErrAHLength":     ErrAHLength,
	"ErrICV":          ErrICV,
	"ErrSPI":          ErrSPI,
	"ErrNextHeader":   ErrNextHeader,
	"ErrReplay":       ErrReplay,
	"ErrSeqExhausted": ErrSeqExhausted,
}

// checkAHClass asserts that err is of class want and no other, and names
// detail.
func checkAHClass(t *testing.T, err error, want error, detail string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	for name, s := range ahSentinels {
		if got := errors.Is(err, s); got != (s == want) {
			t.Errorf("errors.Is(%q, %s) = %v", err, name, got)
		}
	}
	if !strings.Contains(err.Error(), detail) || !strings.HasPrefix(err.Error(), "auth: ") {
		t.Errorf("error %q does not name %q", err, detail)
	}
}

func (p sealed) clone() sealed {
	return sealed{ip: bytes.Clone(p.ip), ah: bytes.Clone(p.ah), msg: bytes.Clone(p.msg)}
}

// One row per rejection class of Verify. Rows whose fault the ICV covers
// are resealed, so that the check after the ICV is the one that fires.
func TestVerifyRejectsEachMalformedClass(t *testing.T) {
	good := seal(t, NewAH(key12345, false, 0), h1, group4, 7)
	tests := []struct {
		name   string
		mutate func(p *sealed)
		want   error
		detail string
	}{
		{"IPv4 header cut short", func(p *sealed) { p.ip = p.ip[:19] }, ErrIPHeader, "19 bytes"},
		{"IPv6", func(p *sealed) { p.ip[0] = 0x65 }, ErrIPHeader, "IP version 6"},
		{"IP options", func(p *sealed) { p.ip = append(p.ip, 1, 1, 1, 0); p.ip[0] = 0x46 }, ErrIPHeader, "IP options"},
		{"protocol VRRP", func(p *sealed) { p.ip[9] = 112 }, ErrIPHeader, "protocol 112"},
		{"AH header cut short", func(p *sealed) { p.ah = p.ah[:23] }, ErrAHLength, "23 bytes"},
		{"AH payload length 5", func(p *sealed) { p.ah[1] = 5 }, ErrAHLength, "payload length 5"},
		{"total length", func(p *sealed) { p.msg = p.msg[:16] }, ErrAHLength, "total length 64, the packet has 60"},
		{"ICV", func(p *sealed) { p.ah[23] ^= 1 }, ErrICV, "ICV from 10.0.0.1 does not match"},
		{"message", func(p *sealed) { p.msg[2] = 255 }, ErrICV, "wrong key or modified packet"},
		{"identification", func(p *sealed) { p.ip[5] ^= 2 }, ErrICV, "10.0.0.1"},
		{"destination", func(p *sealed) { p.ip[19] = 19 }, ErrICV, "10.0.0.1"},
		{"TTL in multicast mode", func(p *sealed) { p.ip[8] = 64 }, ErrICV, "10.0.0.1"},
		{"SPI", func(p *sealed) { p.ah[7] = 9; reseal(*p, false) }, ErrSPI, "SPI 10.0.0.9 from 10.0.0.1"},
		{"next header", func(p *sealed) { p.ah[0] = 6; reseal(*p, false) }, ErrNextHeader, "next header 6"},
		{"sequence number 0", func(p *sealed) { clear(p.ah[8:12]); reseal(*p, false) }, ErrReplay, "sequence number 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good.clone()
			tc.mutate(&p)
			rx := NewAH(key12345, false, 0)
			checkAHClass(t, p.verify(rx), tc.want, tc.detail)
			if err := good.verify(rx); err != nil {
				t.Errorf("the rejected packet changed the replay state: %v", err)
			}
		})
	}
}

// RFC 4302 §3.3.3.1.1.1 and keepalived: TOS, flags and fragment offset and
// the header checksum may change in transit and are left out of the ICV;
// the TTL only in unicast mode (routers decrement it).
func TestMutableFieldsAreNotCovered(t *testing.T) {
	for _, unicast := range []bool{false, true} {
		good := seal(t, NewAH(key12345, unicast, 0), h1, h2, 7)
		for name, mutate := range map[string]func(ip []byte){
			"TOS":             func(ip []byte) { ip[1] = 0x10 },
			"flags":           func(ip []byte) { ip[6] = 0x40 },
			"fragment offset": func(ip []byte) { ip[7] = 0x01 },
			"checksum":        func(ip []byte) { ip[10], ip[11] = 0, 0 },
		} {
			p := good.clone()
			mutate(p.ip)
			if err := p.verify(NewAH(key12345, unicast, 0)); err != nil {
				t.Errorf("unicast=%v, %s changed: %v", unicast, name, err)
			}
		}
		p := good.clone()
		p.ip[8] = 61
		err := p.verify(NewAH(key12345, unicast, 0))
		if unicast && err != nil {
			t.Errorf("unicast, TTL decremented: %v", err)
		}
		if !unicast && !errors.Is(err, ErrICV) {
			t.Errorf("multicast, TTL changed: %v, want ErrICV", err)
		}
	}
}

// SealAH refuses what would make a packet no receiver verifies.
func TestSealAHRejects(t *testing.T) {
	tx := NewAH(key12345, false, 0)
	for _, tc := range []struct {
		name   string
		mutate func(p *sealed)
		seq    uint32
		want   error
		detail string
	}{
		{"short AH buffer", func(p *sealed) { p.ah = p.ah[:20] }, 1, ErrAHLength, "20 bytes"},
		{"total length", func(p *sealed) { p.ip[3]++ }, 1, ErrAHLength, "total length 65"},
		{"zero source", func(p *sealed) { clear(p.ip[12:16]) }, 1, ErrIPHeader, "source 0.0.0.0"},
		{"zero identification", func(p *sealed) { p.ip[4], p.ip[5] = 0, 0 }, 1, ErrIPHeader, "identification 0"},
		{"protocol", func(p *sealed) { p.ip[9] = 112 }, 1, ErrIPHeader, "protocol 112"},
		{"sequence number 0", func(*sealed) {}, 0, ErrReplay, "sequence number 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sealed{ip: ipv4Header(h1, h2, 1, len(advertMsg)), ah: make([]byte, AHLen), msg: advertMsg}
			tc.mutate(&p)
			checkAHClass(t, tx.SealAH(p.ah, p.ip, p.msg, tc.seq), tc.want, tc.detail)
		})
	}
}
