//go:build linux

package vrrp_test

import (
	"context"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// The README's first program, kept here so that it compiles: one router
// on Linux, with vip's netlink backend and raw VRRP sockets (root, or
// CAP_NET_ADMIN and CAP_NET_RAW), until SIGTERM.
func ExampleNewRouter_linux() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := runFailover(ctx, zap.NewNop()); err != nil {
		panic(err)
	}
}

func runFailover(ctx context.Context, log *zap.Logger) error {
	backend, err := vip.NewLinux(vip.LinuxConfig{Logger: log}) // addresses via netlink, GARP / NA announcements
	if err != nil {
		return err
	}
	defer backend.Close()
	network, err := vrrp.NewSocketNetwork() // raw VRRP sockets
	if err != nil {
		return err
	}
	defer network.Close()

	r, err := vrrp.NewRouter(vrrp.Config{
		Name:      "VI_1",
		VRID:      51,
		Interface: "eth0",
		Priority:  150,
		Interval:  100 * time.Millisecond, // VRRPv3, the default version
		VIPs:      []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}},
		Backend:   backend,
	}, vrrp.NodeConfig{Network: network, Logger: log})
	if err != nil {
		return err // a *vrrp.ConfigError names the field at fault
	}

	go func() {
		for e := range r.Events() { // never blocks the protocol
			log.Info("vrrp event", zap.String("router", e.Router), zap.Stringer("from", e.From),
				zap.Stringer("to", e.To), zap.Stringer("reason", e.Reason))
		}
	}()

	// Runs until ctx ends; then a master sends priority 0 and releases the VIPs.
	return r.Run(ctx)
}

// TestReadmeShowsTheExample: the README's program is runFailover, word
// for word, so that what a newcomer copies compiles.
func TestReadmeShowsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("example_readme_linux_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fn := func(b []byte) string {
		s := string(b)
		i := strings.Index(s, "func runFailover(")
		if i < 0 {
			return ""
		}
		s = s[i:]
		return s[:strings.Index(s, "\n}\n")+2]
	}
	if got, want := fn(readme), fn(self); got == "" || got != want {
		t.Errorf("README.md's runFailover differs from example_readme_linux_test.go's:\nREADME:\n%s\nexample:\n%s", got, want)
	}
}
