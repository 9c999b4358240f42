package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
)

// Reconnection backoff: the first retry comes at once, then the wait
// doubles up to maxBackoff, so a Postgres that is down (restarting, being
// rewound) costs a connection attempt every few seconds, not a busy loop.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
	connectTimeout = 5 * time.Second
)

// pgClient is one connection to the local Postgres, reopened with
// backoff when it breaks. Calls are serialised.
type pgClient struct {
	cfg *pgx.ConnConfig
	log *zap.Logger
	now func() time.Time

	mu      sync.Mutex
	conn    *pgx.Conn
	backoff time.Duration
	nextTry time.Time
	lastErr error
}

func newPgClient(dsn string, log *zap.Logger) (*pgClient, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("--dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "pgsidecar"
	// A query that outlives its context drops the connection (pgx's
	// default): pg_promote and ALTER SYSTEM are not cancelled half way by
	// a cancel request racing their completion.
	return &pgClient{cfg: cfg, log: log, now: time.Now}, nil
}

// errBackingOff says that the client waits before the next connection
// attempt.
var errBackingOff = errors.New("waiting to reconnect")

// with runs fn on the connection, connecting first if needed.
func (p *pgClient) with(ctx context.Context, fn func(*pgx.Conn) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		if now := p.now(); now.Before(p.nextTry) {
			return fmt.Errorf("%w in %v (last error: %v)", errBackingOff, p.nextTry.Sub(now).Round(time.Millisecond), p.lastErr)
		}
		conn, err := pgx.ConnectConfig(ctx, p.cfg)
		if err != nil {
			p.failed(err)
			return fmt.Errorf("connect: %w", err)
		}
		if p.lastErr != nil {
			p.log.Info("connected to Postgres again", zap.NamedError("after", p.lastErr))
		}
		p.conn, p.backoff, p.lastErr = conn, 0, nil
	}
	err := fn(p.conn)
	if err != nil && !isServerError(err) {
		// The connection is unusable (broken, or timed out mid-query).
		closeConn(p.conn)
		p.conn = nil
		p.failed(err)
	}
	return err
}

// closeConn closes a connection without waiting long for a server that
// may not read (pgx sends Terminate first).
func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
}

func (p *pgClient) failed(err error) {
	if p.lastErr == nil {
		p.log.Warn("lost the connection to Postgres", zap.Error(err))
	}
	p.lastErr = err
	p.nextTry = p.now().Add(p.backoff)
	p.backoff = min(max(2*p.backoff, minBackoff), maxBackoff)
}

func (p *pgClient) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		closeConn(p.conn)
		p.conn = nil
	}
}

// isServerError reports an error the server sent, after which the
// connection is still usable.
func isServerError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && !strings.HasPrefix(pe.Code, "57P") // 57P*: the server is shutting down
}

// observeQuery reads, in one round trip, everything the sidecar decides
// on. The CASEs keep functions that fail during recovery (or outside it)
// from being called.
const observeQuery = `SELECT
  pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery()
    THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), '0/0')::text
    ELSE pg_current_wal_lsn()::text END,
  CASE WHEN pg_is_in_recovery()
    THEN coalesce(pg_last_wal_replay_lsn(), '0/0')::text
    ELSE pg_current_wal_lsn()::text END,
  CASE WHEN pg_is_in_recovery()
    THEN pg_get_wal_replay_pause_state() <> 'not paused' ELSE false END,
  CASE WHEN pg_is_in_recovery()
    THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  coalesce((SELECT status FROM pg_stat_wal_receiver), ''),
  coalesce((SELECT sender_host FROM pg_stat_wal_receiver), ''),
  coalesce((SELECT sender_port FROM pg_stat_wal_receiver), 0),
  current_setting('synchronous_standby_names'),
  current_setting('cluster_name'),
  (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming')`

// observe checks the local Postgres once.
func (p *pgClient) observe(ctx context.Context) (observation, error) {
	o := observation{Time: p.now(), Role: roleUnknown}
	err := p.with(ctx, func(c *pgx.Conn) error {
		var inRecovery bool
		var receive, replay, cluster string
		var timeline int64
		var streaming int64
		if err := c.QueryRow(ctx, observeQuery).Scan(&inRecovery, &receive, &replay, &o.ReplayPaused, &timeline,
			&o.WALReceiver, &o.UpstreamHost, &o.UpstreamPort, &o.SyncNames, &cluster, &streaming); err != nil {
			return err
		}
		var err1, err2 error
		o.ReceiveLSN, err1 = parseLSN(receive)
		o.ReplayLSN, err2 = parseLSN(replay)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if timeline < 0 || timeline > 1<<32-1 {
			return fmt.Errorf("timeline %d out of range", timeline)
		}
		o.Timeline = uint32(timeline)
		o.Streaming = int(streaming)
		o.Role = rolePrimary
		if inRecovery {
			o.Role = roleStandby
			// The WAL receiver names itself after cluster_name.
			app := cluster
			if app == "" {
				app = "walreceiver"
			}
			o.SyncStandby = isSyncStandby(o.SyncNames, app)
		}
		return nil
	})
	if err != nil {
		o.Role, o.Err = roleUnknown, err.Error()
		return o, err
	}
	return o, nil
}

// promote ends recovery (pg_promote) and waits until the server accepts
// writes. pg_promote's own wait polls ten times a second; polling
// pg_is_in_recovery() here every promotePoll takes the VIP sooner.
func (p *pgClient) promote(ctx context.Context) error {
	const promotePoll = 10 * time.Millisecond
	return p.with(ctx, func(c *pgx.Conn) error {
		var ok bool
		if err := c.QueryRow(ctx, "SELECT pg_promote(false)").Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return errors.New("pg_promote refused")
		}
		tick := time.NewTicker(promotePoll)
		defer tick.Stop()
		for {
			var inRecovery bool
			if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
				return err
			}
			if !inRecovery {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("promotion not finished: %w", ctx.Err())
			case <-tick.C:
			}
		}
	})
}

// restartWALReceiver ends the WAL receiver; the startup process starts a
// new one after wal_retrieve_retry_interval.
func (p *pgClient) restartWALReceiver(ctx context.Context) error {
	return p.with(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_wal_receiver WHERE pid IS NOT NULL")
		return err
	})
}

// setSyncStandbyNames overrides synchronous_standby_names with ALTER
// SYSTEM (relax) or removes the override (restore), and reloads.
func (p *pgClient) setSyncStandbyNames(ctx context.Context, relax bool) error {
	stmt := "ALTER SYSTEM RESET synchronous_standby_names"
	if relax {
		stmt = "ALTER SYSTEM SET synchronous_standby_names = ''"
	}
	return p.with(ctx, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, stmt); err != nil {
			return err
		}
		_, err := c.Exec(ctx, "SELECT pg_reload_conf()")
		return err
	})
}

// syncRelaxed reports whether synchronous_standby_names is the empty
// override setSyncStandbyNames(relax) leaves in postgresql.auto.conf.
func (p *pgClient) syncRelaxed(ctx context.Context) (bool, error) {
	var relaxed bool
	err := p.with(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT setting = '' AND coalesce(sourcefile, '') LIKE '%postgresql.auto.conf'
			FROM pg_settings WHERE name = 'synchronous_standby_names'`).Scan(&relaxed)
	})
	return relaxed, err
}
