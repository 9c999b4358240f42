//go:build unix

package kaconf

import (
	"io/fs"
	"syscall"
)

// fileOwner is the uid owning a file of the operating system's, if known.
func fileOwner(info fs.FileInfo) (uid int, known bool) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), true
	}
	return 0, false
}
