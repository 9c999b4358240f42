package health

import (
	"context"
	"net"
	"net/netip"
)

// TCP passes when a TCP connection to Addr can be established; the
// connection is closed at once. The run's context bounds the attempt.
type TCP struct {
	// Addr is the address and port to connect to. An IPv6 link-local
	// address needs its zone.
	Addr netip.AddrPort
	// Source, if valid, is the local address to connect from.
	Source netip.Addr
}

// Check connects once.
func (c *TCP) Check(ctx context.Context) Result {
	var d net.Dialer
	if c.Source.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(c.Source, 0))
	}
	conn, err := d.DialContext(ctx, "tcp", c.Addr.String())
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return Result{Reason: "connect " + c.Addr.String() + ": " + cause.Error()}
		}
		return Result{Reason: err.Error()}
	}
	conn.Close()
	return Result{Up: true, Reason: "connected to " + c.Addr.String()}
}
