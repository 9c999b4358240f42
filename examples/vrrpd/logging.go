package main

import (
	"io"

	"go.uber.org/zap"
)

// keepalivedTime is how keepalived --log-console stamps its lines (ctime):
// "Sun Nov 22 03:10:26 2026: (VI_1) Entering MASTER STATE".
const keepalivedTime = "Mon Jan _2 15:04:05 2006"

// newLogger logs to w the way keepalived --log-console does: a ctime stamp,
// a colon and the message, then any structured fields; detail adds Debug.
func newLogger(w io.Writer, detail bool) *zap.Logger {
	log, _, _ := buildLogger(w, logConfig{detail: detail})
	return log
}
