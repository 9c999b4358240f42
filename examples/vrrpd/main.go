package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vip/vmac"
	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom/promtext"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program, for tests: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "status" {
		return runStatus(args[1:], stdout, stderr)
	}
	opts, err := parseOptions(args)
	if err != nil {
		fmt.Fprintf(stderr, "vrrpd: %v\nTry 'vrrpd --help'.\n", strings.TrimPrefix(err.Error(), "usage: "))
		return 2
	}
	switch {
	case opts.help:
		fmt.Fprint(stdout, usageText)
		return 0
	case opts.version:
		fmt.Fprintln(stdout, versionString())
		return 0
	case opts.signum != "":
		n, ok := signalNumber(opts.signum)
		if !ok {
			fmt.Fprintln(stderr, "Unknown sigfunc "+opts.signum) // keepalived's words and status
			return 1
		}
		fmt.Fprintln(stdout, n)
		return 0
	case opts.check:
		return checkConfig(opts, stderr)
	}
	return serve(opts, stderr)
}

func versionString() string { return buildVersion().String() }

// loadConfig reads and translates the configuration, returning every
// problem as a line naming file and line, and the warnings.
func loadConfig(opts *options) (*plan, []string, error) {
	conf, err := kaconf.Load(opts.configFile, &kaconf.Options{ConfigID: opts.configID})
	var warnings []string
	if err != nil {
		var ke *kaconf.Error
		if errors.As(err, &ke) {
			for _, w := range ke.Warnings {
				warnings = append(warnings, w.String())
			}
			lines := make([]string, len(ke.Errors))
			for i, e := range ke.Errors {
				lines[i] = e.String()
			}
			return nil, warnings, errors.New(strings.Join(lines, "\n"))
		}
		return nil, nil, err
	}
	for _, w := range conf.Warnings {
		warnings = append(warnings, w.String())
	}
	p, err := buildPlan(conf)
	if err != nil {
		return nil, warnings, err
	}
	for _, w := range p.warnings {
		warnings = append(warnings, w.String())
	}
	return p, warnings, nil
}

