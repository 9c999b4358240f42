package main

import (
	"bytes"
	"fmt"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// awaitPriorityAdvert waits for an advert for vrid from mac with priority
// prio sent after after.
func awaitPriorityAdvert(t *testing.T, c *netlab.Capture, mac []byte, vrid, prio uint8, after time.Time) wireFrame {
	t.Helper()
	return awaitAdvert(t, c, fmt.Sprintf("advert for VRID %d at priority %d after %s", vrid, prio, after.Format(time.StampMicro)), func(w wireFrame) bool {
		return w.vrid == vrid && w.priority == prio && bytes.Equal(w.srcMAC, mac) && w.time.After(after)
	})
}

// TestReloadChangesPriorityInPlace: a SIGHUP that changes only a master's
// priority gives the running router the new priority — no restart, no
// priority 0, no state change, and keepalived, its backup at 100, stays
// backup — and its next adverts carry it; a second that puts it below
// keepalived's hands over by the protocol: keepalived preempts and vrrpd
// becomes backup, again without a priority 0 from vrrpd.
func TestReloadChangesPriorityInPlace(t *testing.T) {
	t.Parallel()
	needKeepalived(t)
	lab := netlab.New(t, 2)
	capture := lab.Capture()
	savePcap(t, capture)
	ld := newLabDaemon(t, lab)
	h1, h2 := lab.Host(1), lab.Host(2)
	vdir := t.TempDir()
	vrids := map[string]int{"VI_1": 85}

	k := ld.keepalived(h2, reloadConf(h2, 100, "", "", vrids))
	v := ld.vrrpd(h1, vdir, reloadConf(h1, 200, "", "", vrids))
	v.awaitStatus("VI_1 master", inState("VI_1", "MASTER"))
	k.await(0, `\(VI_1\) Entering BACKUP STATE`)

	reload := func(prio int) (vmark, kmark int, at time.Time) {
		vmark, kmark = v.log.mark(), k.log.mark()
		writeConf(t, vdir, "vrrpd.conf", reloadConf(h1, prio, "", "", vrids))
		at = time.Now()
		if err := v.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		v.await(vmark, `Reload finished`)
		return vmark, kmark, at
	}
	noZeroSince := func(at time.Time) {
		t.Helper()
		for _, w := range wireFrames(capture) {
			if w.vrrp && w.vrid == 85 && w.priority == 0 && bytes.Equal(w.srcMAC, h1.MAC) && w.time.After(at) {
				t.Errorf("vrrpd sent priority 0 at %s, after the reload at %s", w.time.Format(time.StampMicro), at.Format(time.StampMicro))
			}
		}
	}

	vmark, kmark, at := reload(150)
	v.await(vmark, `\(VI_1\) base priority changed without a transition to 150`)
	first := awaitPriorityAdvert(t, capture, h1.MAC, 85, 150, at)
	t.Logf("the first advert at 150 went out %v after the SIGHUP", first.time.Sub(at))
	// A few more intervals: a restart would have shown by now.
	awaitFirstAdvert(t, capture, h1.MAC, 85, first.time.Add(500*time.Millisecond))
	if l := v.log.grep(vmark, regexp.MustCompile(`\(VI_1\) (Entering|Stopped|stopping)`)); len(l) > 0 {
		t.Errorf("VI_1 restarted or changed state: %q", l)
	}
	if l := k.log.grep(kmark, regexp.MustCompile(`Entering`)); len(l) > 0 {
		t.Errorf("keepalived changed state: %q", l)
	}
	noZeroSince(at)
	if in := instanceStatus(v.status(), "VI_1"); in == nil || in.State != "MASTER" || in.BasePriority != 150 || in.Priority != 150 {
		t.Errorf("status after the reload: %+v", in)
	}

	_, kmark, at = reload(50)
	k.await(kmark, `\(VI_1\) Entering MASTER STATE`)
	v.awaitStatus("VI_1 backup", inState("VI_1", "BACKUP"))
	noZeroSince(at)
	v.terminate()
}
