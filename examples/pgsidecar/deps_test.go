package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreLinksNoPostgresDriver: a program that imports only the
// library's core packages links no Postgres code; the driver is this
// example's own dependency.
func TestCoreLinksNoPostgresDriver(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	core := []string{"advert", "auth", "vrrp", "vip", "health"}
	args := []string{"list", "-deps"}
	for _, p := range core {
		args = append(args, "github.com/vrrpkit/vrrpkit/"+p)
	}
	out, err := exec.Command(goTool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %v", deps)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/jackc/") || strings.Contains(d, "pgx") || strings.Contains(d, "lib/pq") {
			t.Errorf("a core package depends on %s", d)
		}
	}
}
