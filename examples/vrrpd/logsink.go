package main

import (
	"fmt"
	"io"
	"log/syslog"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logConfig is where and how vrrpd logs: the console always (stderr, in
// keepalived's format or as JSON lines for log shippers), and syslog with
// -S FACILITY as keepalived does (journald reads syslog's /dev/log).
type logConfig struct {
	detail   bool // -D: Debug too
	json     bool // --log-format=json
	syslog   bool // -S given and not -G
	facility syslog.Priority
	// syslogNet and syslogAddr override the local syslog socket (tests).
	syslogNet, syslogAddr string
}

// syslogTag is the program name in syslog lines.
const syslogTag = "vrrpd"

// parseFacility reads keepalived's -S value: 0..7 (LOG_LOCAL0..7),
// local0..local7, user or daemon.
func parseFacility(v string) (syslog.Priority, error) {
	s := strings.ToLower(v)
	if n, ok := strings.CutPrefix(s, "local"); ok {
		s = n
	}
	if len(s) == 1 && s[0] >= '0' && s[0] <= '7' {
		return syslog.LOG_LOCAL0 + syslog.Priority(s[0]-'0')<<3, nil
	}
	switch s {
	case "user":
		return syslog.LOG_USER, nil
	case "daemon":
		return syslog.LOG_DAEMON, nil
	}
	return 0, fmt.Errorf("invalid log facility %q: want 0-7, local0-local7, user or daemon", v)
}

// buildLogger returns the daemon's logger and what to close at exit.
func buildLogger(console io.Writer, c logConfig) (*zap.Logger, func(), error) {
	level := zapcore.InfoLevel
	if c.detail {
		level = zapcore.DebugLevel
	}
	var enc zapcore.Encoder
	if c.json {
		enc = zapcore.NewJSONEncoder(zapcore.EncoderConfig{
			TimeKey: "time", LevelKey: "level", MessageKey: "msg",
			EncodeTime: zapcore.RFC3339NanoTimeEncoder, EncodeLevel: zapcore.LowercaseLevelEncoder,
			EncodeDuration: zapcore.StringDurationEncoder, LineEnding: "\n",
		})
	} else {
		enc = keepalivedEncoder()
	}
	cores := []zapcore.Core{zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(console)), level)}
	closeFn := func() {}
	if c.syslog {
		w, err := syslog.Dial(c.syslogNet, c.syslogAddr, c.facility|syslog.LOG_INFO, syslogTag)
		if err != nil {
			return nil, nil, fmt.Errorf("syslog: %w", err)
		}
		cores = append(cores, &syslogCore{LevelEnabler: level, enc: messageEncoder(), w: w})
		closeFn = func() { w.Close() }
	}
	return zap.New(zapcore.NewTee(cores...)), closeFn, nil
}

// keepalivedEncoder writes what keepalived --log-console does: a ctime
// stamp, a colon and the message, then any structured fields.
func keepalivedEncoder() zapcore.Encoder {
	return zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
		TimeKey:    "time",
		MessageKey: "msg",
		EncodeTime: func(t time.Time, pe zapcore.PrimitiveArrayEncoder) {
			pe.AppendString(t.Format(keepalivedTime) + ":")
		},
		EncodeDuration:   zapcore.StringDurationEncoder,
		ConsoleSeparator: " ",
	})
}

// messageEncoder is the message and its fields: syslog adds the time,
// host, tag and pid.
func messageEncoder() zapcore.Encoder {
	return zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
		MessageKey: "msg", EncodeDuration: zapcore.StringDurationEncoder, ConsoleSeparator: " ",
	})
}

// syslogCore sends each entry to syslog at the severity of its level.
type syslogCore struct {
	zapcore.LevelEnabler
	enc    zapcore.Encoder
	w      *syslog.Writer
	fields []zapcore.Field
}

func (c *syslogCore) With(fs []zapcore.Field) zapcore.Core {
	return &syslogCore{LevelEnabler: c.LevelEnabler, enc: c.enc, w: c.w, fields: append(c.fields[:len(c.fields):len(c.fields)], fs...)}
}

func (c *syslogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *syslogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	buf, err := c.enc.EncodeEntry(e, append(c.fields[:len(c.fields):len(c.fields)], fs...))
	if err != nil {
		return err
	}
	msg := strings.TrimRight(buf.String(), "\n")
	buf.Free()
	switch {
	case e.Level >= zapcore.ErrorLevel:
		return c.w.Err(msg)
	case e.Level == zapcore.WarnLevel:
		return c.w.Warning(msg)
	case e.Level == zapcore.InfoLevel:
		return c.w.Info(msg)
	}
	return c.w.Debug(msg)
}

func (c *syslogCore) Sync() error { return nil }
