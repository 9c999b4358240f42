package health

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// paramsMatch is keepalived's check_params (track_process.c). keepalived.conf(5),
// vrrp_track_process: "If matching parameters, this specifies a partial
// match (i.e. the first n parameters match exactly), or an initial match,
// i.e. the last parameter may be longer that the parameter configured. To
// specify that a command must have no parameters, don't specify any
// parameters, but specify param_match."
func TestParamsMatch(t *testing.T) {
	args := func(a ...string) []byte {
		var b []byte
		for _, s := range a {
			b = append(append(b, s...), 0)
		}
		return b
	}
	tests := []struct {
		mode      ParamMatch
		want, got []string
		match     bool
	}{
		{ParamExact, nil, nil, true},
		{ParamExact, nil, []string{"-D"}, false},
		{ParamExact, []string{"-D"}, []string{"-D"}, true},
		{ParamExact, []string{"-D"}, []string{"-D", "-x"}, false},
		{ParamExact, []string{"-D"}, []string{"-Dx"}, false},
		{ParamExact, []string{"-D", "-x"}, []string{"-D"}, false},
		{ParamPartial, []string{"-D"}, []string{"-D", "-x"}, true},
		{ParamPartial, []string{"-D"}, []string{"-Dx"}, false},
		{ParamPartial, []string{"-D", "-f"}, []string{"-D", "-f", "conf"}, true},
		{ParamPartial, []string{"-D", "-f"}, []string{"-D"}, false},
		{ParamPartial, nil, []string{"anything"}, true},
		{ParamInitial, []string{"-f", "/etc/hap"}, []string{"-f", "/etc/haproxy.cfg"}, true},
		{ParamInitial, []string{"-f", "/etc/hap"}, []string{"-f", "/etc/hap"}, true},
		{ParamInitial, []string{"-f", "/etc/hap"}, []string{"-f", "/etc/ha"}, false},
		{ParamInitial, []string{"-f", "/etc/hap"}, []string{"-g", "/etc/haproxy.cfg"}, false},
		{ParamInitial, []string{"-f"}, []string{"-fx", "y"}, true},
		{ParamInitial, []string{""}, []string{"x"}, true},
		{ParamInitial, nil, nil, true},
	}
	for _, tt := range tests {
		if got := paramsMatch(tt.mode, args(tt.want...), args(tt.got...)); got != tt.match {
			t.Errorf("%v %q against %q: %v, want %v", tt.mode, tt.want, tt.got, got, tt.match)
		}
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		in    string
		comm  string
		state byte
		ok    bool
	}{
		{"1 (systemd) S 0 1 1", "systemd", 'S', true},
		{"42 (a) (b) Z 1 42", "a) (b", 'Z', true},
		{"7 (with space) R 1", "with space", 'R', true},
		{"7 (broken", "", 0, false},
		{"7 (x)", "", 0, false},
	}
	for _, tt := range tests {
		comm, state, ok := parseStat([]byte(tt.in))
		if string(comm) != tt.comm || state != tt.state || ok != tt.ok {
			t.Errorf("parseStat(%q) = %q %q %v, want %q %q %v", tt.in, comm, state, ok, tt.comm, tt.state, tt.ok)
		}
	}
}

