package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// reloadConf renders a configuration with the given instances (name →
// VRID) at priority prio, v3 at 100 ms, with a notify script; head goes
// into global_defs.
func reloadConf(h *netlab.Host, prio int, notify, head string, vrids map[string]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_version 3\n%s}\n", h.Name, head)
	for _, name := range []string{"VI_1", "VI_2", "VI_3", "VI_4"} {
		vrid, ok := vrids[name]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "vrrp_instance %s {\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  advert_int 0.1\n"+
			"  virtual_ipaddress {\n    10.0.0.%d/24\n  }\n%s}\n", name, vrid, prio, vrid+100, notify)
	}
	return b.String()
}

// TestReloadKeepsUnchangedInstances: vrrp_startup_delay holds the
// instances back; SIGHUP adds and removes instances while an unchanged one
// keeps running without a transition (no log line, no notify, no
// priority-0 advert, keepalived stays backup); a broken file leaves the
// running configuration alone and says where it is broken; vrrpd status
// reports; SIGINT stops cleanly.
func TestReloadKeepsUnchangedInstances(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	vdir := t.TempDir()
	notify := notifyLines(t, vdir)
	const delay = time.Second

	k := ld.keepalived(h2, reloadConf(h2, 100, "", "", map[string]int{"VI_1": 81}))
	k.await(0, `\(VI_1\) Entering MASTER STATE`)

	launched := time.Now()
	v := ld.vrrpd(h1, vdir, reloadConf(h1, 200, notify, "  vrrp_startup_delay 1\n", map[string]int{"VI_1": 81, "VI_2": 82}))
	v.await(0, `Delaying startup for 1s \(vrrp_startup_delay\)`)
	v.awaitStatus("both master", func(st *Status) bool {
		return st.Started && inState("VI_1", "MASTER")(st) && inState("VI_2", "MASTER")(st)
	})
	first := awaitFirstAdvert(t, capture, h1.MAC, 81, time.Time{})
	if first.time.Before(launched.Add(delay)) {
		t.Errorf("vrrpd advertised %v after it was launched, before its vrrp_startup_delay of %v", first.time.Sub(launched), delay)
	}
	k.await(0, `\(VI_1\) Entering BACKUP STATE`)
	awaitHolders(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.181/24"), netip.MustParsePrefix("10.0.0.182/24")}, []string{"h1"}, h1, h2)

	// Reload: VI_1 unchanged, VI_2 removed, VI_4 added.
	notifyBefore := readNotifyLog(t, vdir)
	vmark, kmark := v.log.mark(), k.log.mark()
	cfg := filepath.Join(vdir, "vrrpd.conf")
	writeConf(t, vdir, "vrrpd.conf", reloadConf(h1, 200, notify, "  vrrp_startup_delay 1\n", map[string]int{"VI_1": 81, "VI_4": 84}))
	reloaded := time.Now()
	if err := v.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	v.await(vmark, `Reload finished`)
	v.awaitStatus("VI_4 master, VI_2 gone", func(st *Status) bool {
		return inState("VI_1", "MASTER")(st) && inState("VI_4", "MASTER")(st) && instanceStatus(st, "VI_2") == nil
	})
	awaitZeroAdvert(t, capture, h1.MAC, 82, reloaded)
	awaitHolders(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.182/24")}, nil, h1, h2)
	awaitHolders(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.181/24"), netip.MustParsePrefix("10.0.0.184/24")}, []string{"h1"}, h1, h2)
	after := awaitFirstAdvert(t, capture, h1.MAC, 81, time.Now())
	if lines := v.log.grep(vmark, regexp.MustCompile(`\(VI_1\) (Entering|Stopped)`)); len(lines) > 0 {
		t.Errorf("the unchanged VI_1 changed state on reload: %q", lines)
	}
	if w, ok := lastAdvert(wireFrames(capture), h1.MAC, 81, after.time, true); ok && w.time.After(reloaded) {
		t.Errorf("the unchanged VI_1 sent priority 0 at %s", w.time.Format(time.StampMicro))
	}
	if lines := k.log.grep(kmark, regexp.MustCompile(`Entering`)); len(lines) > 0 {
		t.Errorf("keepalived changed state during vrrpd's reload: %q", lines)
	}
	got := readNotifyLog(t, vdir)
	for _, l := range got[len(notifyBefore):] {
		if strings.Contains(l, "VI_1") {
			t.Errorf("notify ran for the unchanged VI_1 on reload: %q", got[len(notifyBefore):])
			break
		}
	}

	// A broken file: the error names file and line; nothing changes.
	vmark = v.log.mark()
	writeConf(t, vdir, "vrrpd.conf", reloadConf(h1, 200, notify, "", map[string]int{"VI_1": 81})+"vrrp_instance VI_9 {\n  interface eth0\n  virtual_router_id 300\n}\n")
	if err := v.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	v.await(vmark, regexp.QuoteMeta(cfg)+`:\d+: virtual_router_id`)
	v.await(vmark, `Reload failed`)
	st := v.status()
	if !inState("VI_4", "MASTER")(st) || !inState("VI_1", "MASTER")(st) {
		t.Errorf("after a failed reload: %+v", st.Instances)
	}

	// vrrpd status, as an operator runs it.
	var out, errOut bytes.Buffer
	sock := "unix:" + filepath.Join(vdir, "status.sock")
	if code := run([]string{"status", "--status", sock}, &out, &errOut); code != 0 {
		t.Fatalf("vrrpd status: exit %d: %s", code, errOut.String())
	}
	if !regexp.MustCompile(`(?m)^VI_1\s+81\s+eth0\s+MASTER\s+200\s+10\.0\.0\.1\s+10\.0\.0\.181/24`).MatchString(out.String()) {
		t.Errorf("vrrpd status printed:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"status", "--status=" + sock, "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("vrrpd status --json: exit %d: %s", code, errOut.String())
	}
	var js Status
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || len(js.Instances) != 2 {
		t.Errorf("vrrpd status --json: %v, %d instances:\n%s", err, len(js.Instances), out.String())
	}

	// A second vrrpd given the first one's pid file refuses to start (it
	// exits before it opens a socket), and the first runs on.
	second := ld.vrrpd(h1, t.TempDir(), reloadConf(h1, 200, "", "", map[string]int{"VI_1": 81}),
		"-p", filepath.Join(vdir, "vrrpd.pid"))
	second.await(0, `pid file .*vrrpd\.pid: vrrpd is already running as pid `+strconv.Itoa(v.cmd.Process.Pid))
	<-second.exited
	if second.state.ExitCode() != 1 {
		t.Errorf("the second vrrpd exited with %v, want status 1", second.state)
	}
	if st := v.status(); !inState("VI_1", "MASTER")(st) || !inState("VI_4", "MASTER")(st) {
		t.Errorf("the first vrrpd after the second was refused: %+v", st.Instances)
	}

	// SIGINT: both masters leave with priority 0 and remove their VIPs.
	stopped := time.Now()
	if err := v.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-v.exited
	if !v.state.Success() {
		t.Errorf("vrrpd exited with %v after SIGINT", v.state)
	}
	awaitZeroAdvert(t, capture, h1.MAC, 81, stopped)
	awaitZeroAdvert(t, capture, h1.MAC, 84, stopped)
	awaitHolders(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.184/24")}, nil, h1, h2)
	k.await(kmark, `\(VI_1\) Entering MASTER STATE`)
	k.terminate()
	ld.checkNoComplaints()
}
