//go:build !unix

package health

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
)

// prepare refuses User and Group, which need Unix credentials.
func (e *Exec) prepare(*exec.Cmd) error {
	if e.User != "" || e.Group != "" || e.Credential != nil {
		return fmt.Errorf("user %q group %q: not supported on %s: %w", e.User, e.Group, runtime.GOOS, errors.ErrUnsupported)
	}
	return nil
}

// killGroup kills the program alone: there are no process groups here.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
