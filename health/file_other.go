//go:build !linux

package health

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

const readFlags = os.O_RDONLY

// NewFile fails: watching a file for changes needs Linux's inotify.
func NewFile(path string) (*File, error) {
	if _, err := resolve(path); err != nil {
		return nil, fmt.Errorf("health: track file %s: %w", path, err)
	}
	return nil, fmt.Errorf("health: track file %s: not supported on %s (needs Linux inotify): %w", path, runtime.GOOS, errors.ErrUnsupported)
}
