package main

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/health"
)

// defaultNotifyTimeout bounds one notify script run (--notify-timeout).
const defaultNotifyTimeout = 30 * time.Second

// maxQueuedNotifies bounds a queue: a script slower than the transitions
// it reports loses the oldest ones (logged), never the latest.
const maxQueuedNotifies = 256

// notifyScripts are an instance's or sync group's notify scripts, ready to
// run. keepalived runs the specific script (notify_master, ...) first,
// then the generic notify with TYPE NAME STATE PRIORITY appended.
type notifyScripts struct {
	typ     string // "INSTANCE" or "GROUP"
	name    string
	byState map[string]*health.Exec // "MASTER", "BACKUP", "FAULT", "STOP", "DELETED"
	any     *health.Exec
	// rxLower is notify_master_rx_lower_pri.
	rxLower *health.Exec
}

// newNotifyScripts prepares n's scripts; a script that cannot run is left
// out and reported through warn, as keepalived disables it.
func newNotifyScripts(typ, name string, n kaconf.Notify, env *scriptEnv, warn func(keyword, msg string)) *notifyScripts {
	s := &notifyScripts{typ: typ, name: name, byState: make(map[string]*health.Exec)}
	prep := func(keyword string, c *kaconf.Command) *health.Exec {
		if c == nil {
			return nil
		}
		ex, warns, err := env.exec(*c)
		for _, w := range warns {
			warn(keyword, w)
		}
		if err != nil {
			warn(keyword, "Disabling notify script "+c.String()+": "+err.Error())
			return nil
		}
		return ex
	}
	for state, c := range map[string]*kaconf.Command{"MASTER": n.Master, "BACKUP": n.Backup, "FAULT": n.Fault,
		"STOP": n.Stop, "DELETED": n.DeletedScript} {
		if ex := prep("notify_"+strings.ToLower(state), c); ex != nil {
			s.byState[state] = ex
		}
	}
	s.any = prep("notify", n.Any)
	s.rxLower = prep("notify_master_rx_lower_pri", n.MasterRxLowerPri)
	return s
}

// empty reports whether there is nothing to run.
func (s *notifyScripts) empty() bool { return len(s.byState) == 0 && s.any == nil && s.rxLower == nil }

// rxLowerPri is what runs when a master hears a lower priority:
// notify_master_rx_lower_pri, with its configured arguments only.
func (s *notifyScripts) rxLowerPri(priority int) []*health.Exec {
	if s.rxLower == nil {
		return nil
	}
	c := *s.rxLower
	c.Env = notifyEnv(s.typ, s.name, "MASTER_RX_LOWER_PRI", priority)
	return []*health.Exec{&c}
}

// commands returns what to run, in order, for a transition to state with
// priority (0 for groups), each with the VRRP variables in its
// environment.
func (s *notifyScripts) commands(state string, priority int) []*health.Exec {
	var out []*health.Exec
	env := notifyEnv(s.typ, s.name, state, priority)
	if ex := s.byState[state]; ex != nil {
		c := *ex
		c.Env = env
		out = append(out, &c)
	}
	if s.any != nil {
		ex := *s.any
		ex.Args = append(append([]string(nil), s.any.Args...), s.typ, s.name, state, itoa(priority))
		ex.Env = env
		out = append(out, &ex)
	}
	return out
}

// notifyEnv is a notify script's whole environment: scriptPath and the
// transition, as the four arguments of keepalived's notify give it
// (which notify_master and the others do not get): VRRP_TYPE (INSTANCE or
// GROUP), VRRP_NAME, VRRP_STATE, VRRP_PRIORITY.
func notifyEnv(typ, name, state string, priority int) []string {
	return append(scriptEnviron(), "VRRP_TYPE="+typ, "VRRP_NAME="+name, "VRRP_STATE="+state, "VRRP_PRIORITY="+itoa(priority))
}

// notifyJob is one transition's scripts.
type notifyJob struct {
	what string // "(VI_1) MASTER", for logs
	cmds []*health.Exec
}

// notifyQueue runs one instance's (or group's) notify scripts on a
// goroutine of its own: never on the protocol loop, one at a time, in the
// order of the transitions, each bounded by a timeout.
type notifyQueue struct {
	log     *zap.Logger
	timeout time.Duration

	mu      sync.Mutex
	jobs    []notifyJob
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	dropped int
}

func newNotifyQueue(log *zap.Logger, timeout time.Duration) *notifyQueue {
	q := &notifyQueue{log: log, timeout: timeout, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

// push queues a job; it never blocks.
func (q *notifyQueue) push(j notifyJob) {
	if len(j.cmds) == 0 {
		return
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if len(q.jobs) >= maxQueuedNotifies {
		q.jobs = q.jobs[1:]
		q.dropped++
	}
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *notifyQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return
			}
			<-q.wake
			continue
		}
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		dropped := q.dropped
		q.dropped = 0
		q.mu.Unlock()
		if dropped > 0 {
			q.log.Warn("notify scripts fell behind: skipped the oldest "+itoa(dropped)+" transitions", zap.String("next", j.what))
		}
		for _, ex := range j.cmds {
			q.runOne(j.what, ex)
		}
	}
}

func (q *notifyQueue) runOne(what string, ex *health.Exec) {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	line := strings.Join(append([]string{ex.Path}, ex.Args...), " ")
	start := time.Now()
	res := ex.Check(ctx)
	if res.Up {
		q.log.Debug(what+": notify script ran", zap.String("script", line), zap.Duration("took", time.Since(start)))
		return
	}
	reason := res.Reason
	if ctx.Err() == context.DeadlineExceeded {
		reason = "killed after " + q.timeout.String() + ": " + reason
	}
	fields := []zap.Field{zap.String("script", line), zap.String("reason", reason)}
	if out := strings.TrimSpace(res.Output); out != "" {
		fields = append(fields, zap.String("output", out))
	}
	q.log.Warn(what+": notify script failed", fields...)
}

// close stops taking jobs and waits until the queued ones ran, or ctx
// ends.
func (q *notifyQueue) close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
