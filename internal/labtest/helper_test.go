package labtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// envSpec carries a router process's spec (JSON) from the test to the
// router process (see TestMain).
const envSpec = "VRRPKIT_LABTEST_ROUTER"

// spec is what one router process runs: a virtual router with vip's Linux
// backend on the given announcement schedule. Config.Backend is not sent.
type spec struct {
	Config   vrrp.Config
	Schedule vip.Schedule
}

// report is one JSON line a router process writes on stdout.
type report struct {
	Kind     string      `json:"kind"` // "ready", a vrrp.EventKind, "stats", "exit"
	Time     time.Time   `json:"time"`
	From     string      `json:"from,omitempty"`
	To       string      `json:"to,omitempty"`
	Reason   string      `json:"reason,omitempty"`
	Detail   string      `json:"detail,omitempty"`
	Master   string      `json:"master,omitempty"`
	Priority int         `json:"priority,omitempty"`
	Err      string      `json:"err,omitempty"`
	Lost     uint64      `json:"lost,omitempty"`
	Stats    *vrrp.Stats `json:"stats,omitempty"`
}

// TestMain makes the test binary a router process when a lab test starts
// it again inside a lab host with a spec in the environment: it builds the
// stack an embedding program would — vrrp.NewSocketNetwork, vip.NewLinux,
// vrrp.NewRouter — reports "ready", waits for a line on stdin (so that the
// three routers of a lab start together), runs until SIGTERM and reports
// its events as they happen, its counters, and how it ended.
func TestMain(m *testing.M) {
	if raw := os.Getenv(envSpec); raw != "" {
		os.Exit(routerMain(raw, os.Stdin, os.Stdout, os.Stderr))
	}
	// The labs here assert takeover timing: they wait for other
	// packages' labs before the test timeout starts.
	os.Exit(netlab.Main(m))
}

func routerMain(raw string, stdin io.Reader, stdout, stderr io.Writer) int {
	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	emit := func(r report) {
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
	}
	fail := func(err error) int {
		emit(report{Kind: "exit", Err: err.Error()})
		return 1
	}

	var s spec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return fail(fmt.Errorf("spec: %w", err))
	}
	enc2 := zap.NewDevelopmentEncoderConfig()
	enc2.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000000")
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc2), zapcore.AddSync(stderr), zapcore.DebugLevel))
	defer log.Sync()

	backend, err := vip.NewLinux(vip.LinuxConfig{Logger: log.Named("vip"), Schedule: &s.Schedule})
	if err != nil {
		return fail(err)
	}
	network, err := vrrp.NewSocketNetwork()
	if err != nil {
		backend.Close()
		return fail(err)
	}
	defer network.Close()
	cfg := s.Config
	cfg.Backend = backend
	r, err := vrrp.NewRouter(cfg, vrrp.NodeConfig{Network: network, Logger: log})
	if err != nil {
		backend.Close()
		return fail(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	emit(report{Kind: "ready"})
	if _, err := bufio.NewReader(stdin).ReadString('\n'); err != nil {
		backend.Close()
		return fail(fmt.Errorf("waiting for the start line: %w", err))
	}

	drained := make(chan struct{})
	go func() {
		defer close(drained)
		send := func(e vrrp.Event) {
			rep := report{Kind: e.Kind.String(), Time: e.Time, Reason: e.Reason.String(), Detail: e.Detail,
				Priority: e.Priority, Lost: e.Lost}
			switch e.Kind {
			case vrrp.EventState:
				rep.From, rep.To = e.From.String(), e.To.String()
			case vrrp.EventMaster:
				rep.Reason = ""
				if e.Master.IsValid() {
					rep.Master = e.Master.String()
				}
			default:
				rep.Reason = ""
			}
			if e.Err != nil {
				rep.Err = e.Err.Error()
			}
			emit(rep)
		}
		// The stream ends when Run returns.
		for e := range r.Events() {
			send(e)
		}
	}()
	runErr := r.Run(ctx)
	<-drained
	st := r.Stats()
	emit(report{Kind: "stats", Stats: &st})
	err = errors.Join(runErr, backend.Close())
	if err != nil {
		return fail(err)
	}
	emit(report{Kind: "exit"})
	return 0
}
