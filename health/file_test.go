package health

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// TestStrtol: keepalived reads a track file with strtol(buf, NULL, 0) and
// ignores numbers outside int (track_file.c, process_track_file).
func TestStrtol(t *testing.T) {
	tests := []struct {
		in string
		v  int64
		ok bool
	}{
		{"5", 5, true},
		{"5\n", 5, true},
		{"  \t-17 trailing", -17, true},
		{"+8", 8, true},
		{"0x1F", 31, true},
		{"0X1f", 31, true},
		{"010", 8, true}, // octal, as strtol with base 0
		{"08", 0, true},  // '8' is not octal: stops after "0"
		{"0x", 0, true},  // "0", then 'x' stops it
		{"0xg", 0, true},
		{"12abc", 12, true},
		{"abc", 0, true}, // no number is 0
		{"", 0, true},
		{"-", 0, true},
		{"2147483647", 2147483647, true},
		{"-2147483648", -2147483648, true},
		{"2147483648", 0, false}, // beyond a C int: ignored
		{"-2147483649", 0, false},
		{"99999999999999999999999", 0, false},
	}
	for _, tt := range tests {
		v, ok := strtol([]byte(tt.in))
		if v != tt.v || ok != tt.ok {
			t.Errorf("strtol(%q) = %d, %v; want %d, %v", tt.in, v, ok, tt.v, tt.ok)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFileWatchesRealFile changes a real file and waits for the inotify
// notice each time, then checks the value keepalived would read.
func TestFileWatchesRealFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prio")
	f, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	expectValue := func(label string, want int64, reason string) {
		t.Helper()
		r := f.Check(context.Background())
		if !r.Valued || r.Value != want || !strings.Contains(r.Reason, reason) {
			t.Errorf("%s: got %+v, want value %d, reason containing %q", label, r, want, reason)
		}
	}
	changed := func(label string, do func()) {
		t.Helper()
		ch := f.Changed()
		do()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no change seen", label)
		}
	}
	expectValue("missing file", 0, "no such file")
	changed("created", func() { write(t, path, "5\n") })
	expectValue("written", 5, "value 5")
	changed("rewritten", func() { write(t, path, "-12") })
	expectValue("rewritten", -12, "value -12")
	changed("not a number", func() { write(t, path, "abc") })
	expectValue("not a number", 0, "value 0")
	changed("hex", func() { write(t, path, "0x10") })
	expectValue("hex", 16, "value 16")
	changed("too big", func() { write(t, path, "99999999999") })
	expectValue("too big keeps the previous value", 16, "invalid number")
	changed("empty", func() { write(t, path, "") })
	expectValue("empty", 0, "empty")
	// Atomic replacement (write a temporary file, rename over): IN_MOVED_TO.
	changed("renamed into place", func() {
		write(t, path+".tmp", "7")
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	})
	expectValue("renamed into place", 7, "value 7")
	changed("deleted", func() { os.Remove(path) })
	expectValue("deleted", 0, "value 0")

	// Other files in the directory do not wake the watchers.
	ch := f.Changed()
	write(t, filepath.Join(dir, "other"), "1")
	changed("after another file", func() { write(t, path, "3") })
	select {
	case <-ch:
	default:
		t.Fatal("channel taken before both writes not closed")
	}
	expectValue("after another file", 3, "value 3")
}

// TestFileNeedsDirectory: keepalived refuses a track file whose directory
// does not exist ("Track file directory for %s does not exist").
func TestFileNeedsDirectory(t *testing.T) {
	if _, err := NewFile(filepath.Join(t.TempDir(), "nodir", "prio")); err == nil {
		t.Error("NewFile accepted a file in a missing directory")
	}
}

// TestTrackerFollowsFile runs a File through a Tracker: every write is
// reported at once, multiplied by the weight (keepalived.conf(5): "the
// value will be multiplied by the weight"), and a value below -253 is
// Fault.
func TestTrackerFollowsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prio")
	write(t, path, "2")
	f, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reports := make(chan vrrp.TrackStatus, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- (&Tracker{Name: "prio_file", Check: f, Weight: -10}).Run(ctx, nil, func(s vrrp.TrackStatus) { reports <- s })
	}()
	<-reports // initial
	if s := nextReport(t, reports); s.Delta != -20 || s.Fault {
		t.Errorf("value 2: %+v, want delta -20", s)
	}
	write(t, path, "30")
	if s := nextReport(t, reports); !s.Fault {
		t.Errorf("value 30 × -10: %+v, want Fault", s)
	}
	write(t, path, "-3")
	if s := nextReport(t, reports); s.Delta != 30 || s.Fault {
		t.Errorf("value -3: %+v, want delta 30", s)
	}
	cancel()
	<-done
}

// TestInitFile: keepalived's "init_file [VALUE] [overwrite]".
func TestInitFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prio")
	read := func() string { b, _ := os.ReadFile(path); return string(b) }
	if err := InitFile(path, 0, false); err != nil || read() != "0\n" {
		t.Fatalf("create: %v, %q", err, read())
	}
	write(t, path, "9\n")
	if err := InitFile(path, 4, false); err != nil || read() != "9\n" {
		t.Errorf("existing without overwrite: %v, %q; want untouched", err, read())
	}
	if err := InitFile(path, 4, true); err != nil || read() != "4\n" {
		t.Errorf("overwrite: %v, %q", err, read())
	}
	if err := InitFile(dir, 4, true); err == nil {
		t.Error("overwrote a directory")
	}
}

// closeConcurrently closes every c from several goroutines at once, as a
// program's shutdown path and a deferred Close may, and returns the first
// error.
func closeConcurrently[C interface{ Close() error }](cs []C) error {
	// More threads than cores, so that the OS preempts closers anywhere.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))
	start := make(chan struct{})
	errs := make(chan error, 32*len(cs))
	var wg sync.WaitGroup
	for _, c := range cs {
		for range 32 {
			wg.Go(func() {
				<-start
				errs <- c.Close()
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestFileCloseIsIdempotent: concurrent and repeated Closes all return
// nil, none panics (a double close of the done channel did), and the
// watcher has stopped.
func TestFileCloseIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	for range 20 {
		fs := make([]*File, 50) // fs.inotify.max_user_instances is 128 by default
		for i := range fs {
			f, err := NewFile(filepath.Join(dir, "prio"))
			if err != nil {
				t.Fatal(err)
			}
			fs[i] = f
		}
		if err := closeConcurrently(fs); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, f := range fs {
			if err := f.Close(); err != nil {
				t.Fatalf("Close after Close: %v", err)
			}
			select {
			case <-f.stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("the watcher still runs after Close")
			}
		}
	}
}
