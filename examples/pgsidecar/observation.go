package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Roles of a Postgres server as the status endpoint names them.
const (
	rolePrimary = "primary"
	roleStandby = "standby"
	roleUnknown = "unknown"
)

// observation is what one check of the local Postgres found.
type observation struct {
	Time     time.Time
	Role     string // rolePrimary, roleStandby, roleUnknown
	Err      string // why the role is unknown
	Timeline uint32

	// WAL positions: on a primary ReceiveLSN is its current write
	// position and ReplayLSN equals it.
	ReceiveLSN lsn
	ReplayLSN  lsn

	ReplayPaused bool
	// WALReceiver is pg_stat_wal_receiver.status ("streaming",
	// "waiting", ...), empty when no WAL receiver runs.
	WALReceiver string
	// Upstream is the host and port the WAL receiver streams from.
	UpstreamHost string
	UpstreamPort int
	// SyncStandby: this server's name is listed in
	// synchronous_standby_names (a standby that can acknowledge commits).
	SyncStandby bool
	SyncNames   string
	// Streaming is, on a primary, how many standbys stream from it.
	Streaming int
}

// replayLag is how much received WAL is not replayed yet.
func (o *observation) replayLag() int64 {
	if o.ReceiveLSN > o.ReplayLSN {
		return int64(o.ReceiveLSN - o.ReplayLSN)
	}
	return 0
}

// lsn is a WAL position (pg_lsn).
type lsn uint64

func (l lsn) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint32(l)) }

// parseLSN parses Postgres's text form, "16/B374D848".
func parseLSN(s string) (lsn, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("malformed LSN %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("malformed LSN %q", s)
	}
	return lsn(h<<32 | l), nil
}

func (l lsn) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

func (l *lsn) UnmarshalText(b []byte) error {
	v, err := parseLSN(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// syncStandbyNames returns the names listed in a synchronous_standby_names
// value: "ANY 1 (a, b)", "FIRST 2 (a, "B", c)", "2 (a, b)" or "a, b".
func syncStandbyNames(s string) []string {
	s = strings.TrimSpace(s)
	if open := strings.IndexByte(s, '('); open >= 0 && strings.HasSuffix(s, ")") {
		s = s[open+1 : len(s)-1]
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
			f = strings.ReplaceAll(f[1:len(f)-1], `""`, `"`)
		}
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// isSyncStandby reports whether a standby named app can acknowledge
// commits under synchronous_standby_names = names (Postgres compares the
// names without regard to case; "*" matches any standby).
func isSyncStandby(names, app string) bool {
	for _, n := range syncStandbyNames(names) {
		if n == "*" || strings.EqualFold(n, app) {
			return true
		}
	}
	return false
}
