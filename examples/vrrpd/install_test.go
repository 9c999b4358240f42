package main

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestGoInstallLatestFromACleanGOPATH: `go install
// github.com/vrrpkit/vrrpkit/examples/vrrpd@latest` works for someone who
// has nothing but Go: the module as a proxy would serve it (this work
// tree, zipped as v0.1.0), every dependency from a module proxy (the local
// module cache, which has that layout), a GOPATH of its own. A replace
// directive, a dependency on something outside the module or a file that
// does not survive zipping breaks it. The installed vrrpd says its
// version.
func TestGoInstallLatestFromACleanGOPATH(t *testing.T) {
	if os.Getenv("VRRPKIT_TEST_INSTALL") != "1" && os.Getenv(netlab.RequireEnv) != "1" {
		t.Skip("builds vrrpd from a fresh module cache (a minute); set VRRPKIT_TEST_INSTALL=1 to run it")
	}
	if raceEnabled && os.Getenv("VRRPKIT_TEST_INSTALL") != "1" {
		// go install is no race: a minute and a half of compiling, which
		// under -race would only crowd the labs. .ci/run runs this test in
		// its pass without -race, with VRRPKIT_TEST_INSTALL=1.
		t.Skip("go install is built without -race: run it without -race, or with VRRPKIT_TEST_INSTALL=1")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(gomod), "\nreplace ") || strings.Contains(string(gomod), "\nreplace(") {
		t.Error("go.mod has a replace directive: go install module@version refuses such a module")
	}
	cache, err := exec.Command(gobin, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}

	const mod, ver = "github.com/vrrpkit/vrrpkit", "v0.1.0"
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "proxy", mod, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("list", []byte(ver+"\n"))
	write(ver+".info", []byte(`{"Version":"`+ver+`","Time":"`+time.Now().UTC().Format(time.RFC3339)+`"}`))
	write(ver+".mod", gomod)
	zipModule(t, root, mod+"@"+ver, filepath.Join(dir, ver+".zip"))

	gopath := filepath.Join(tmp, "gopath")
	// The new module cache is read-only: go clean removes it (and only it:
	// GOMODCACHE names it) before TempDir's cleanup.
	t.Cleanup(func() {
		c := exec.Command(gobin, "clean", "-modcache")
		c.Env = append(os.Environ(), "GOPATH="+gopath, "GOMODCACHE="+filepath.Join(gopath, "pkg", "mod"))
		_ = c.Run()
	})
	cmd := exec.Command(gobin, "install", mod+"/examples/vrrpd@latest")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(),
		"GOPATH="+gopath, "GOMODCACHE="+filepath.Join(gopath, "pkg", "mod"), "GOBIN="+filepath.Join(tmp, "bin"),
		"GOPROXY=file://"+filepath.Join(tmp, "proxy")+",file://"+filepath.Join(strings.TrimSpace(string(cache)), "cache", "download"),
		"GOSUMDB=off", "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/examples/vrrpd@latest: %v\n%s", mod, err, out)
	}
	out, err := exec.Command(filepath.Join(tmp, "bin", "vrrpd"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "vrrpd "+ver+" (vrrpkit") {
		t.Errorf("installed vrrpd --version: %v: %q, want vrrpd %s (vrrpkit...", err, out, ver)
	}
}

// zipModule writes the module at root as the go command's module zip:
// every regular file under root except VCS metadata and nested modules,
// named prefix/path.
func zipModule(t *testing.T, root, prefix, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == ".hg" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		w, err := zw.Create(prefix + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}
