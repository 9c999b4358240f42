package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// testEnv runs scripts as the test's own user, whether or not the
// machine has a keepalived_script user.
func testEnv() *scriptEnv {
	e := newScriptEnv(kaconf.Global{})
	e.users = fakeUsers{fallback: osUsers{}, missing: defaultScriptUser}
	return e
}

// fakeUsers adds users (name → ids) and groups to the machine's, and
// hides one.
type fakeUsers struct {
	users    map[string]ids
	groups   map[string]uint32
	missing  string
	fallback userDB
}

func (f fakeUsers) user(name string) (ids, error) {
	if id, ok := f.users[name]; ok && name != f.missing {
		return id, nil
	}
	if name == f.missing || f.fallback == nil {
		return ids{}, errors.New("unknown user " + name)
	}
	return f.fallback.user(name)
}

func (f fakeUsers) group(name string) (uint32, error) {
	if g, ok := f.groups[name]; ok {
		return g, nil
	}
	if f.fallback == nil {
		return 0, errors.New("unknown group " + name)
	}
	return f.fallback.group(name)
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNotifyCommandsAreKeepalivedsArguments(t *testing.T) {
	dir := t.TempDir()
	sh := writeScript(t, dir, "n.sh", "true")
	n := kaconf.Notify{
		Master: &kaconf.Command{Args: []string{sh, "master", "x y"}},
		Any:    &kaconf.Command{Args: []string{sh, "--eni", "e-1"}},
	}
	s := newNotifyScripts("INSTANCE", "VI_1", n, testEnv(), func(k, m string) { t.Errorf("warning %s: %s", k, m) })
	got := func(cmds []*health.Exec) []string {
		var out []string
		for _, c := range cmds {
			out = append(out, strings.Join(append([]string{c.Path}, c.Args...), "|"))
		}
		return out
	}
	// keepalived: the specific script first, then notify with TYPE NAME
	// STATE PRIORITY after its own arguments.
	want := []string{sh + "|master|x y", sh + "|--eni|e-1|INSTANCE|VI_1|MASTER|150"}
	if g := got(s.commands("MASTER", 150)); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("MASTER: %q, want %q", g, want)
	}
	want = []string{sh + "|--eni|e-1|INSTANCE|VI_1|BACKUP|100"}
	if g := got(s.commands("BACKUP", 100)); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("BACKUP: %q, want %q", g, want)
	}
	// The configured command is not modified by a call.
	if g := got(s.commands("FAULT", 1)); !strings.HasSuffix(g[0], "|FAULT|1") || strings.Count(g[0], "INSTANCE") != 1 {
		t.Errorf("FAULT: %q", g)
	}
}

func TestNotifyScriptThatCannotRunIsDisabledWithAWarning(t *testing.T) {
	var warns []string
	s := newNotifyScripts("GROUP", "G", kaconf.Notify{Backup: &kaconf.Command{Args: []string{"/nonexistent/script"}}}, testEnv(),
		func(k, m string) { warns = append(warns, k+": "+m) })
	if !s.empty() {
		t.Error("a missing script is kept")
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "notify_backup: Disabling notify script /nonexistent/script") {
		t.Errorf("warnings %q", warns)
	}
}

// TestNotifyQueueRunsInOrderOneAtATime: the jobs of one queue never
// overlap and run in the order of the transitions, even when pushed faster
// than they run.
func TestNotifyQueueRunsInOrderOneAtATime(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "log")
	// mkdir is atomic: a second run while one holds the lock says so.
	sh := writeScript(t, dir, "n.sh", `mkdir "`+dir+`/lock" 2>/dev/null || echo OVERLAP >> "`+logf+`"
echo "$1" >> "`+logf+`"
sleep 0.01
rmdir "`+dir+`/lock"`)
	q := newNotifyQueue(zap.NewNop(), 5*time.Second)
	const n = 20
	for i := range n {
		q.push(notifyJob{what: "job", cmds: []*health.Exec{{Path: sh, Args: []string{strconv.Itoa(i)}}}})
	}
	if err := q.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != n {
		t.Fatalf("%d runs, want %d: %q", len(lines), n, lines)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i) {
			t.Fatalf("run %d was job %s: %q", i, l, lines)
		}
	}
}

