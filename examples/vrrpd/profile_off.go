//go:build !pprof

package main

import "go.uber.org/zap"

// startProfiles: without -tags pprof the profile flags do not exist, so
// there is nothing to start.
func startProfiles(opts *options, log *zap.Logger) func() {
	if opts.cpuProfile != "" || opts.memProfile != "" || opts.traceFile != "" {
		log.Warn("profiling needs vrrpd built with -tags pprof")
	}
	return func() {}
}
