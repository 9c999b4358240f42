// Package labtest proves the whole stack on real sockets: vrrp's Node over
// advert's raw sockets (vrrp.SocketNetwork) with vip's Linux backend, three
// routers on a network-namespace lab (internal/netlab), each router a
// separate process in its own host so that a master can be killed with
// SIGKILL as a real crash kills it.
//
// The tests are the "Proof, in the lab" of issue 4, for VRRPv2 (with PASS
// and with IPsec AH) and VRRPv3 over IPv4 and IPv6, multicast and unicast:
// the highest priority is elected and the VIPs are on exactly one host; a
// killed master is replaced within Master_Down_Interval plus a margin and a
// stopped one within Skew_Time plus a margin (RFC 5798 §6.1, §6.4.2),
// measured from the capture's kernel time stamps; a restarted router first
// removes VIPs its crashed predecessor left; a rejoining master preempts
// (or, with nopreempt, does not); adverts on the wire carry TTL / hop limit
// 255, valid checksums and the right source; gratuitous ARPs and unsolicited
// neighbor advertisements come in exactly the configured numbers, fields
// and order; a partitioned router becomes master of its own segment, a
// router whose link is cut goes to Fault, and either way the group
// converges to one master holding the VIPs once the network heals.
//
// The routers are this package's test binary run again inside a host
// (TestMain), configured by JSON in an environment variable and
// reporting its events as JSON lines on stdout. The tests need root; without
// it they skip, and with VRRPKIT_REQUIRE_NETNS=1 they fail instead.
//
//	go test -race ./internal/labtest/
package labtest
