//go:build !linux

package main

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// The lab runs routers as processes in Linux network namespaces; elsewhere
// there are none, and the story runs in memory.

func nodeMode() bool { return false }

func runNodeFromEnv(context.Context) {}

type labCluster struct{ cluster }

func newLabCluster(time.Duration) (*labCluster, error) {
	return nil, fmt.Errorf("%w: network namespaces need Linux, this is %s", errNoLab, runtime.GOOS)
}
