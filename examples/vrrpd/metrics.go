package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom"
)

// metricsPath is where --metrics serves the Prometheus metrics.
const metricsPath = "/metrics"

// errRemoteMetrics refuses a metrics address reachable from other hosts
// without --metrics-allow-remote: the metrics say which host holds which
// address and how the group is configured.
var errRemoteMetrics = errors.New("is reachable from other hosts: give a unix socket or a loopback address, or add --metrics-allow-remote")

// metricsListenAddr checks --metrics ADDR: unix:/path (or /path), or a
// TCP host:port whose host is a loopback address or "localhost" unless
// allowRemote.
func metricsListenAddr(addr string, allowRemote bool) (network, address string, err error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		addr = p
		if addr == "" {
			return "", "", fmt.Errorf("--metrics %q: no socket path", "unix:")
		}
	}
	if strings.HasPrefix(addr, "/") {
		return "unix", addr, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("--metrics %q: want unix:/path or host:port: %v", addr, err)
	}
	if !allowRemote {
		loopback := host == "localhost"
		if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
			loopback = true
		}
		if !loopback {
			return "", "", fmt.Errorf("--metrics %q %w", addr, errRemoteMetrics)
		}
	}
	return "tcp", addr, nil
}

// listenMetrics opens the metrics endpoint. A stale unix socket (from a
// vrrpd that was killed) is replaced; any other file at the path is left
// alone and the listen fails.
func listenMetrics(addr string, allowRemote bool) (net.Listener, error) {
	network, address, err := metricsListenAddr(addr, allowRemote)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if fi, err := os.Lstat(address); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(address)
		}
	}
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint: %w", err)
	}
	return l, nil
}

// metricsRegistry is what --metrics serves: the node's routers and
// vrrpd's own build information.
func metricsRegistry(c *vrrpprom.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vrrpkit_build_info",
		Help:        "Always 1; labels say vrrpd's module version and VCS revision.",
		ConstLabels: prometheus.Labels{"version": buildVersion().module, "revision": buildVersion().revision},
	}, func() float64 { return 1 }))
	return reg
}

// serveMetrics serves GET /metrics on l until ctx ends.
func serveMetrics(ctx context.Context, l net.Listener, reg *prometheus.Registry, log *zap.Logger) {
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: zapErrorLog{log}}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("metrics endpoint stopped", zap.Error(err))
	}
}

type zapErrorLog struct{ log *zap.Logger }

func (z zapErrorLog) Println(v ...any) {
	z.log.Warn("metrics: " + strings.TrimSpace(fmt.Sprintln(v...)))
}

// scriptMetrics lists the daemon's vrrp_scripts for keepalived_script_*.
func (d *daemon) scriptMetrics() []vrrpprom.Script {
	d.mu.Lock()
	scripts := d.plan.conf.Scripts
	d.mu.Unlock()
	out := make([]vrrpprom.Script, 0, len(scripts))
	for _, s := range scripts {
		known, up := d.trackers.state(trackKey{trackScript, s.Name})
		out = append(out, vrrpprom.Script{Name: s.Name, Good: known && up})
	}
	return out
}
