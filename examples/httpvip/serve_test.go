package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// orderBackend checks, as each call reaches it, whether the service
// listens on the address.
type orderBackend struct {
	t    *testing.T
	addr string
	log  []string
}

func (b *orderBackend) listening() bool {
	c, err := net.Dial("tcp", b.addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func (b *orderBackend) Acquire(context.Context, vrrp.AddressSet) error {
	if len(b.log) == 0 && b.listening() {
		b.t.Error("the service listened before the address was added")
	}
	b.log = append(b.log, "acquire")
	return nil
}

func (b *orderBackend) Release(context.Context, vrrp.AddressSet) error {
	if b.listening() {
		b.t.Error("the service still listened when the address was removed")
	}
	b.log = append(b.log, "release")
	return nil
}

func (b *orderBackend) Announce(context.Context, vrrp.AddressSet) error { return nil }

// TestListenerFollowsTheAddress: the listener opens after Acquire has
// added the address and closes before Release removes it. (127.0.0.1
// stands for the VIP: it needs no privilege.)
func TestListenerFollowsTheAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	inner := &orderBackend{t: t, addr: l.Addr().String()}
	b := &servingBackend{Backend: inner, port: port, log: zap.NewNop(),
		handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	set := vrrp.AddressSet{Router: "VI_HTTP", VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("127.0.0.1/8")}}}
	ctx := context.Background()

	if err := b.Acquire(ctx, set); err != nil {
		t.Fatal(err)
	}
	if !inner.listening() {
		t.Fatal("not serving after Acquire")
	}
	if err := b.Acquire(ctx, set); err != nil { // repeated: still one listener
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + inner.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("GET / = %q", body)
	}
	if err := b.Release(ctx, set); err != nil {
		t.Fatal(err)
	}
	if inner.listening() {
		t.Error("still serving after Release")
	}
	if len(inner.log) != 3 || inner.log[2] != "release" {
		t.Errorf("backend calls %v", inner.log)
	}
}