// checkConfig is --check / -t: validate, report, exit.
func checkConfig(opts *options, stderr io.Writer) int {
	out := stderr
	if opts.checkLog != "" {
		f, err := os.Create(opts.checkLog)
		if err != nil {
			fmt.Fprintln(stderr, "vrrpd:", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	p, warnings, err := loadConfig(opts)
	for _, w := range warnings {
		fmt.Fprintln(out, "warning:", w)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(out, "error:", line)
		}
		fmt.Fprintf(out, "%s: configuration has errors\n", opts.configFile)
		return 1
	}
	// What would be disabled at run time: scripts not found or unsafe.
	env := newScriptEnv(p.conf.Global)
	for _, s := range p.conf.Scripts {
		if _, ws, err := env.exec(s.Command); err != nil {
			fmt.Fprintf(out, "warning: %s: vrrp_script %s: %v\n", s.Pos, s.Name, err)
		} else {
			for _, w := range ws {
				fmt.Fprintf(out, "warning: %s: vrrp_script %s: %s\n", s.Pos, s.Name, w)
			}
		}
	}
	for _, rp := range p.routers {
		newNotifyScripts("INSTANCE", rp.inst.Name, rp.notify, env, func(keyword, msg string) {
			fmt.Fprintln(out, "warning:", kaconf.Diagnostic{Pos: rp.inst.Pos, Keyword: keyword, Msg: msg})
		})
	}
	fmt.Fprintf(out, "%s: configuration OK: %d instances, %d sync groups, %d scripts\n",
		opts.configFile, len(p.routers), len(p.groups), len(p.conf.Scripts))
	return 0
}

// tuneRuntime sizes the Go runtime for a daemon whose work is one protocol
// loop fed by a few socket readers: one P (GOMAXPROCS=1) spares the
// wake-ups of idle threads at every packet handed from reader to loop,
// which cost more than the packets themselves (measured in
// BENCHMARKS.md: about a third of the CPU), and GOGC=50 keeps the heap
// near its small live size. The environment's GOMAXPROCS and GOGC win.
func tuneRuntime() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// serve runs the daemon until SIGTERM or SIGINT.
func serve(opts *options, logOut io.Writer) int {
	tuneRuntime()
	log, closeLog, err := buildLogger(logOut, opts.log)
	if err != nil {
		fmt.Fprintln(logOut, "vrrpd:", err)
		return 1
	}
	defer closeLog()
	defer log.Sync()
	sd, err := newNotifier(log)
	if err != nil {
		log.Warn("systemd notify: " + err.Error())
	}
	defer sd.close()
	log.Info("Starting " + versionString())
	log.Info("Command line: '" + strings.Join(os.Args, "' '") + "'")
	for _, ig := range opts.ignored {
		log.Info("Option " + ig + ": accepted and ignored")
	}
	if opts.umask >= 0 {
		unix.Umask(opts.umask)
	}
	stopProfiles := startProfiles(opts, log)
	defer stopProfiles()

	// Signals first: a SIGTERM during startup must not kill us with the
	// VIPs held.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	for _, s := range dumpSignals {
		signal.Notify(sigs, s)
	}
	defer signal.Stop(sigs)

	log.Info("Configuration file " + opts.configFile)
	p, warnings, err := loadConfig(opts)
	for _, w := range warnings {
		log.Warn(w)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error(line)
		}
		log.Error("Stopping: the configuration has errors")
		return 1
	}
	if opts.dumpConfig {
		dumpConfig(log, p.conf)
	}
	applySched(p.conf.Global, log)
	pids, err := writePidFiles(opts.pidFile, opts.vrrpPidFile)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	defer pids.release()

	var network vrrp.Network
	sn, err := vrrp.NewSocketNetwork()
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	defer sn.Close()
	// use_vmac: the Manager's VMACs, and transports on IPv4 VMACs that
	// send from their base's address.
	vmacs, err := vmac.New(vmac.Config{Logger: log})
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	defer vmacs.Close()
	network = vmacs.Network(sn)
	if opts.logDetail {
		network = packetLogNetwork{Network: network, log: log}
	}
	routing, err := vip.NewRouting(vip.RoutingConfig{Logger: log})
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	defer routing.Close()
	sched := schedule(p.conf.Global.GARP, p.conf.Global)
	linux, err := vip.NewLinux(vip.LinuxConfig{Logger: log, Schedule: &sched})
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	defer linux.Close()
	// PreciseWakeups: a backup's takeover does not wait up to a
	// millisecond for Go's poller to notice its timer.
	ncfg := vrrp.NodeConfig{Network: network, Logger: log, PreciseWakeups: true}
	// The observer's histograms only serve --metrics: without it they
	// would cost every takeover and about 1 MB at 1,000 routers.
	var obs *promtext.Observer
	if opts.metrics != "" {
		obs = promtext.NewObserver()
		ncfg.Observer = obs
	}
	node, err := vrrp.NewNode(ncfg)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	d := newDaemon(daemonConfig{log: log, node: node, backend: linux, baseSchedule: sched, notifyTimeout: opts.notifyTTL,
		vmacs: vmacs, routing: routing})
	d.load(p)
	d.releaseLeftovers(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if l, err := openStatus(opts); err != nil {
		if opts.statusSet {
			log.Error(err.Error())
			return 1
		}
		// The default endpoint is a convenience: without it the daemon
		// still runs.
		log.Warn(err.Error() + "; running without a status endpoint")
	} else if l != nil {
		log.Info("Status endpoint on " + opts.status)
		defer l.Close()
		go serveStatus(ctx, l, func() Status { return d.status(opts.configFile) }, log)
	}
	if opts.metrics != "" {
		if err := startMetrics(ctx, opts, d, node, obs, log); err != nil {
			log.Error(err.Error())
			return 1
		}
	}
	du := newDumper(d, dumpDir())

	nodeCtx, stopNode := context.WithCancel(context.Background())
	defer stopNode()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- node.Run(nodeCtx) }()
	startWatchdog(ctx, sd, node, log)

	var startup <-chan time.Time
	if delay, why := startupDelay(p.conf.Global, uptime()); delay > 0 {
		log.Info("Delaying startup for " + delay.String() + " (" + why + ")")
		t := time.NewTimer(delay)
		defer t.Stop()
		startup = t.C
	} else {
		d.startRouters()
		go readyWhenKnown(ctx, sd, d, readyLimit)
	}

	status := 0
loop:
	for {
		select {
		case <-startup:
			log.Info("Startup delay over: starting the instances")
			d.startRouters()
			go readyWhenKnown(ctx, sd, d, readyLimit)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				sd.send("RELOADING=1", "MONOTONIC_USEC="+monotonicUsec())
				reload(ctx, d, opts, log)
				sd.send("READY=1", "STATUS="+stateSummary(d))
				continue
			}
			if du.onSignal(sig, log) {
				continue
			}
			log.Info("Stopping (" + sig.String() + ")")
			break loop
		case err := <-nodeDone:
			log.Error("VRRP node stopped unexpectedly", zap.Error(err))
			nodeDone <- err
			status = 1
			break loop
		}
	}
	// The heap profile is of the running daemon, before shutdown frees
	// its routers.
	stopProfiles()
	sd.send("STOPPING=1")
	stopNode()
	if err := <-nodeDone; err != nil && !errors.Is(err, vrrp.ErrNodeStopped) {
		log.Error("shutdown", zap.Error(err))
		status = 1
	}
	sctx, scancel := context.WithTimeout(context.Background(), opts.notifyTTL+time.Second)
	d.stop(sctx)
	scancel()
	cancel()
	log.Info("Stopped")
	return status
}

// openStatus opens the status endpoint's listener (nil with --status
// none).
func openStatus(opts *options) (net.Listener, error) {
	if opts.status == "" || opts.status == "none" {
		return nil, nil
	}
	gid, err := statusGroup(opts.statusGroup)
	if err != nil {
		return nil, err
	}
	return listenStatus(opts.status, statusListen{gid: gid, remote: opts.statusRemote})
}

// dumpConfig is -d: the configuration with every default explicit, one
// log line per line, passwords and keys redacted.
func dumpConfig(log *zap.Logger, conf *kaconf.Config) {
	for _, line := range strings.Split(strings.TrimRight(conf.Format(), "\n"), "\n") {
		log.Info(line)
	}
}

// reload is SIGHUP: a configuration with errors leaves the running one
// alone.
func reload(ctx context.Context, d *daemon, opts *options, log *zap.Logger) {
	log.Info("Reloading")
	log.Info("Configuration file " + opts.configFile)
	p, warnings, err := loadConfig(opts)
	for _, w := range warnings {
		log.Warn(w)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error(line)
		}
		log.Error("Reload failed: the new configuration has errors; keeping the running one")
		return
	}
	d.reload(ctx, p)
	log.Info("Reload finished")
}

func itoa(i int) string { return strconv.Itoa(i) }
