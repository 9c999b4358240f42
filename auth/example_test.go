package auth_test

import (
	"encoding/binary"
	"fmt"

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
