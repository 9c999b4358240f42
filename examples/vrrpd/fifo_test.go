package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// fifoReader reads what a FIFO holds, without waiting.
type fifoReader struct {
	f    *os.File
	part string
}

func openFIFOReader(t *testing.T, path string) *fifoReader {
	t.Helper()
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &fifoReader{f: os.NewFile(uintptr(fd), path)}
	t.Cleanup(func() { r.f.Close() })
	return r
}

// lines returns the whole lines written since the last call.
func (r *fifoReader) lines() []string {
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(int(r.f.Fd()), buf)
		if n <= 0 || err != nil {
			break
		}
		r.part += string(buf[:n])
	}
	i := strings.LastIndexByte(r.part, '\n')
	if i < 0 {
		return nil
	}
	out := strings.Split(r.part[:i], "\n")
	r.part = r.part[i+1:]
	return out
}

const fifoConf = `global_defs {
  vrrp_notify_fifo %FIFO%
  vrrp_version 3
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 200
  advert_int 0.1
  notify_priority_changes
  virtual_ipaddress {
    10.0.0.101/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  priority 200
  advert_int 0.1
  virtual_ipaddress {
    10.0.0.102/24
  }
}
`

const fifoConfVI3 = `vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 3
  priority 150
  advert_int 0.1
  notify_deleted
  virtual_ipaddress {
    10.0.0.103/24
  }
}
`

// keepalived's notify FIFO lines (its format, read off keepalived 2.4.3
// in the lab): every instance's and group's transitions, priority changes
// with notify_priority_changes, DELETED for an instance a reload removes
// (with notify_deleted; FAULT without), STOP at the end.
func TestNotifyFIFOHasKeepalivedsLines(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "vrrp.fifo")
	conf := strings.ReplaceAll(fifoConf, "%FIFO%", fifo)
	synctest.Test(t, func(t *testing.T) {
		m := startMemDaemon(t, conf+fifoConfVI3)
		if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0o600 {
			t.Fatalf("the FIFO was not created (mode 0600): %v %v", st, err)
		}
		r := openFIFOReader(t, fifo)
		passFake(time.Second)
		got := r.lines()
		for _, want := range []string{
			`INSTANCE "VI_1" BACKUP 200`, `INSTANCE "VI_2" BACKUP 200`, `GROUP "G" BACKUP 0`,
			`INSTANCE "VI_1" MASTER 200`, `INSTANCE "VI_2" MASTER 200`, `GROUP "G" MASTER 0`,
			`INSTANCE "VI_3" BACKUP 150`, `INSTANCE "VI_3" MASTER 150`,
		} {
			if !slices.Contains(got, want) {
				t.Errorf("no %q among %q", want, got)
			}
		}
		if i, j := slices.Index(got, `GROUP "G" BACKUP 0`), slices.Index(got, `GROUP "G" MASTER 0`); i > j {
			t.Errorf("group lines out of order: %q", got)
		}

		if err := m.router("VI_1").SetPriority(150); err != nil {
			t.Fatal(err)
		}
		if err := m.router("VI_2").SetPriority(180); err != nil {
			t.Fatal(err)
		}
		passFake(time.Second)
		// Only VI_1 has notify_priority_changes.
		if got := r.lines(); !slices.Equal(got, []string{`INSTANCE "VI_1" MASTER_PRIORITY 150`}) {
			t.Errorf("after the priority changes: %q", got)
		}

		m.d.reload(context.Background(), mustPlan(t, conf))
		passFake(time.Second)
		if got := r.lines(); !slices.Equal(got, []string{`INSTANCE "VI_3" DELETED 150`}) {
			t.Errorf("after a reload without VI_3: %q", got)
		}
		m.stop(t)
		got = r.lines()
		for _, want := range []string{`INSTANCE "VI_1" STOP 150`, `INSTANCE "VI_2" STOP 180`, `GROUP "G" STOP 0`} {
			if !slices.Contains(got, want) {
				t.Errorf("at stop: no %q among %q", want, got)
			}
		}
	})
}

// Without notify_deleted, an instance a reload deletes says FAULT, as
// keepalived's does.
func TestDeletedInstanceNotifiesFault(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "vrrp.fifo")
	conf := strings.ReplaceAll(fifoConf, "%FIFO%", fifo)
	synctest.Test(t, func(t *testing.T) {
		m := startMemDaemon(t, conf+strings.Replace(fifoConfVI3, "  notify_deleted\n", "", 1))
		r := openFIFOReader(t, fifo)
		passFake(time.Second)
		r.lines()
		m.d.reload(context.Background(), mustPlan(t, conf))
		passFake(time.Second)
		if got := r.lines(); !slices.Equal(got, []string{`INSTANCE "VI_3" FAULT 150`}) {
			t.Errorf("after a reload without VI_3: %q", got)
		}
		m.stop(t)
	})
}

// keepalived skips a sync group member's own notifies (scripts and FIFO
// line) when it enters a state its group reached before this transition,
// once the member has notified at least once; members synced in the same
// sweep (the same instant) all notify.
func TestSyncGroupMemberNotifiesAsKeepalived(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "vrrp.fifo")
	synctest.Test(t, func(t *testing.T) {
		m := startMemDaemon(t, strings.ReplaceAll(fifoConf, "%FIFO%", fifo))
		r := openFIFOReader(t, fifo)
		passFake(time.Second)
		r.lines()
		m.d.mu.Lock()
		in1 := m.d.instances["VI_1"]
		g := m.d.groups["G"]
		m.d.mu.Unlock()
		if g.state != "MASTER" {
			t.Fatalf("group G is %q", g.state)
		}
		ev := func(to vrrp.State, at time.Time) vrrp.Event {
			return vrrp.Event{Kind: vrrp.EventState, Router: "VI_1", From: vrrp.Master, To: to, Time: at, Priority: 200}
		}
		// The group went BACKUP in an earlier sweep: VI_1's BACKUP is
		// the group's, and is not notified again.
		m.d.mu.Lock()
		g.state, g.since = "BACKUP", time.Now()
		m.d.mu.Unlock()
		m.d.onEvent(in1, ev(vrrp.Backup, time.Now().Add(time.Millisecond)))
		if got := r.lines(); len(got) != 0 {
			t.Errorf("a member entering its group's earlier state notified: %q", got)
		}
		// In the same sweep it is notified.
		m.d.mu.Lock()
		g.state, g.since = "FAULT", time.Now().Add(time.Second)
		m.d.mu.Unlock()
		m.d.onEvent(in1, ev(vrrp.Fault, time.Now().Add(time.Second)))
		if got := r.lines(); !slices.Equal(got, []string{`INSTANCE "VI_1" FAULT 200`}) {
			t.Errorf("a member synced in its group's sweep: %q", got)
		}
		m.stop(t)
	})
}
