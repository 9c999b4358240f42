package advert_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// A VRRPv3 advert over IPv4 (byte for byte what keepalived 2.2.7 sends for
// the same configuration) encoded into a reusable buffer, as a master
// sends it, and decoded into a reusable value, as a backup receives it.
func Example() {
	src := netip.MustParseAddr("10.0.0.1")
	a := advert.Advert{
		Version:  3,
		VRID:     51,
		Priority: 200,
		Interval: time.Second,
		Addrs:    []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")},
	}
	buf := make([]byte, 0, 64)
	msg, err := a.Append(buf, src, advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", msg)

	var got advert.Advert
	mode, err := got.Decode(msg, src, advert.GroupIPv4, advert.ChecksumEither)
	fmt.Println(&got, mode, err)

	msg[2] = 255 // the priority changes on the way: the checksum catches it
	_, err = got.Decode(msg, src, advert.GroupIPv4, advert.ChecksumEither)
	fmt.Println(err)
	// Output:
	// 31 33 c8 02 00 64 07 09 0a 00 00 64 0a 00 00 65
	// VRRPv3 VRID 51 priority 200 interval 1s [10.0.0.100 10.0.0.101] standard <nil>
	// advert: decode: VRRPv3 checksum 0x0709, want 0xd008 with the IPv4 pseudo-header 10.0.0.1 → 224.0.0.18 or 0xba9c without
}

// How many virtual addresses fit one advert on a standard Ethernet link.
func ExampleMaxAddrs() {
	fmt.Println(advert.MaxAddrs(3, true, 1500, false))
	fmt.Println(advert.MaxAddrs(2, false, 1500, true))
	// Output:
	// 90
	// 255
}

// A signed VRRPv3 advert to two unicast peers, as keepalived 2.4.3 sends
// it: the message is encoded, sealed once, and its checksum written for
// each destination; a peer decodes the payload and verifies the trailer.
func ExampleWriteChecksum() {
	key, _ := auth.NewKey(1, []byte("0123456789abcdef0123456789abcdef"))
	cfg := auth.HMACConfig{Keys: []auth.Key{key}, ActiveKey: 1, Interval: time.Second}
	master, _ := auth.NewHMAC(cfg)
	backup, _ := auth.NewHMAC(cfg)
	src := netip.MustParseAddr("10.0.0.1")
	peers := []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

	a := advert.Advert{Version: 3, VRID: 51, Priority: 200, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	buf := make([]byte, 0, 128)
	msg, err := a.Append(buf, src, peers[0], advert.ChecksumStandard)
	if err != nil {
		fmt.Println(err)
		return
	}
	pkt, _, err := master.Seal(msg, msg, src, now) // the HMAC reads the checksum as zero
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, dst := range peers {
		if err := advert.WriteChecksum(pkt, src, dst, advert.ChecksumStandard); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("to %v: %d bytes, checksum % x\n", dst, len(pkt), pkt[6:8])
	}

	// The peer 10.0.0.3 receives the last copy.
	var got advert.Advert
	trailer, _, err := got.DecodePayload(pkt, src, peers[1], advert.ChecksumStandard)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = backup.Receive(pkt[:len(pkt)-len(trailer)], trailer, src, now.Add(2*time.Millisecond))
	fmt.Println(&got, err)
	// Output:
	// to 10.0.0.2: 40 bytes, checksum e7 83
	// to 10.0.0.3: 40 bytes, checksum e7 82
	// VRRPv3 VRID 51 priority 200 interval 1s [10.0.0.100] <nil>
}