// TestNotifyScriptIsKilledAfterTheTimeout: a hung script is killed, the
// failure logged, and the next job runs.
func TestNotifyScriptIsKilledAfterTheTimeout(t *testing.T) {
	dir := t.TempDir()
	hang := writeScript(t, dir, "hang.sh", "exec sleep 60")
	logf := filepath.Join(dir, "ran")
	next := writeScript(t, dir, "next.sh", "touch "+logf)
	core, logs := observer.New(zap.DebugLevel)
	q := newNotifyQueue(zap.New(core), 100*time.Millisecond)
	start := time.Now()
	q.push(notifyJob{what: "(VI_1) MASTER", cmds: []*health.Exec{{Path: hang}}})
	q.push(notifyJob{what: "(VI_1) BACKUP", cmds: []*health.Exec{{Path: next}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.close(ctx); err != nil {
		t.Fatalf("queue did not drain: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("draining took %v: the hung script was not killed", took)
	}
	if _, err := os.Stat(logf); err != nil {
		t.Errorf("the job after the hung one did not run: %v", err)
	}
	failed := logs.FilterMessage("(VI_1) MASTER: notify script failed").All()
	if len(failed) != 1 || !strings.Contains(failed[0].ContextMap()["reason"].(string), "killed after 100ms") {
		t.Errorf("failure logged as %+v", failed)
	}
}

func TestNotifyQueueDropsTheOldestWhenFull(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	logf := filepath.Join(dir, "log")
	// The first job waits for the gate file, so that the others queue up.
	wait := writeScript(t, dir, "wait.sh", `while [ ! -e "`+gate+`" ]; do sleep 0.01; done`)
	rec := writeScript(t, dir, "rec.sh", `echo "$1" >> "`+logf+`"`)
	core, logs := observer.New(zap.DebugLevel)
	q := newNotifyQueue(zap.New(core), 30*time.Second)
	q.push(notifyJob{what: "first", cmds: []*health.Exec{{Path: wait}}})
	// Wait until the queue took the first job.
	if err := poll(func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.jobs) == 0 }); err != nil {
		t.Fatal(err)
	}
	for i := range maxQueuedNotifies + 3 {
		q.push(notifyJob{what: "job", cmds: []*health.Exec{{Path: rec, Args: []string{strconv.Itoa(i)}}}})
	}
	touch(t, gate, true)
	if err := q.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(logf)
	lines := strings.Fields(string(b))
	if len(lines) != maxQueuedNotifies || lines[0] != "3" || lines[len(lines)-1] != strconv.Itoa(maxQueuedNotifies+2) {
		t.Errorf("ran %d jobs, %s..%s; want the newest %d", len(lines), lines[0], lines[len(lines)-1], maxQueuedNotifies)
	}
	if logs.FilterMessageSnippet("skipped the oldest 3 transitions").Len() != 1 {
		t.Errorf("the loss was not logged: %v", logs.All())
	}
}

func TestGroupStateIsKeepalivedsFromTheMembers(t *testing.T) {
	for _, c := range []struct {
		members []vrrp.State
		want    string
	}{
		{nil, ""},
		{[]vrrp.State{vrrp.Master, vrrp.Master}, "MASTER"},
		{[]vrrp.State{vrrp.Master, vrrp.Backup}, "BACKUP"},
		{[]vrrp.State{vrrp.Backup, vrrp.Backup}, "BACKUP"},
		{[]vrrp.State{vrrp.Master, vrrp.Fault}, "FAULT"},
		{[]vrrp.State{vrrp.Backup, vrrp.Fault}, "FAULT"},
		{[]vrrp.State{vrrp.Initialize, vrrp.Initialize}, ""},
		{[]vrrp.State{vrrp.Master, vrrp.Initialize}, ""},
	} {
		if got := groupState(c.members); got != c.want {
			t.Errorf("groupState(%v) = %q, want %q", c.members, got, c.want)
		}
	}
}
