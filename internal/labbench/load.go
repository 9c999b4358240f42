package labbench

import (
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Load stresses the machine while a run watches for false takeovers.
type Load interface {
	// Start begins the load; master and backup are the daemons' process
	// groups. stop ends it and returns once it has ended.
	Start(tb testing.TB, master, backup int) (stop func())
}

// Busy runs N processes that spin on the CPU at normal priority, as
// competing work on the daemons' cores would.
type Busy struct{ N int }

func (b Busy) Start(tb testing.TB, _, _ int) func() {
	tb.Helper()
	var cmds []*exec.Cmd
	for range b.N {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	stop := func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
		cmds = nil
	}
	tb.Cleanup(stop)
	return stop
}

// Pause freezes the master daemon (SIGSTOP to its process group) for For,
// then lets it run (SIGCONT) for Run, over and over: a VM pause, or a host
// too loaded to schedule it.
type Pause struct{ For, Run time.Duration }

func (p Pause) Start(tb testing.TB, master, _ int) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			syscall.Kill(-master, syscall.SIGSTOP)
			time.Sleep(p.For) // the pause being simulated
			syscall.Kill(-master, syscall.SIGCONT)
			select {
			case <-done:
				return
			case <-time.After(p.Run):
			}
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { close(done); wg.Wait() }) }
	tb.Cleanup(stop)
	return stop
}
