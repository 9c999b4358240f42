package advert_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
)

// Listen on eth0 (needs CAP_NET_RAW and CAP_NET_ADMIN), send one VRRPv3
// advert to 224.0.0.18 from the interface's primary address, and print
// the first advert heard. Not run by go test: it needs privileges and a
// network.
func ExampleListen() {
	ctx := context.Background()
	c, err := advert.Listen(ctx, advert.Config{Interface: "eth0"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	a := advert.Advert{Version: 3, VRID: 51, Priority: 100, Interval: time.Second}
	msg, err := a.Append(nil, c.LocalAddr(), advert.GroupIPv4, advert.ChecksumStandard)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Send(&advert.Packet{Msg: msg}); err != nil {
		log.Fatal(err)
	}

	var p advert.Packet
	buf := make([]byte, 1500)
	if err := c.Receive(&p, buf); err != nil {
		log.Fatal(err)
	}
	var in advert.Advert
	if _, err := in.Decode(p.Msg, p.Src, p.Dst, advert.ChecksumEither); err != nil {
		fmt.Printf("from %v: %v\n", p.Src, err)
		return
	}
	fmt.Printf("VRID %d priority %d from %v (TTL %d)\n", in.VRID, in.Priority, p.Src, p.HopLimit)
}
