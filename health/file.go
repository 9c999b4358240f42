package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// File is keepalived's track_file: the integer written in a file, which a
// tracker multiplies by its weight (see Weight.Status). It is read at once
// and again whenever the file is written and closed, moved or deleted
// (inotify on its directory, as keepalived does), so a tracker needs no
// Interval for it. It needs Linux: elsewhere NewFile fails with an error
// that wraps errors.ErrUnsupported.
//
// The file is read as keepalived reads it: the first 127 bytes, parsed like
// C's strtol with base 0 (leading blanks, a sign, then decimal, 0x hex or
// 0 octal digits, stopping at the first other byte). A missing, unreadable
// or empty file, or one that starts with no number, is 0. A number too large
// for a C int is ignored: the previous value stays.
type File struct {
	path string // absolute, symlinks resolved as far as they exist

	inotify *os.File
	changes notifier
	stopped chan struct{} // closed when watch returns

	closeOnce sync.Once
	closeErr  error

	mu   sync.Mutex
	last int64
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
	fd, err := os.OpenFile(f.path, readFlags, 0)
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
