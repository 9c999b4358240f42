package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// servingBackend is a vrrp.Backend that serves HTTP on the router's
// addresses while it holds them: it passes the addresses to the wrapped
// backend and opens a listener on each after Acquire returns, and closes
// them before Release.
type servingBackend struct {
	vrrp.Backend
	port    int
	handler http.Handler
	log     *zap.Logger

	mu      sync.Mutex
	servers []*http.Server
}

func (b *servingBackend) Acquire(ctx context.Context, set vrrp.AddressSet) error {
	if err := b.Backend.Acquire(ctx, set); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.servers) > 0 {
		return nil // already serving (a repeated Acquire)
	}
	var errs []error
	for _, v := range set.VIPs {
		addr := netip.AddrPortFrom(v.Prefix.Addr(), uint16(b.port)).String()
		l, err := net.Listen("tcp", addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		srv := &http.Server{Handler: b.handler, ReadHeaderTimeout: 5 * time.Second}
		b.servers = append(b.servers, srv)
		b.log.Info("Serving on " + addr)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				b.log.Error("serve "+addr, zap.Error(err))
			}
		}()
	}
	return errors.Join(errs...)
}

func (b *servingBackend) Release(ctx context.Context, set vrrp.AddressSet) error {
	b.stopServing(ctx)
	return b.Backend.Release(ctx, set)
}

// stopServing closes the listeners and lets requests in flight finish
// until ctx ends (the Node bounds a release).
func (b *servingBackend) stopServing(ctx context.Context) {
	b.mu.Lock()
	servers := b.servers
	b.servers = nil
	b.mu.Unlock()
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}
	if len(servers) > 0 {
		b.log.Info("Stopped serving on the VIPs (" + strconv.Itoa(len(servers)) + " listeners)")
	}
}
