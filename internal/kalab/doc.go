// Package kalab runs keepalived 2.4.3 in the hosts of a network-namespace
// lab (internal/netlab), for interoperability tests and for recording its
// adverts: Start writes a configuration (and any key files) into a
// directory of the daemon's own, starts keepalived in the foreground
// inside the host with its log on the console, and stops it at cleanup.
//
// The binary is found through VRRPKIT_KEEPALIVED_NEW (its path; CI unpacks
// the 2.4.3 tarball and sets it). When it is unset, Binary skips the test
// with the reason; with VRRPKIT_REQUIRE_NETNS=1 it fails instead, because
// then nothing may skip. Debian's keepalived (2.2.7) is not a substitute: it
// has neither auth_hmac nor 2.4's configuration syntax.
package kalab
