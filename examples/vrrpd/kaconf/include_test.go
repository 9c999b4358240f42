package kaconf

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// countingFS counts how often each file's contents are read.
type countingFS struct {
	fstest.MapFS
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingFS) ReadFile(name string) ([]byte, error) {
	c.mu.Lock()
	if c.reads == nil {
		c.reads = map[string]int{}
	}
	c.reads[name]++
	c.mu.Unlock()
	return c.MapFS.ReadFile(name)
}

func (c *countingFS) Open(name string) (fs.File, error) { return c.MapFS.Open(name) }

func (c *countingFS) total() int {
	n := 0
	for _, r := range c.reads {
		n += r
	}
	return n
}

// Seven files whose globs include each other are read once each, and the
// cycles are reported a bounded number of times (each file's include
// line names each file that is being read when it runs), instead of once
// per permutation of the files (7! × e reads, tens of thousands of
// diagnostics).
func TestIncludeGlobsThatIncludeEachOtherAreReadOnce(t *testing.T) {
	const n = 7
	fsys := &countingFS{MapFS: fstest.MapFS{}}
	for i := range n {
		fsys.MapFS[fmt.Sprintf("etc/conf.d/%c.conf", 'a'+i)] = &fstest.MapFile{Data: []byte("include *.conf\n")}
	}
	_, err := Parse("/etc/k.conf", []byte("include conf.d/*.conf\n"), &Options{FS: fsys, ConfigID: "x"})
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("Parse = %v, want the cycles reported", err)
	}
	for name, r := range fsys.reads {
		if r != 1 {
			t.Errorf("%s read %d times", name, r)
		}
	}
	if len(fsys.reads) != n {
		t.Errorf("%d files read, want %d", len(fsys.reads), n)
	}
	if got, max := len(e.Errors)+len(e.Warnings), n*(n+1)/2; got == 0 || got > max {
		t.Errorf("%d diagnostics, want 1..%d:\n%v\nwarnings: %v", got, max, e, e.Warnings)
	}
	if !strings.Contains(e.Error(), "a.conf includes itself") {
		t.Errorf("the cycle is not named:\n%v", e)
	}
}

// A file included from several places is read in at each (keepalived's
// include is textual), from one read of the file system.
func TestIncludeOfOneFileInTwoBlocks(t *testing.T) {
	fsys := &countingFS{MapFS: fstest.MapFS{
		"etc/common.conf": {Data: []byte("interface eth0\nadvert_int 3\n")},
	}}
	src := "vrrp_instance A {\n include common.conf\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n" +
		"vrrp_instance B {\n include common.conf\n virtual_router_id 2\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n"
	cfg, err := Parse("/etc/k.conf", []byte(src), &Options{FS: fsys, ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range cfg.Instances {
		if in.Interface != "eth0" || in.AdvertInterval.Seconds() != 3 {
			t.Errorf("%s: interface %q advert_int %v: the include is missing", in.Name, in.Interface, in.AdvertInterval)
		}
	}
	if got := fsys.reads["etc/common.conf"]; got != 1 {
		t.Errorf("common.conf read %d times from the file system", got)
	}
}

// Files that each include the next one twice, 14 deep, would be read in
// 2^14 times: the load stops at maxIncludedFiles with an error.
func TestIncludeExpansionIsBounded(t *testing.T) {
	const depth = 14
	fsys := &countingFS{MapFS: fstest.MapFS{}}
	for i := range depth {
		fsys.MapFS[fmt.Sprintf("etc/f%d.conf", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("include f%d.conf\ninclude f%d.conf\n", i+1, i+1))}
	}
	fsys.MapFS[fmt.Sprintf("etc/f%d.conf", depth)] = &fstest.MapFile{Data: []byte("router_id r\n")}
	d := &diags{}
	s := newSource(fsys, "x", testEnv, d)
	s.readFile("etc/k.conf", "k.conf", []byte("include f0.conf\n"))
	read := 0
	for _, st := range s.stmts {
		if st.words[0] == "router_id" {
			read++
		}
	}
	if read > maxIncludedFiles || read == 0 {
		t.Errorf("the innermost file was read in %d times, want 1..%d", read, maxIncludedFiles)
	}
	if len(d.errs) != 1 || !strings.Contains(d.errs[0].Msg, "more than 10000 files") {
		t.Errorf("errors %v", d.errs)
	}
	if fsys.total() != depth+1 {
		t.Errorf("%d reads of the file system for %d files", fsys.total(), depth+1)
	}
}