// uniqueProgram copies a system program under a fresh name of at most 15
// bytes, so that its process name (comm) is this test's alone.
func uniqueProgram(t *testing.T, program string) string {
	t.Helper()
	src, err := exec.LookPath(program)
	if err != nil {
		t.Skipf("no %s: %v", program, err)
	}
	b := make([]byte, 5)
	rand.Read(b)
	dst := filepath.Join(t.TempDir(), "vk"+hex.EncodeToString(b)) // 12 bytes
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// start runs program with args and kills it at cleanup.
func start(t *testing.T, program string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(program, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Kill()
	cmd.Wait()
}

// TestProcessQuorum runs real processes under a unique name and checks
// keepalived's quorum rules (keepalived.conf(5), vrrp_track_process:
// "minimum number of processes for success", "maximum number of processes
// for success ... Setting this to 0 would mean failure if the matching
// process were running at all").
func TestProcessQuorum(t *testing.T) {
	prog := uniqueProgram(t, "sleep")
	name := filepath.Base(prog)
	ctx := context.Background()
	one := &Process{Name: name}
	two := &Process{Name: name, Quorum: 2, QuorumMax: 2}
	none := &Process{Name: name, Absent: true}
	check := func(label string, p *Process, up bool, reason string) {
		t.Helper()
		r := p.Check(ctx)
		if r.Up != up || r.Reason != reason {
			t.Errorf("%s: got up %v %q, want up %v %q", label, r.Up, r.Reason, up, reason)
		}
	}
	check("none running, default quorum", one, false, "0 running, quorum at least 1")
	check("none running, absent", none, true, "0 running, quorum none")

	a := start(t, prog, "1000")
	check("one running", one, true, "1 running, quorum at least 1")
	check("one running, quorum 2", two, false, "1 running, quorum 2-2")
	check("one running, absent", none, false, "1 running, quorum none")

	b := start(t, prog, "1000")
	check("two running, quorum 2", two, true, "2 running, quorum 2-2")
	c := start(t, prog, "1000")
	check("three running, quorum_max 2", two, false, "3 running, quorum 2-2")
	check("three running, no max", one, true, "3 running, quorum at least 1")

	stop(t, c)
	check("back to two", two, true, "2 running, quorum 2-2")
	stop(t, a)
	stop(t, b)
	check("all gone", one, false, "0 running, quorum at least 1")
	check("all gone, absent", none, true, "0 running, quorum none")

	// keepalived compares exactly: a prefix of the name is no match
	// ("'pgrep ssh' will match an sshd process, this track_process will
	// not").
	start(t, prog, "1000")
	check("prefix of the name", &Process{Name: name[:len(name)-1]}, false, "0 running, quorum at least 1")
}

// TestProcessFullCommand matches argv[0] and the parameters of real
// processes.
func TestProcessFullCommand(t *testing.T) {
	prog := uniqueProgram(t, "sleep")
	start(t, prog, "1000", "7")
	start(t, prog, "1000")
	start(t, prog, "1001")
	tests := []struct {
		p    Process
		want int
	}{
		{Process{Name: prog, FullCommand: true}, 3},
		{Process{Name: filepath.Base(prog), FullCommand: true}, 0}, // argv[0] is the full path
		{Process{Name: prog, Args: []string{"1000"}}, 1},           // Args imply an exact match
		{Process{Name: prog, Args: []string{"1000"}, ParamMatch: ParamPartial}, 2},
		{Process{Name: prog, Args: []string{"100"}, ParamMatch: ParamInitial}, 3},
		{Process{Name: prog, Args: []string{"1000", "7"}}, 1},
		{Process{Name: prog, ParamMatch: ParamExact}, 0}, // no parameters at all
	}
	for _, tt := range tests {
		n, err := tt.p.Count(context.Background())
		if err != nil || n != tt.want {
			t.Errorf("%+v: %d, %v; want %d", tt.p, n, err, tt.want)
		}
	}
}

// TestProcessIgnoresZombies: "pgrep etc also include zombie processes
// whereas keepalived does not, since they aren't running."
func TestProcessIgnoresZombies(t *testing.T) {
	prog := uniqueProgram(t, "true")
	cmd := exec.Command(prog)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Not waited for: once it exits it stays a zombie until Wait.
	stat := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "stat")
	waitFor(t, "zombie", func() bool {
		b, err := os.ReadFile(stat)
		if err != nil {
			return false
		}
		_, state, _ := parseStat(b)
		return state == 'Z'
	})
	p := &Process{Name: filepath.Base(prog)}
	if n, err := p.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("zombie counted: %d, %v", n, err)
	}
	cmd.Wait()
}

func TestProcessLongNameHint(t *testing.T) {
	r := (&Process{Name: "haproxy-ingress-controller"}).Check(context.Background())
	if r.Up || !strings.Contains(r.Reason, "use FullCommand") {
		t.Errorf("got %+v, want a hint that names are at most 15 bytes", r)
	}
}

// BenchmarkProcessCount measures one scan of /proc (keepalived reads
// process events instead; this is the price of polling).
func BenchmarkProcessCount(b *testing.B) {
	for _, p := range []*Process{{Name: "sshd"}, {Name: "/usr/sbin/sshd", FullCommand: true}} {
		b.Run(fmt.Sprintf("full=%v", p.FullCommand), func(b *testing.B) {
			procs, _ := os.ReadDir("/proc")
			b.ReportMetric(float64(len(procs)), "proc-entries")
			for b.Loop() {
				if _, err := p.Count(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
