package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are httpvip's flags.
type options struct {
	iface, name    string
	vrid, priority int
	version        int
	vip            netip.Prefix
	port           int
	advertInt      time.Duration
	unhealthyFile  string
	checkInterval  time.Duration
	banner         string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("httpvip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var vipText string
	fs.StringVar(&o.iface, "interface", "eth0", "interface the router runs on")
	fs.StringVar(&o.name, "name", "VI_HTTP", "the router's name in logs")
	fs.IntVar(&o.vrid, "vrid", 51, "virtual router ID, 1-255")
	fs.IntVar(&o.priority, "priority", 100, "priority, 1-254 (255: the address owner)")
	fs.IntVar(&o.version, "version", 3, "VRRP version: 3 (vrrpkit's default) or 2 (keepalived's default)")
	fs.StringVar(&vipText, "vip", "", "the virtual address with its prefix, e.g. 10.0.0.100/24 (required)")
	fs.IntVar(&o.port, "port", 8080, "TCP port to serve HTTP on, on the VIP")
	fs.DurationVar(&o.advertInt, "advert-int", 100*time.Millisecond, "advertisement interval")
	fs.StringVar(&o.unhealthyFile, "unhealthy-file", "", "the service counts as unhealthy while this file exists")
	fs.DurationVar(&o.checkInterval, "check-interval", 100*time.Millisecond, "how often the health check runs")
	fs.StringVar(&o.banner, "banner", "", "what GET / answers (default: the host name)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	p, err := netip.ParsePrefix(vipText)
	if err != nil {
		return nil, fmt.Errorf("-vip %q: %v", vipText, err)
	}
	o.vip = p
	if o.banner == "" {
		o.banner, _ = os.Hostname()
	}
	return o, nil
}

func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "httpvip:", err)
		}
		return 2
	}
	enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(stderr)), zapcore.InfoLevel))
	defer log.Sync()
	if err := serve(o, log); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

// serve runs the router and the service until SIGTERM or SIGINT.
func serve(o *options, log *zap.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	linux, err := vip.NewLinux(vip.LinuxConfig{Logger: log})
	if err != nil {
		return err
	}
	defer linux.Close()
	network, err := vrrp.NewSocketNetwork()
	if err != nil {
		return err
	}
	defer network.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, o.banner)
	})
	backend := &servingBackend{Backend: linux, port: o.port, handler: mux, log: log}

	tracker := &health.Tracker{
		Name:     "service",
		Check:    health.Func(func(context.Context) error { return checkHealthy(o.unhealthyFile) }),
		Interval: o.checkInterval,
		Logger:   log,
		// Weight 0: while the check fails the router is in FAULT and
		// gives the address up.
	}
	r, err := vrrp.NewRouter(vrrp.Config{
		Name:      o.name,
		VRID:      o.vrid,
		Interface: o.iface,
		Priority:  o.priority,
		Version:   o.version,
		Interval:  o.advertInt,
		VIPs:      []vrrp.VIP{{Prefix: o.vip}},
		Backend:   backend,
		Tracks:    []vrrp.TrackStatus{tracker.Initial()},
	}, vrrp.NodeConfig{Network: network, Logger: log})
	if err != nil {
		return err
	}
	go func() { _ = tracker.Run(ctx, nil, r.Track) }()
	go func() {
		for e := range r.Events() {
			if e.Kind == vrrp.EventState {
				log.Info(fmt.Sprintf("(%s) %v -> %v (%v)", e.Router, e.From, e.To, e.Reason))
			}
		}
	}()
	// Until ctx ends; then a master sends priority 0 and releases the
	// address, which closes the listener first.
	return r.Run(ctx)
}

// checkHealthy fails while path exists.
func checkHealthy(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err == nil {
		return errors.New(path + " exists")
	}
	return nil
}
