package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain is the whole program: it returns the exit status.
func runMain(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args)
	if err != nil {
		fmt.Fprintf(stderr, "pgsidecar: %v\nTry 'pgsidecar --help'.\n", err)
		return 2
	}
	if o.help {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	log := newLogger(stderr, o.debug)
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.Error("pgsidecar: " + err.Error())
		return 1
	}
	return 0
}

// newLogger logs lines like keepalived's: a time stamp, then the message
// (the library words state changes as keepalived does: "(pg_write)
// Entering MASTER STATE"), then any fields.
func newLogger(w io.Writer, debug bool) *zap.Logger {
	enc := zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
		TimeKey:          "time",
		MessageKey:       "msg",
		LevelKey:         "level",
		NameKey:          "logger",
		EncodeLevel:      zapcore.CapitalLevelEncoder,
		EncodeTime:       zapcore.TimeEncoderOfLayout(time.RFC3339Nano),
		EncodeDuration:   zapcore.StringDurationEncoder,
		ConsoleSeparator: " ",
	})
	level := zapcore.InfoLevel
	if debug {
		level = zapcore.DebugLevel
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level))
}

// zapOutput are the fields of a program's run.
func zapOutput(out string, err error) []zap.Field {
	var f []zap.Field
	if out != "" {
		f = append(f, zap.String("output", strings.TrimSpace(out)))
	}
	if err != nil {
		f = append(f, zap.Error(err))
	}
	return f
}
