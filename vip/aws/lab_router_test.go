package aws

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// envRouter carries a lab router process's spec (JSON) from the lab test
// to the router process (see TestMain).
const envRouter = "VRRPKIT_AWSLAB_ROUTER"

// labSpec is what one lab router runs: a virtual router whose backend is
// vip.Linux then the secondary-IP backend, reaching the fake EC2 and
// metadata service at the given URLs, with credentials and identity from
// the metadata service.
type labSpec struct {
	Config         vrrp.Config
	EC2, IMDS      string
	AcquireTimeout time.Duration
	CallTimeout    time.Duration
	Reassert       time.Duration
	RetryMin       time.Duration
	RetryMax       time.Duration
	// ConfirmMetadata confirms assignments in the metadata service.
	ConfirmMetadata bool
}

// labReport is one JSON line a lab router writes on stdout.
type labReport struct {
	Kind   string       `json:"kind"` // "ready", a vrrp.EventKind, "stats", "exit"
	Time   time.Time    `json:"time"`
	From   string       `json:"from,omitempty"`
	To     string       `json:"to,omitempty"`
	Detail string       `json:"detail,omitempty"`
	Err    string       `json:"err,omitempty"`
	Cloud  *cloud.Stats `json:"cloud,omitempty"`
}

func TestMain(m *testing.M) {
	if raw := os.Getenv(envRouter); raw != "" {
		os.Exit(labRouter(raw, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// labRouter builds the stack an embedding program would, reports
// "ready", and then obeys lines on stdin: "go" (run), "prio N"
// (SetPriority), "stats" (report the cloud backend's Stats). It runs
// until SIGTERM and reports its events as they happen.
func labRouter(raw string, stdin io.Reader, stdout, stderr io.Writer) int {
	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	emit := func(r labReport) {
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(r)
	}
	fail := func(err error) int {
		emit(labReport{Kind: "exit", Err: err.Error()})
		return 1
	}
	var s labSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return fail(err)
	}
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000000")
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(ec), zapcore.AddSync(stderr), zapcore.DebugLevel))
	defer log.Sync()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	linux, err := vip.NewLinux(vip.LinuxConfig{Logger: log.Named("vip")})
	if err != nil {
		return fail(err)
	}
	defer linux.Close()
	sec, err := NewSecondaryIP(ctx, SecondaryIPConfig{
		Client:              Client{Endpoint: s.EC2, MetadataEndpoint: s.IMDS},
		ConfirmWithMetadata: s.ConfirmMetadata,
		Options: cloud.Options{AcquireTimeout: s.AcquireTimeout, CallTimeout: s.CallTimeout, Reassert: s.Reassert,
			RetryMin: s.RetryMin, RetryMax: s.RetryMax, Logger: log.Named("aws")},
	})
	if err != nil {
		return fail(err)
	}
	defer sec.Close()
	network, err := vrrp.NewSocketNetwork()
	if err != nil {
		return fail(err)
	}
	defer network.Close()
	cfg := s.Config
	cfg.Backend = vip.Multi(linux, sec)
	r, err := vrrp.NewRouter(cfg, vrrp.NodeConfig{Network: network, Logger: log})
	if err != nil {
		return fail(err)
	}
	emit(labReport{Kind: "ready"})
	lines := bufio.NewScanner(stdin)
	if !lines.Scan() || lines.Text() != "go" {
		return fail(errors.New("no start line"))
	}
	go func() {
		for lines.Scan() {
			cmd, arg, _ := strings.Cut(lines.Text(), " ")
			switch cmd {
			case "prio":
				n, _ := strconv.Atoi(arg)
				if err := r.SetPriority(n); err != nil {
					emit(labReport{Kind: "error", Err: err.Error()})
				}
			case "stats":
				st := sec.Stats()
				emit(labReport{Kind: "stats", Cloud: &st})
			}
		}
	}()
	go func() {
		for e := range r.Events() {
			rep := labReport{Kind: e.Kind.String(), Time: e.Time, Detail: e.Detail}
			if e.Kind == vrrp.EventState {
				rep.From, rep.To = e.From.String(), e.To.String()
			}
			if e.Err != nil {
				rep.Err = e.Err.Error()
			}
			emit(rep)
		}
	}()
	err = r.Run(ctx)
	st := sec.Stats()
	emit(labReport{Kind: "stats", Cloud: &st})
	if err != nil {
		return fail(fmt.Errorf("run: %w", err))
	}
	emit(labReport{Kind: "exit"})
	return 0
}
