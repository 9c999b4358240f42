package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// demote turns a stale primary into a standby of the new primary: stop
// it, pg_rewind it onto the new primary's history, and start it with
// standby.signal. The stop is immediate: a fast one waits for the WAL
// senders to hand their last WAL to standbys, and a standby that went
// away holds it for wal_sender_timeout; whatever the stale primary has
// beyond the new primary's history is rewound anyway (pg_rewind runs
// crash recovery first). primary_conninfo must already name the write VIP (see
// README), so the standby follows whoever holds it. pg_rewind is retried
// with backoff while the new primary is not reachable yet.
func (s *sidecar) demote(ctx context.Context) error {
	o := s.opts
	pgctl := filepath.Join(o.pgbin, "pg_ctl")
	if err := s.pgCommand(ctx, pgctl, "stop", "-D", o.pgdata, "-m", "immediate", "-w", "-t", "60"); err != nil && s.postmasterRunning() {
		return fmt.Errorf("stop: %w", err)
	}
	s.decide("demote", "stopped; rewinding from "+redactConn(o.rewindSource))
	backoff := minBackoff
	for {
		err := checkpointSource(ctx, o.rewindSource)
		if err == nil {
			err = s.pgCommand(ctx, filepath.Join(o.pgbin, "pg_rewind"), "--target-pgdata="+o.pgdata,
				"--source-server="+o.rewindSource)
		}
		if err == nil {
			break
		}
		s.decide("demote", "pg_rewind failed, retrying: "+err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
	if err := os.WriteFile(filepath.Join(o.pgdata, "standby.signal"), nil, 0o600); err != nil {
		return err
	}
	if err := s.pgCommand(ctx, pgctl, "start", "-D", o.pgdata, "-w", "-t", "120", "-l", o.pglog); err != nil {
		return fmt.Errorf("start as a standby: %w", err)
	}
	s.decide("demote", "started as a standby")
	return nil
}

// checkpointSource runs CHECKPOINT on pg_rewind's source. pg_rewind reads
// the source's timeline from its control file, which a freshly promoted
// server updates only at its first checkpoint: without one, pg_rewind
// finds "the same timeline" and rewinds nothing, and the old primary
// then cannot follow the new one.
func checkpointSource(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to the rewind source: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("CHECKPOINT on the rewind source: %w", err)
	}
	return nil
}

// postmasterRunning reports whether the data directory has a postmaster
// (its pid file).
func (s *sidecar) postmasterRunning() bool {
	_, err := os.Stat(filepath.Join(s.opts.pgdata, "postmaster.pid"))
	return err == nil
}

// pgCommand runs one of Postgres's programs, its output going to the log.
func (s *sidecar) pgCommand(ctx context.Context, path string, args ...string) error {
	cmd := exec.CommandContext(ctx, path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	if len(text) > 2000 {
		text = text[len(text)-2000:]
	}
	s.log.Info(filepath.Base(path)+" "+strings.Join(redactArgs(args), " "), zapOutput(text, err)...)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(path), err, lastLine(text))
	}
	return nil
}

// redactArgs hides passwords in connection string arguments.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = redactConn(a)
	}
	return out
}

// Passwords in libpq connection strings: keyword/value ("password=x",
// "password = 'x y'") and URL ("postgres://user:x@host").
var (
	passwordKV  = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	passwordURL = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)
)

// redactConn hides the password of a connection string, for logs and the
// status endpoint.
func redactConn(s string) string {
	s = passwordKV.ReplaceAllString(s, "${1}…")
	return passwordURL.ReplaceAllString(s, "${1}…@")
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
