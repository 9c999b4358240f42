package main

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// systemd's notify protocol (sd_notify(3)): a service of Type=notify
// sends datagrams of NAME=VALUE lines to the unix socket named by
// $NOTIFY_SOCKET: READY=1 once it serves, RELOADING=1 and READY=1 around a
// reload, STOPPING=1 when it begins to stop, WATCHDOG=1 every half
// $WATCHDOG_USEC (or systemd kills and restarts it), STATUS=... for
// systemctl status. Without $NOTIFY_SOCKET every send is a no-op.

// notifier sends to systemd. The zero value (nil conn) sends nothing.
type notifier struct {
	conn *net.UnixConn
	log  *zap.Logger
}

// newNotifier connects to $NOTIFY_SOCKET and unsets it, so that notify
// scripts and tracking scripts do not talk to systemd in vrrpd's name.
func newNotifier(log *zap.Logger) (*notifier, error) {
	n := &notifier{log: log}
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return n, nil
	}
	os.Unsetenv("NOTIFY_SOCKET")
	// "@name" is an abstract socket; net spells it the same way.
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "@") {
		return n, errors.New("NOTIFY_SOCKET " + strconv.Quote(path) + ": want an absolute path or an @abstract name")
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return n, err
	}
	n.conn = c
	return n, nil
}

// send sends one notification (lines of NAME=VALUE).
func (n *notifier) send(lines ...string) {
	if n == nil || n.conn == nil {
		return
	}
	if _, err := n.conn.Write([]byte(strings.Join(lines, "\n"))); err != nil {
		n.log.Warn("systemd notify: " + err.Error())
	}
}

func (n *notifier) close() {
	if n != nil && n.conn != nil {
		n.conn.Close()
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants
// with RELOADING=1 (MONOTONIC_USEC) to tell one reload from the next.
func monotonicUsec() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return "0"
	}
	return strconv.FormatInt(ts.Sec*1e6+ts.Nsec/1e3, 10)
}

// watchdogInterval is how often to send WATCHDOG=1: half of
// $WATCHDOG_USEC, when it is set for this process ($WATCHDOG_PID, if
// set, names it). Zero: no watchdog.
func watchdogInterval() time.Duration {
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// watchdog pets (sends WATCHDOG=1) every interval for as long as the
// protocol loop answers ping within the interval; a loop that does not
// answer goes unpetted, and systemd restarts vrrpd when WATCHDOG_USEC runs
// out.
func watchdog(ctx context.Context, interval time.Duration, ping func(context.Context) error, pet func(), log *zap.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	stuck := false
	for {
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := ping(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			if stuck {
				log.Info("The VRRP loop answers again")
				stuck = false
			}
			pet()
		case !stuck:
			log.Error("The VRRP loop does not answer: not petting systemd's watchdog", zap.Error(err))
			stuck = true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readyWhenKnown sends READY=1 once every router has a state other than
// INIT (or after limit, with what is known), and says in STATUS= how many
// are in which state.
func readyWhenKnown(ctx context.Context, n *notifier, d *daemon, limit time.Duration) {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ins := d.instanceList()
		known := 0
		for _, in := range ins {
			if in.r.State().String() != "INIT" {
				known++
			}
		}
		if known == len(ins) || time.Now().After(deadline) {
			n.send("READY=1", "STATUS="+stateSummary(d))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// stateSummary is "3 instances: 1 MASTER, 2 BACKUP".
func stateSummary(d *daemon) string {
	ins := d.instanceList()
	counts := make(map[string]int)
	for _, in := range ins {
		counts[in.r.State().String()]++
	}
	var parts []string
	for _, s := range []string{"MASTER", "BACKUP", "FAULT", "INIT"} {
		if counts[s] > 0 {
			parts = append(parts, strconv.Itoa(counts[s])+" "+s)
		}
	}
	s := strconv.Itoa(len(ins)) + " instances"
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}
