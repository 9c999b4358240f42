package health

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// File is keepalived's track_file: the integer written in a file, which a
// tracker multiplies by its weight (see Weight.Status). It is read at once
// and again whenever the file is written and closed, moved or deleted
// (inotify on its directory, as keepalived does), so a tracker needs no
// Interval for it.
//
// The file is read as keepalived reads it: the first 127 bytes, parsed like
// C's strtol with base 0 (leading blanks, a sign, then decimal, 0x hex or
// 0 octal digits, stopping at the first other byte). A missing, unreadable
// or empty file, or one that starts with no number, is 0. A number too large
// for a C int is ignored: the previous value stays.
type File struct {
	path string // absolute, symlinks resolved as far as they exist
	base string

	inotify *os.File
	changes notifier
	stopped chan struct{} // closed when watch returns

	closeOnce sync.Once
	closeErr  error

	mu   sync.Mutex
	last int64
}

// NewFile starts watching path. Like keepalived, it refuses a file whose
// directory does not exist; the file itself need not exist yet.
func NewFile(path string) (*File, error) {
	abs, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("health: track file %s: %w", path, err)
	}
	f := &File{path: abs, base: filepath.Base(abs), stopped: make(chan struct{})}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("health: track file %s: inotify: %w", path, err)
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(abs), unix.IN_CLOSE_WRITE|unix.IN_DELETE|unix.IN_MOVE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("health: track file %s: watch %s: %w", path, filepath.Dir(abs), err)
	}
	// Non-blocking, so the runtime poller reads it and Close interrupts a
	// pending read.
	f.inotify = os.NewFile(uintptr(fd), "inotify")
	go f.watch()
	return f, nil
}

// resolve is keepalived's realpath handling: the file's own path if it
// exists, else its directory's, which must exist and be a directory.
func resolve(path string) (string, error) {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return filepath.Abs(p)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(dir); err != nil {
		return "", err
	} else if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(path)), nil
}

// Path is the file watched, made absolute.
func (f *File) Path() string { return f.path }

// Changed implements Watcher.
func (f *File) Changed() <-chan struct{} { return f.changes.wait() }

// Close stops watching and returns once the watcher has stopped. It may
// be called more than once, also concurrently: every call returns the
// first one's result.
func (f *File) Close() error {
	f.closeOnce.Do(func() {
		// Closing interrupts the watcher's pending read.
		f.closeErr = f.inotify.Close()
		<-f.stopped
	})
	return f.closeErr
}

func (f *File) watch() {
	defer close(f.stopped)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := f.inotify.Read(buf)
		if err != nil {
			// Closed, or the watch is broken beyond repair: either way
			// no more changes will be seen.
			return
		}
		hit := false
		for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			mask := binary.NativeEndian.Uint32(b[4:8])
			nameLen := int(binary.NativeEndian.Uint32(b[12:16]))
			end := unix.SizeofInotifyEvent + nameLen
			if end > len(b) {
				break
			}
			name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:end], "\x00"))
			b = b[end:]
			switch {
			case mask&(unix.IN_Q_OVERFLOW|unix.IN_IGNORED) != 0:
				// Events were lost, or the directory went away: read again.
				hit = true
			case mask&unix.IN_ISDIR != 0:
			case name == f.base:
				hit = true
			}
		}
		if hit {
			f.changes.notify()
		}
	}
}

// Check reads the file once.
func (f *File) Check(ctx context.Context) Result {
	v, reason := f.read()
	return Result{Valued: true, Value: v, Reason: reason}
}

// Value reads the file and returns the value a tracker would take.
func (f *File) Value() int64 {
	v, _ := f.read()
	return v
}

func (f *File) read() (int64, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// O_NONBLOCK as keepalived: a FIFO must not hang the read.
	fd, err := os.OpenFile(f.path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		f.last = 0
		return 0, fmt.Sprintf("%v: value 0", err)
	}
	buf := make([]byte, 127)
	n, err := fd.Read(buf)
	fd.Close()
	if n <= 0 {
		f.last = 0
		if err != nil && err != io.EOF {
			return 0, fmt.Sprintf("read %s: %v: value 0", f.path, err)
		}
		return 0, fmt.Sprintf("%s is empty: value 0", f.path)
	}
	v, ok := strtol(buf[:n])
	if !ok {
		return f.last, fmt.Sprintf("invalid number %q in %s, keeping %d", bytes.TrimSpace(buf[:n]), f.path, f.last)
	}
	f.last = v
	return v, "value " + strconv.FormatInt(v, 10)
}

// strtol parses the way keepalived does, with C's strtol(buf, NULL, 0):
// it returns 0 when there is no number, and ok false when the number does
// not fit a C int (keepalived then ignores the file's contents).
func strtol(b []byte) (v int64, ok bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	base := uint64(10)
	if i < len(b) && b[i] == '0' {
		base = 8
		if i+2 < len(b) && b[i+1]|0x20 == 'x' && digit(b[i+2]) < 16 {
			base = 16
			i += 2
		}
	}
	var acc uint64
	for ; i < len(b); i++ {
		d := digit(b[i])
		if d >= base {
			break
		}
		acc = acc*base + d
		if acc > math.MaxInt32+1 {
			return 0, false
		}
	}
	if neg {
		return -int64(acc), true
	}
	if acc > math.MaxInt32 {
		return 0, false
	}
	return int64(acc), true
}

func digit(c byte) uint64 {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'z':
		return uint64(c|0x20-'a') + 10
	}
	return 99
}

// InitFile is keepalived's "init_file [VALUE] [overwrite]": it writes value
// to path if the file does not exist, or, with overwrite, even if it does
// (but only over a regular file).
func InitFile(path string, value int, overwrite bool) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && !overwrite:
		return nil
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("health: init track file %s: not a regular file", path)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("health: init track file %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(value)+"\n"), 0o644); err != nil {
		return fmt.Errorf("health: init track file: %w", err)
	}
	return nil
}
