package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"sync"
	"syscall"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

// notifyFIFOs are keepalived's notify_fifo and vrrp_notify_fifo: every
// instance and group transition is written to them as one line,
//
//	INSTANCE "VI_1" MASTER 150
//	GROUP "G" FAULT 0
//
// with MASTER_RX_LOWER_PRI for a master that heard a lower priority, and
// MASTER_PRIORITY / BACKUP_PRIORITY for a priority change of an instance
// with notify_priority_changes. Unlike notify scripts, lines keep their
// order. A FIFO is opened read-write and non-blocking, so that writing
// never waits for a reader: a line that does not fit (no reader, buffer
// full) is dropped and counted.
type notifyFIFOs struct {
	log *zap.Logger

	mu      sync.Mutex
	files   []*fifoFile
	dropped int
	cancel  context.CancelFunc
	scripts sync.WaitGroup
}

type fifoFile struct {
	path string
	f    *os.File
}

// openFIFOs opens the configured FIFOs (creating each that is missing,
// mode 0600, owned by its USER [GROUP]) and starts their scripts. A FIFO
// that cannot be opened is logged and left out, as keepalived does.
func openFIFOs(g kaconf.Global, env *scriptEnv, log *zap.Logger) *notifyFIFOs {
	n := &notifyFIFOs{log: log}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	for _, c := range []*kaconf.FIFO{g.NotifyFIFO, g.VRRPNotifyFIFO} {
		if c == nil {
			continue
		}
		f, err := openFIFO(c)
		if err != nil {
			log.Error(kaconf.Diagnostic{Pos: c.Pos, Keyword: "notify_fifo", Msg: err.Error()}.String())
			continue
		}
		n.files = append(n.files, &fifoFile{path: c.Path, f: f})
		log.Info("Notify FIFO " + c.Path)
		if c.Script != nil {
			n.startScript(ctx, c, env)
		}
	}
	return n
}

func openFIFO(c *kaconf.FIFO) (*os.File, error) {
	st, err := os.Lstat(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := syscall.Mkfifo(c.Path, 0o600); err != nil {
			return nil, fmt.Errorf("create FIFO %s: %w", c.Path, err)
		}
		if c.User != "" {
			if err := chownTo(c.Path, c.User, c.Group); err != nil {
				os.Remove(c.Path)
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	} else if st.Mode()&fs.ModeNamedPipe == 0 {
		return nil, fmt.Errorf("%s exists and is not a FIFO (%v)", c.Path, st.Mode().Type())
	}
	// Read-write: opening never waits for a reader, and a reader that
	// comes and goes does not make writes fail with EPIPE.
	f, err := os.OpenFile(c.Path, os.O_RDWR|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open FIFO %s: %w", c.Path, err)
	}
	if st, err := f.Stat(); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		f.Close()
		return nil, fmt.Errorf("%s is not a FIFO", c.Path)
	}
	return f, nil
}

func chownTo(path, userName, groupName string) error {
	u, err := user.Lookup(userName)
	if err != nil {
		return fmt.Errorf("FIFO %s owner: %w", path, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return fmt.Errorf("FIFO %s group: %w", path, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return os.Lchown(path, uid, gid)
}

// startScript runs the FIFO's script with the FIFO's path as its last
// argument until close.
func (n *notifyFIFOs) startScript(ctx context.Context, c *kaconf.FIFO, env *scriptEnv) {
	ex, warns, err := env.exec(*c.Script)
	for _, w := range warns {
		n.log.Warn(kaconf.Diagnostic{Pos: c.Pos, Keyword: "notify_fifo_script", Msg: w}.String())
	}
	if err != nil {
		n.log.Warn(kaconf.Diagnostic{Pos: c.Pos, Keyword: "notify_fifo_script", Msg: "Disabling " + c.Script.String() + ": " + err.Error()}.String())
		return
	}
	ex.Args = append(append([]string(nil), ex.Args...), c.Path)
	n.scripts.Add(1)
	go func() {
		defer n.scripts.Done()
		res := ex.Check(ctx)
		if ctx.Err() == nil {
			n.log.Warn("notify FIFO script "+c.Script.String()+" exited", zap.String("reason", res.Reason))
		}
	}()
}

// active reports whether there is a FIFO to write to.
func (n *notifyFIFOs) active() bool {
	if n == nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.files) > 0
}

// write writes one line to every FIFO.
func (n *notifyFIFOs) write(typ, name, what string, priority int) {
	if n == nil {
		return
	}
	line := typ + " \"" + name + "\" " + what + " " + strconv.Itoa(priority) + "\n"
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.files {
		if err := writeNow(f.f, []byte(line)); err != nil {
			n.dropped++
			if n.dropped == 1 || n.dropped%100 == 0 {
				n.log.Warn("notify FIFO "+f.path+": line dropped (no reader, or it falls behind)",
					zap.String("line", line[:len(line)-1]), zap.Int("dropped", n.dropped), zap.Error(err))
			}
		}
	}
}

// writeNow writes b in one system call, or fails: os.File would wait for
// a full FIFO to drain.
func writeNow(f *os.File, b []byte) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true
	}); err != nil {
		return err
	}
	if werr == nil && n != len(b) {
		werr = fmt.Errorf("short write: %d of %d bytes", n, len(b))
	}
	return werr
}

// close stops the scripts and closes the FIFOs (they stay on disk, as
// keepalived leaves them).
func (n *notifyFIFOs) close() {
	if n == nil {
		return
	}
	n.cancel()
	n.scripts.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.files {
		f.f.Close()
	}
	n.files = nil
}
