package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom/promtext"
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

// buildInfo is vrrpd's own metric: which build serves.
var buildInfo = &promtext.Def{Name: "vrrpkit_build_info",
	Help: "Always 1; labels say vrrpd's module version and VCS revision.", Type: promtext.Gauge,
	Labels: []string{"version", "revision"}}

// metricsText is the document GET /metrics serves.
func metricsText(n promtext.Node, opts *promtext.Options) []byte {
	v := buildVersion()
	fams := append(promtext.Gather(n, opts), promtext.Family{Def: buildInfo,
		Samples: []promtext.Sample{{Labels: []string{v.module, v.revision}, Value: 1}}})
	var b bytes.Buffer
	_ = promtext.WriteText(&b, fams)
	return b.Bytes()
}

// serveMetrics serves GET /metrics on l until ctx ends, one request per
// connection like the status endpoint (on net, not net/http: see there).
// A Prometheus server scrapes that way as well as with keep-alive.
func serveMetrics(ctx context.Context, l net.Listener, text func() []byte, log *zap.Logger) {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				log.Error("metrics endpoint stopped", zap.Error(err))
			}
			return
		}
		go serveMetricsConn(c, text, log)
	}
}

func serveMetricsConn(c net.Conn, text func() []byte, log *zap.Logger) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	method, target, err := readRequest(bufio.NewReaderSize(io.LimitReader(c, maxRequest), 1024))
	code, ctype := 200, promtext.ContentType
	var body []byte
	switch {
	case err != nil:
		code, body = 400, []byte(err.Error()+"\n")
	case target != metricsPath && !strings.HasPrefix(target, metricsPath+"?"):
		code, body = 404, []byte("not found: GET "+metricsPath+"\n")
	case method != "GET" && method != "HEAD":
		code, body = 405, []byte("method not allowed: GET "+metricsPath+"\n")
	default:
		body = text()
	}
	if code != 200 {
		ctype = "text/plain; charset=utf-8"
	}
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		code, statusText(code), ctype, len(body))
	if method == "HEAD" {
		body = nil
	}
	if _, err := c.Write(append([]byte(head), body...)); err != nil {
		log.Debug("metrics: write", zap.Error(err))
	}
}

// scriptMetrics lists the daemon's vrrp_scripts for keepalived_script_*.
func (d *daemon) scriptMetrics() []promtext.Script {
	d.mu.Lock()
	scripts := d.plan.conf.Scripts
	d.mu.Unlock()
	out := make([]promtext.Script, 0, len(scripts))
	for _, s := range scripts {
		known, up := d.trackers.state(trackKey{trackScript, s.Name})
		out = append(out, promtext.Script{Name: s.Name, Good: known && up})
	}
	return out
}
