package health

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// readFlags: O_NONBLOCK as keepalived, so that a FIFO does not hang the
// read.
const readFlags = os.O_RDONLY | unix.O_NONBLOCK

// NewFile starts watching path. Like keepalived, it refuses a file whose
// directory does not exist; the file itself need not exist yet.
func NewFile(path string) (*File, error) {
	abs, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("health: track file %s: %w", path, err)
	}
	f := &File{path: abs, stopped: make(chan struct{})}
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

func (f *File) watch() {
	defer close(f.stopped)
	base := filepath.Base(f.path)
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
			case name == base:
				hit = true
			}
		}
		if hit {
			f.changes.notify()
		}
	}
}
