package main

import (
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// keepalivedTime is how keepalived --log-console stamps its lines (ctime):
// "Sun Nov 22 03:10:26 2026: (VI_1) Entering MASTER STATE".
const keepalivedTime = "Mon Jan _2 15:04:05 2006"

// newLogger logs to w the way keepalived --log-console does: a ctime stamp,
// a colon and the message (the library words its messages as keepalived
// does), then any structured fields. detail (-D) adds Debug: per-packet
// lines and every dropped packet.
func newLogger(w io.Writer, detail bool) *zap.Logger {
	enc := zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
		TimeKey:    "time",
		MessageKey: "msg",
		EncodeTime: func(t time.Time, pe zapcore.PrimitiveArrayEncoder) {
			pe.AppendString(t.Format(keepalivedTime) + ":")
		},
		EncodeDuration:   zapcore.StringDurationEncoder,
		ConsoleSeparator: " ",
	})
	level := zapcore.InfoLevel
	if detail {
		level = zapcore.DebugLevel
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level))
}
