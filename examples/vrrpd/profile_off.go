//go:build !pprof

package main

import "go.uber.org/zap"

// startProfiles: vrrpd built without -tags pprof takes no profile flags.
func startProfiles(*options, *zap.Logger) func() { return nil }
