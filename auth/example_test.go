package auth_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// keepalived's `auth_pass PostgresReplication` is sent as "Postgres"; the
// strict constructor refuses it.
func ExampleKeepalivedPassword() {
	p, truncated, err := auth.KeepalivedPassword("PostgresReplication")
	fmt.Println(truncated, err)
	fmt.Println(p.Verify([8]byte{'P', 'o', 's', 't', 'g', 'r', 'e', 's'}))
	fmt.Println(p) // never shows the password
	_, err = auth.NewPassword("PostgresReplication")
	fmt.Println(err)
	// Output:
	// true <nil>
	// <nil>
	// auth.Password(redacted)
	// auth: password: 19 bytes, VRRPv2 carries at most 8 (KeepalivedPassword truncates as keepalived does)
}

// A master seals its advert, a backup verifies it; the same packet again is
// a replay.
func ExampleAH() {
	key, _ := auth.NewPassword("key12345")
	const started = 1_795_311_168 // the clock's Unix seconds when the router started
	master := auth.NewAH(key, false, started)
	backup := auth.NewAH(key, false, 0)

	// The VRRPv2 message and the IPv4 header it is sent in (10.0.0.1 →
	// 224.0.0.18, protocol 51, identification 1, TTL 255); the socket
	// builds these.
	msg := []byte{0x21, 0x33, 0xc8, 0x01, 0x02, 0x01, 0x0a, 0x66, 10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0}
	ip := []byte{0x45, 0xc0, 0, 0, 0, 1, 0, 0, 255, 51, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18}
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+auth.AHLen+len(msg)))

	seq, _ := master.NextSeq()
	ah := make([]byte, auth.AHLen)
	if err := master.SealAH(ah, ip, msg, seq); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(seq, backup.Verify(ip, ah, msg))
	fmt.Println(backup.Verify(ip, ah, msg))
	// Output:
	// 1795311169 <nil>
	// auth: verify AH: sequence number 1795311169 from 10.0.0.1, not above 1795311169 already accepted
}

// A master seals its VRRPv3 advert with auth_hmac, a backup verifies it;
// the same advert again is a replay, and an unsigned one is refused in
// enforce mode. The time is passed in: auth reads no clock.
func ExampleHMAC() {
	key, _ := auth.NewKey(1, []byte("0123456789abcdef0123456789abcdef"))
	cfg := auth.HMACConfig{Keys: []auth.Key{key}, ActiveKey: 1, Interval: time.Second}
	master, _ := auth.NewHMAC(cfg)
	backup, _ := auth.NewHMAC(cfg)
	src := netip.MustParseAddr("10.0.0.1")
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

	// VRID 51, priority 200, 1 s, one address; the checksum is written
	// after sealing (advert.WriteChecksum), the HMAC reads it as zero.
	msg := []byte{0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0x00, 0x00, 10, 0, 0, 100}
	pkt, seq, err := master.Seal(msg, msg, src, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	trailer := pkt[len(msg):]
	fmt.Println(len(trailer), seq, key)

	tr, err := backup.Verify(pkt[:len(msg)], trailer, src, now.Add(3*time.Millisecond))
	fmt.Println(tr.KeyID, err)
	_, err = backup.Verify(pkt[:len(msg)], trailer, src, now.Add(time.Second))
	fmt.Println(err)
	_, err = backup.Receive(msg, nil, src, now)
	fmt.Println(err)
	// Output:
	// 28 1796126400.0/0 auth.Key(id 1, 32 bytes)
	// 1 <nil>
	// auth: auth_hmac sequence replayed
	// auth: advert has no auth_hmac trailer
}
