package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// demote turns a stale primary into a standby of the new primary: stop
// it (fast: open transactions are rolled back, nothing acknowledged is
// lost, since a commit not yet replicated was never acknowledged),
// pg_rewind it onto the new primary's history, and start it with
// standby.signal. primary_conninfo must already name the write VIP (see
// README), so the standby follows whoever holds it. pg_rewind is retried
// with backoff while the new primary is not reachable yet.
func (s *sidecar) demote(ctx context.Context) error {
	o := s.opts
	pgctl := filepath.Join(o.pgbin, "pg_ctl")
	if err := s.pgCommand(ctx, pgctl, "stop", "-D", o.pgdata, "-m", "fast", "-w", "-t", "60"); err != nil && s.postmasterRunning() {
		return fmt.Errorf("stop: %w", err)
	}
	s.decide("demote", "stopped; rewinding from "+o.rewindSource)
	backoff := minBackoff
	for {
		err := s.pgCommand(ctx, filepath.Join(o.pgbin, "pg_rewind"), "--target-pgdata="+o.pgdata,
			"--source-server="+o.rewindSource)
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

// redactArgs hides a password in a connection string argument.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, "password") {
			a = a[:strings.Index(a, "password")] + "password=…"
		}
		out[i] = a
	}
	return out
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
