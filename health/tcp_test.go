package health

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	c := &TCP{Addr: addr, Source: netip.MustParseAddr("127.0.0.1")}
	if r := c.Check(t.Context()); !r.Up {
		t.Errorf("listening: %+v, want up", r)
	}
	ln.Close()
	if r := c.Check(t.Context()); r.Up || !strings.Contains(r.Reason, "connection refused") {
		t.Errorf("closed: %+v, want down, connection refused", r)
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errTimedOut)
	if r := c.Check(ctx); r.Up || !strings.Contains(r.Reason, errTimedOut.Error()) {
		t.Errorf("cancelled: %+v, want down with the cause", r)
	}
}
