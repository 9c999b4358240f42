//go:build linux

package vrrpsched

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const childEnv = "VRRPSCHED_TEST_CHILD"

// TestMain lets TestApplySetsEveryThread run Apply in a child process: the
// test binary itself must not run real-time.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child applies the options and prints every thread's policy, priority
// and nice value, and the RLIMIT_RTTIME limits.
func child() int {
	if err := Apply(Options{RTPriority: 7, RLimitRTTime: 3000000, Nice: -3, NoSwap: true}); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	entries, _ := os.ReadDir("/proc/self/task")
	for _, e := range entries {
		tid, _ := strconv.Atoi(e.Name())
		attr, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		// The kernel reports a nice value in SchedAttr for fair policies
		// only; getpriority's raw value is 20 - nice.
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Printf("thread policy=%d priority=%d nice=%d\n", attr.Policy, attr.Priority, 20-prio)
	}
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_RTTIME, &rl)
	status, _ := os.ReadFile("/proc/self/status")
	locked := ""
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmLck:") {
			locked = strings.Join(strings.Fields(l)[1:], "")
		}
	}
	fmt.Printf("rttime=%d/%d locked=%s\n", rl.Cur, rl.Max, locked)
	return 0
}

func TestApplySetsEveryThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SCHED_RR, a negative nice and mlockall need root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	threads := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.HasPrefix(l, "thread "):
			threads++
			if want := fmt.Sprintf("thread policy=%d priority=7 nice=-3", unix.SCHED_RR); l != want {
				t.Errorf("%s, want %s", l, want)
			}
		case strings.HasPrefix(l, "rttime="):
			// 3 ms soft, the margin more hard; memory locked.
			if !strings.HasPrefix(l, "rttime=3000/203000 ") {
				t.Errorf("%s, want rttime=3000/203000", l)
			}
			if strings.HasSuffix(l, "locked=0kB") {
				t.Errorf("%s: mlockall locked nothing", l)
			}
		}
	}
	if threads < 2 {
		t.Errorf("saw %d threads, want the runtime's several:\n%s", threads, out)
	}
}
