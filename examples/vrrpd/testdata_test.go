package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// The five real-world-shaped configurations of testdata/, each a set of
// nodes' keepalived.conf files.
var testdataSets = []string{"pass-pair", "postgres-unicast", "ah-nopreempt-sshd", "cloud-unicast", "mixed-10"}

func testdataFiles(t *testing.T, set string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", set, "*.conf"))
	if err != nil || len(files) < 2 {
		t.Fatalf("testdata/%s: %v, %d files", set, err, len(files))
	}
	return files
}

// TestTestdataConfigurationsCheck: every configuration of testdata passes
// --check (and keepalived's -t), with no error.
func TestTestdataConfigurationsCheck(t *testing.T) {
	for _, set := range testdataSets {
		for _, f := range testdataFiles(t, set) {
			for _, flag := range []string{"--check", "-t"} {
				var out bytes.Buffer
				if code := run([]string{flag, "-f", f}, &out, &out); code != 0 {
					t.Errorf("vrrpd %s -f %s: exit %d:\n%s", flag, f, code, out.String())
				}
				if !strings.Contains(out.String(), "configuration OK") {
					t.Errorf("vrrpd %s -f %s said:\n%s", flag, f, out.String())
				}
			}
		}
	}
}

// httpEnv makes the test binary an HTTP server answering 200 on /primary
// (Patroni's REST API on the leader), for the Postgres configuration.
const httpEnv = "VRRPD_TEST_HTTP"

func init() {
	if addr := os.Getenv(httpEnv); addr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/primary", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "primary") })
		fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, mux))
		os.Exit(1)
	}
}

// TestTestdataConfigurationsRun runs every configuration of testdata in
// the lab: the first node(s) under vrrpd, the last under keepalived, with
// what the configuration needs around it (a Patroni-like endpoint, an sshd,
// a failover script), and checks the outcome the configuration intends.
func TestTestdataConfigurationsRun(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	var cases []labCase
	for _, set := range testdataSets {
		cases = append(cases, labCase{set, func(t *testing.T) { testTestdataRuns(t, set) }})
	}
	concurrently(t, cases)
}

func testTestdataRuns(t *testing.T, set string) {
	files := testdataFiles(t, set)
	lab := netlab.New(t, len(files))
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	hosts := lab.Hosts()

	// Per node: a directory, and the configuration with its absolute paths
	// moved into it.
	dirs := make([]string, len(files))
	confs := make([]string, len(files))
	var fakeSSHD string
	for i, f := range files {
		dirs[i] = t.TempDir()
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		switch set {
		case "mixed-10":
			text = strings.ReplaceAll(text, "/run/vrrp-maintenance", filepath.Join(dirs[i], "maintenance"))
		case "cloud-unicast":
			script := filepath.Join(dirs[i], "failover.sh")
			if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+filepath.Join(dirs[i], "failover.log")+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			text = strings.ReplaceAll(text, "/etc/keepalived/failover.sh", script)
		case "ah-nopreempt-sshd":
			if fakeSSHD == "" {
				fakeSSHD = startFakeProcess(t, fmt.Sprintf("vksshd%d", os.Getpid()%100000))
			}
			text = strings.ReplaceAll(text, "process sshd", "process "+fakeSSHD)
		}
		confs[i] = text
	}
	if set == "postgres-unicast" {
		// pg1 runs the primary.
		exe, _ := os.Executable()
		srv := hosts[0].Command(context.Background(), exe)
		srv.Env = append(os.Environ(), httpEnv+"=127.0.0.1:8008")
		ld.start("patroni@h1", hosts[0], dirs[0], srv)
	}

	procs := make([]*proc, len(files))
	last := len(files) - 1
	for i := range files {
		if i == last {
			procs[i] = ld.keepalived(hosts[i], confs[i])
		} else {
			procs[i] = ld.vrrpd(hosts[i], dirs[i], confs[i])
		}
	}
	v, k := procs[0], procs[last]

	// Node 1 (vrrpd) ends up master of every instance, keepalived backup
	// (or, for the Postgres replicas, out of service), and each VIP is
	// on h1 alone.
	want := map[string][]string{
		"pass-pair":         {"VI_1"},
		"postgres-unicast":  {"PG_VIP"},
		"ah-nopreempt-sshd": {"SSH_VIP"},
		"cloud-unicast":     {"VI_CLOUD"},
		"mixed-10":          {"VI_EXT", "VI_INT", "VI_LB", "VI_UNI", "VI_V3", "VI_FAST", "VI6", "VI6_UNI", "VI_DUAL", "VI_SLOW"},
	}[set]
	st := v.awaitStatus("master of every instance", func(st *Status) bool {
		for _, name := range want {
			if !inState(name, "MASTER")(st) {
				return false
			}
		}
		return len(st.Instances) == len(want)
	})
	var vips []netip.Prefix
	for _, in := range st.Instances {
		for _, s := range append(append([]string(nil), in.VIPs...), in.ExcludedVIPs...) {
			vips = append(vips, netip.MustParsePrefix(strings.Fields(s)[0]))
		}
	}
	for _, name := range want {
		switch set {
		case "postgres-unicast":
			k.await(0, `VRRP_Script\(chk_patroni_primary\) failed`)
			procs[1].awaitStatus("pg2 out of service", inState(name, "FAULT"))
		case "ah-nopreempt-sshd":
			// keepalived learns of processes from the kernel's process
			// connector, which answers only in the initial network
			// namespace ("Failed to set/clear process event listen -
			// errno 111"): in a lab host it never sees sshd and stays in
			// FAULT. vrrpd reads /proc and sees it.
			k.await(0, `\(`+name+`\) entering FAULT state`)
		default:
			k.await(0, `\(`+name+`\) Entering BACKUP STATE`)
		}
	}
	awaitHolders(t, vips, []string{"h1"}, hosts...)
	if set == "cloud-unicast" {
		if err := poll(func() bool {
			b, _ := os.ReadFile(filepath.Join(dirs[0], "failover.log"))
			return strings.Contains(string(b), "--eni eni-0a1b2c3d4e5f60718 --ip 10.0.0.130 INSTANCE VI_CLOUD MASTER 110")
		}); err != nil {
			b, _ := os.ReadFile(filepath.Join(dirs[0], "failover.log"))
			t.Errorf("failover.sh was not run for MASTER: its log holds %q", b)
		}
	}
	for _, p := range procs[:last] {
		checkNoDrops(t, p)
		p.terminate()
	}
	k.terminate()
	ld.checkNoComplaints()
}

// startFakeProcess runs a process whose name (comm) is name: sleep,
// executed through a symbolic link of that name.
func startFakeProcess(t *testing.T, name string) string {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return name
}
