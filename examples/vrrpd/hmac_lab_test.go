package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/internal/kalab"
	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// The lab's auth_hmac keys, by id: 32 bytes each, written as hex:.
var hmacLabKeys = map[int]string{
	1: "6b65792d6f6e652d6f662d7468652d6c61622d33322d62797465732d6c6f6e67",
	2: "6b65792d74776f2d6f662d7468652d6c61622d33322d62797465732d6c6f6e67",
	9: "77726f6e672d6b65792d6f662d7468652d6c61622d33322d62797465732d2d21",
}

// hmacLabBlock is an auth_hmac block with the keys ids (all of hmacLabKeys'
// when none) and active key active, and further lines.
func hmacLabBlock(active int, ids ...int) string {
	var b strings.Builder
	b.WriteString("  auth_hmac {\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "    key %d hex:%s\n", id, hmacLabKeys[id])
	}
	fmt.Fprintf(&b, "    active_key %d\n  }\n", active)
	return b.String()
}

// peerKeepalived starts the peer of mode m: keepalived 2.4.3 for auth_hmac,
// Debian's 2.2.7 otherwise.
func (ld *labDaemon) peerKeepalived(m mode, h *netlab.Host, text string) *proc {
	ld.t.Helper()
	if !m.hmac {
		return ld.keepalived(h, text)
	}
	return ld.keepalivedEnv(h, kalab.Binary(ld.t), text, nil)
}

// hmacModes are the wire modes auth_hmac runs in against keepalived
// 2.4.3: VRRPv2 and v3, IPv4 and IPv6, multicast and unicast (VRRPv2 over
// IPv6, which keepalived sends, is refused by the library: RFC 3768 is
// IPv4 only).
var hmacModes = []mode{
	{name: "v2-ipv4-mcast", version: 2, interval: time.Second, hmac: true},
	{name: "v2-ipv4-unicast", version: 2, interval: time.Second, unicast: true, hmac: true},
	{name: "v3-ipv4-mcast", version: 3, interval: 100 * time.Millisecond, hmac: true},
	{name: "v3-ipv4-unicast", version: 3, interval: 100 * time.Millisecond, unicast: true, hmac: true},
	{name: "v3-ipv6-mcast", version: 3, interval: 100 * time.Millisecond, ipv6: true, hmac: true},
	{name: "v3-ipv6-unicast", version: 3, interval: 100 * time.Millisecond, ipv6: true, unicast: true, hmac: true},
}

// TestHMACInteropWithKeepalived243 proves auth_hmac against keepalived
// 2.4.3 in every wire mode, both directions, as TestInteropWithKeepalived
// does against 2.2.7: election, SIGKILL takeover, return and preempt,
// graceful stop (priority 0), with no drop counted by vrrpd and no
// complaint in either daemon's log (keepalived logs "invalid
// authentication HMAC", "unknown authentication key id", ... for the
// adverts it refuses).
func TestHMACInteropWithKeepalived243(t *testing.T) {
	t.Parallel()
	if os.Getenv(kalab.EnvBinary) == "" {
		kalab.Binary(t) // skips with the reason, or fails under VRRPKIT_REQUIRE_NETNS=1
	}
	var cases []labCase
	for _, m := range hmacModes {
		cases = append(cases, labCase{m.name, func(t *testing.T) { testInterop(t, m) }})
	}
	concurrently(t, cases)
}

// vrrpPayload returns the source and the IP payload of a VRRP frame
// (IPv4 or IPv6, without Ethernet padding).
func vrrpPayload(d []byte) (src, dst netip.Addr, payload []byte, ok bool) {
	if len(d) < 14 {
		return src, dst, nil, false
	}
	ip := d[14:]
	switch binary.BigEndian.Uint16(d[12:14]) {
	case 0x0800:
		if len(ip) < 20 || ip[9] != 112 {
			return src, dst, nil, false
		}
		n, ihl := int(binary.BigEndian.Uint16(ip[2:4])), int(ip[0]&0x0f)*4
		if n > len(ip) || ihl > n {
			return src, dst, nil, false
		}
		return netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20])), ip[ihl:n], true
	case 0x86dd:
		if len(ip) < 40 || ip[6] != 112 {
			return src, dst, nil, false
		}
		n := int(binary.BigEndian.Uint16(ip[4:6]))
		if 40+n > len(ip) {
			return src, dst, nil, false
		}
		return netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40])), ip[40 : 40+n], true
	}
	return src, dst, nil, false
}

// checkSigned: every advert the capture saw carries an auth_hmac trailer
// sealed with key id, which verifies, and a checksum that verifies (over
// IPv6 it covers the trailer).
func checkSigned(t *testing.T, c *netlab.Capture, id int) {
	t.Helper()
	k, err := auth.NewKey(id, mustHex(t, hmacLabKeys[id]))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range c.Frames() {
		src, dst, payload, ok := vrrpPayload(f.Data)
		if !ok {
			continue
		}
		n++
		var a advert.Advert
		trailer, _, err := a.DecodePayload(payload, src, dst, advert.ChecksumEither)
		if err != nil || trailer == nil {
			t.Errorf("advert from %v at %v: %v, trailer %x", src, f.Time.Format(time.StampMicro), err, trailer)
			continue
		}
		// Each advert alone: the replay state is not what is checked here.
		h, err := auth.NewHMAC(auth.HMACConfig{Keys: []auth.Key{k}, ActiveKey: id, AntiReplay: auth.AntiReplayMonotonic})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Verify(payload[:len(payload)-auth.TrailerLen], trailer, src, f.Time); err != nil {
			t.Errorf("advert from %v (priority %d) at %v: %v", src, a.Priority, f.Time.Format(time.StampMicro), err)
		}
	}
	if n == 0 {
		t.Error("no advert captured")
	}
	t.Logf("%d adverts on the wire, each signed with key %d", n, id)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
