package advert_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
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
