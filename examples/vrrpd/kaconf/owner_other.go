//go:build !unix

package kaconf

import "io/fs"

// fileOwner is unknown here.
func fileOwner(fs.FileInfo) (uid int, known bool) { return 0, false }
