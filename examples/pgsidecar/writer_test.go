package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// writer is the client: it inserts numbered rows, one per transaction,
// and records which commits were acknowledged. A commit that returns an
// error, or whose connection broke, or whose wait for synchronous
// replication was cancelled (Postgres then commits locally and says so in
// a warning), does not count.
type writer struct {
	tb      func() testing.TB // where failures go
	name    string
	connect func(ctx context.Context) (*pgx.Conn, error)

	mu     sync.Mutex
	acks   []ack
	next   int64
	errs   int
	last   string   // the last error
	recent []string // the last errors, with their times
	// What the loop does now and since when, for a wait that fails.
	doing      string
	doingSince time.Time

	stopc chan struct{}
	done  chan struct{}

	diagnose func() string // what to log when a wait fails
}

type ack struct {
	n      int64
	at     time.Time
	connAt time.Time // when the connection that carried it began to connect
}

// writeTimeout bounds one insert: the connection is dropped at the
// deadline (no cancel request, which would end a wait for synchronous
// replication with a local commit).
const writeTimeout = time.Second

// newWriter returns a writer to the VIP from client host h, started.
func newWriter(t testing.TB, tb func() testing.TB, h *netlab.Host, vip netip.Addr) *writer {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres connect_timeout=1", vip, pgPort))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DialFunc = dialIn(h)
	w := &writer{tb: tb, name: "client via the VIP", next: 1}
	w.connect = connector(cfg)
	w.start()
	t.Cleanup(w.stop)
	return w
}

// newLocalWriter writes to node n directly (its unix socket), numbering
// from first.
func newLocalWriter(t testing.TB, n *pgNode, first int64) *writer {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres connect_timeout=1", n.dir, pgPort))
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{tb: func() testing.TB { return t }, name: "client on " + n.name, next: first}
	w.connect = connector(cfg)
	w.start()
	t.Cleanup(w.stop)
	return w
}

type cancelledFlag struct{ v atomic.Bool }

func connector(cfg *pgx.ConnConfig) func(ctx context.Context) (*pgx.Conn, error) {
	return func(ctx context.Context) (*pgx.Conn, error) {
		c := cfg.Copy()
		flag := &cancelledFlag{}
		c.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			if strings.Contains(n.Message, "synchronous replication") {
				flag.v.Store(true)
			}
		}
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			return nil, err
		}
		noticeFlags.Store(conn, flag)
		return conn, nil
	}
}

// noticeFlags maps a connection to its "sync wait cancelled" flag.
var noticeFlags sync.Map

func (w *writer) start() {
	w.stopc, w.done = make(chan struct{}), make(chan struct{})
	go w.loop(w.stopc, w.done)
}

// stop ends the writer once its insert in flight has finished.
func (w *writer) stop() {
	select {
	case <-w.stopc:
	default:
		close(w.stopc)
	}
	<-w.done
}

func (w *writer) loop(stop, done chan struct{}) {
	defer close(done)
	pace := time.NewTicker(3 * time.Millisecond)
	defer pace.Stop()
	var conn *pgx.Conn
	var connAt time.Time
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	for {
		select {
		case <-stop:
			return
		case <-pace.C:
		}
		if conn == nil {
			w.now("connecting")
			connAt = time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			c, err := w.connect(ctx)
			cancel()
			if err != nil {
				w.failed(err)
				continue
			}
			conn = c
		}
		w.mu.Lock()
		n := w.next
		w.next++
		w.mu.Unlock()
		w.now("inserting")
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		_, err := conn.Exec(ctx, "INSERT INTO acked (n) VALUES ($1)", n)
		cancel()
		at := time.Now()
		f, _ := noticeFlags.Load(conn)
		if err == nil && f.(*cancelledFlag).v.Load() {
			err = fmt.Errorf("row %d: committed locally only (synchronous replication wait cancelled)", n)
		}
		if err != nil {
			w.failed(err)
			noticeFlags.Delete(conn)
			w.now("closing")
			closeConn(conn)
			conn = nil
			continue
		}
		w.mu.Lock()
		w.acks = append(w.acks, ack{n: n, at: at, connAt: connAt})
		w.mu.Unlock()
	}
}

func (w *writer) now(doing string) {
	w.mu.Lock()
	w.doing, w.doingSince = doing, time.Now()
	w.mu.Unlock()
}

func (w *writer) failed(err error) {
	w.mu.Lock()
	w.errs++
	w.last = strings.Join(strings.Fields(err.Error()), " ")
	w.recent = append(w.recent, time.Now().Format("15:04:05.000")+" "+w.last[:min(len(w.last), 160)])
	if len(w.recent) > 8 {
		w.recent = w.recent[1:]
	}
	w.mu.Unlock()
}

// ackedNumbers lists every acknowledged row.
func (w *writer) ackedNumbers() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]int64, len(w.acks))
	for i, a := range w.acks {
		out[i] = a.n
	}
	return out
}

// waitAcks waits for n acknowledgements on connections begun after
// since (so, after a crash, from the new primary), and returns the first.
func (w *writer) waitAcks(timeout time.Duration, since time.Time, n int) ack {
	w.tb().Helper()
	return w.wait(timeout, since, n, func(a ack) bool { return a.connAt.After(since) })
}

// waitAcksAfter waits for n acknowledgements after since, on any
// connection.
func (w *writer) waitAcksAfter(timeout time.Duration, since time.Time, n int) ack {
	w.tb().Helper()
	return w.wait(timeout, since, n, func(a ack) bool { return a.at.After(since) })
}

func (w *writer) wait(timeout time.Duration, since time.Time, n int, counts func(ack) bool) ack {
	w.tb().Helper()
	first, err := waitFor(timeout, func() (ack, bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		var got []ack
		for _, a := range w.acks {
			if counts(a) {
				got = append(got, a)
			}
		}
		if len(got) >= n {
			return got[0], true, nil
		}
		return ack{}, false, nil
	})
	if err != nil {
		var diag string
		if w.diagnose != nil {
			diag = w.diagnose()
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		after, lastConn := 0, time.Time{}
		for _, a := range w.acks {
			if a.at.After(since) {
				after++
				lastConn = a.connAt
			}
		}
		w.tb().Fatalf("%s: fewer than %d writes acknowledged within %v after %s (%d errors, last: %s; %s for %v; %d acknowledged after it on any connection, the last on one begun at %s)\nrecent errors:\n%s%s",
			w.name, n, timeout, since.Format("15:04:05.000"), w.errs, w.last, w.doing,
			time.Since(w.doingSince).Round(time.Millisecond), after, lastConn.Format("15:04:05.000"),
			strings.Join(w.recent, "\n"), diag)
	}
	return first
}

// ackedSince counts acknowledgements at or after t.
func (w *writer) ackedSince(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := 0
	for _, a := range w.acks {
		if !a.at.Before(t) {
			c++
		}
	}
	return c
}
