package cloud

import (
	"os/exec"
	"strings"
	"testing"
)

// Heavy dependencies the core packages must not link: a program that
// imports only them gets none of these.
var heavy = []string{
	"github.com/aws/",
	"cloud.google.com/go",
	"google.golang.org/api",
	"google.golang.org/grpc",
	"github.com/hetznercloud/",
	"github.com/gophercloud/",
	"github.com/Azure/",
	"github.com/prometheus/",
	"github.com/jackc/",
	"github.com/lib/pq",
}

func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command: %v", err)
	}
	cmd := exec.Command(gobin, append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func heavyIn(list []string) []string {
	var out []string
	for _, p := range list {
		for _, h := range heavy {
			if strings.HasPrefix(p, h) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func TestCorePackagesLinkNoCloudSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	core := []string{"./vrrp", "./vrrp/vrrptest", "./vip", "./vip/cloud", "./health/...", "./advert/...", "./auth/..."}
	if bad := heavyIn(deps(t, core...)); len(bad) > 0 {
		t.Errorf("the core packages link %s", strings.Join(bad, ", "))
	}
	// vip/hetzner speaks its API with net/http: no SDK either.
	if bad := heavyIn(deps(t, "./vip/hetzner")); len(bad) > 0 {
		t.Errorf("vip/hetzner links %s", strings.Join(bad, ", "))
	}
	// The check sees an SDK where there is one.
	if got := heavyIn(deps(t, "./vip/aws")); len(got) == 0 {
		t.Error("vip/aws links no AWS SDK package: the check is blind")
	}
}
