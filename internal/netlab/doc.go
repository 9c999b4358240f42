// Package netlab builds network-namespace labs for integration tests: a
// switch namespace holding a bridge, and N host namespaces each joined to
// the bridge by a veth pair, with IPv4 (10.0.0.i/24) and IPv6 (fd00::i/64
// and link-local) addresses usable at once. It runs code and commands inside
// a host, cuts and restores a host's link (or isolates it with its link up),
// and captures every frame that crosses the bridge with the kernel's time
// stamps (and writes it as pcap).
//
// Labs need root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN): without it New
// skips the test with the reason, unless VRRPKIT_REQUIRE_NETNS=1, where it
// fails instead. Everything a lab creates is torn down in t.Cleanup, also
// when the test fails. A test that needs a program the machine may lack
// (keepalived, tshark, ping, nft, ...) asks for it with NeedTool, which
// skips or fails the same way.
//
// The test binaries that link netlab take turns (a lock file in the
// temporary directory, taken when such a binary starts, if it may build
// labs): `go test ./...` runs packages in parallel, and the labs assert
// protocol timing that two packages' router processes would starve each
// other of.
package netlab
