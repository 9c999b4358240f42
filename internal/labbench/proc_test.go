package labbench

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestStatTimesReadsFields14And15(t *testing.T) {
	for _, c := range []struct {
		name, line   string
		utime, stime uint64
	}{
		// A keepalived VRRP child's line as the kernel writes it:
		// utime 1234 (field 14), stime 5678 (field 15).
		{"plain", "4242 (keepalived) S 4241 4241 4241 0 -1 4194624 1021 0 0 0 1234 5678 0 0 20 0 1 0 70000 9000000 900 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", 1234, 5678},
		// A command may hold spaces and parentheses: fields are
		// counted from the last ')'.
		{"odd command", "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 11 22 33 44 20 0 1 0 5", 11, 22},
	} {
		u, s, err := statTimes([]byte(c.line))
		if err != nil || u != c.utime || s != c.stime {
			t.Errorf("%s: statTimes = %d, %d, %v; want %d, %d", c.name, u, s, err, c.utime, c.stime)
		}
	}
	for _, bad := range []string{
		"",
		"1 keepalived S 1 2 3",              // no parenthesised command
		"1 (x) S 1 1 1 0 -1 0 0 0 0 0 12",   // ends before stime
		"1 (x) S 1 1 1 0 -1 0 0 0 0 0 u7 8", // utime not a number
	} {
		if u, s, err := statTimes([]byte(bad)); err == nil {
			t.Errorf("statTimes(%q) = %d, %d, nil; want an error", bad, u, s)
		}
	}
}

func TestStatTimesParsesThisProcess(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if _, _, err := statTimes(b); err != nil {
		t.Errorf("statTimes(/proc/self/stat %q): %v", strings.TrimSpace(string(b)), err)
	}
}

// This test process: an RSS, of which a part but not all is anonymous (a
// Go test binary's text is file-backed), and 64 MB more anonymous memory
// in use show in both. (Its group also holds the other packages' test
// binaries, which come and go.)
func TestRSSSplitsOutTheAnonymousPart(t *testing.T) {
	before, anonBefore := procRSS(os.Getpid())
	if before <= 0 || anonBefore <= 0 || anonBefore >= before {
		t.Fatalf("rss = %d, anon %d: want 0 < anon < rss", before, anonBefore)
	}
	// Fresh pages outside Go's heap, which may hold free memory already
	// resident.
	ballast, err := syscall.Mmap(-1, 0, 64<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(ballast)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	after, anonAfter := procRSS(os.Getpid())
	if anonAfter-anonBefore < 60<<20 || after-before < 60<<20 {
		t.Errorf("touching 64 MB: rss %d → %d, anon %d → %d", before, after, anonBefore, anonAfter)
	}
	if r, a, err := rss(syscall.Getpgrp()); err != nil || r < 64<<20 || a < 64<<20 {
		t.Errorf("rss of the group = %d, anon %d, %v: want this process's 64 MB at least", r, a, err)
	}
}
