package main

import (
	"context"
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/vrrp"
	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom/promtext"
)

// readyLimit bounds the wait for every instance's first state before
// systemd hears READY=1 anyway (within its default start timeout).
const readyLimit = 30 * time.Second

// startMetrics opens --metrics and serves the node's metrics there.
func startMetrics(ctx context.Context, opts *options, d *daemon, node *vrrp.Node, obs *promtext.Observer, log *zap.Logger) error {
	l, err := listenMetrics(opts.metrics, opts.metricsRemote)
	if err != nil {
		return err
	}
	mopts := &promtext.Options{Scripts: d.scriptMetrics, Observer: obs}
	n := promtext.NodeOf(node)
	log.Info("Metrics endpoint on " + opts.metrics + metricsPath)
	go serveMetrics(ctx, l, func() []byte { return metricsText(n, mopts) }, log)
	return nil
}

// startWatchdog pets systemd's watchdog, when the unit has one, for as
// long as the protocol loop answers.
func startWatchdog(ctx context.Context, sd *notifier, node *vrrp.Node, log *zap.Logger) {
	iv := watchdogInterval()
	if iv <= 0 {
		return
	}
	go watchdog(ctx, iv, node.Ping, func() { sd.send("WATCHDOG=1") }, log)
}

// onSignal writes the dump a signal asks for; false when sig asks for
// none.
func (du *dumper) onSignal(sig os.Signal, log *zap.Logger) bool {
	var name string
	var text []byte
	switch sig {
	case syscall.SIGUSR1:
		name, text = dataFile, du.data()
	case syscall.SIGUSR2:
		name, text = statsFile, du.stats(false)
	case sigStatsClear:
		name, text = statsFile, du.stats(true)
	case sigJSON:
		name, text = jsonFile, du.json()
	default:
		return false
	}
	path, err := writeDump(du.dir, name, text)
	if err != nil {
		log.Error("Cannot write " + name + ": " + err.Error())
		return true
	}
	log.Info("Printing VRRP " + map[string]string{dataFile: "data", statsFile: "stats", jsonFile: "as json"}[name] + " on signal to " + path)
	return true
}
