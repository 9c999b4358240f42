package vrrpprom

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom/promtext"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden")

// TestMetricNamesAreGolden: the names, types and labels the collector
// exports are those of testdata/metrics.golden. Renaming a metric breaks
// dashboards and alerts: when it is meant, rewrite the list with
// -update and say so in the changelog.
func TestMetricNamesAreGolden(t *testing.T) {
	obs := NewObserver()
	p := newPair(t, obs)
	obs.Takeover(p.r1, time.Second)
	obs.BackendDone(p.r1, "acquire", time.Millisecond, nil)
	p.c1.opts.Scripts = func() []Script { return []Script{{Name: "chk"}} }
	got := goldenLines(scrape(t, p.c1))

	path := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("exported metrics differ from %s (rewrite with -update if meant):\ngot:\n%s\nwant:\n%s",
			path, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every metric the collector describes is exported by that scrape.
	if len(got) != len(promtext.Defs) {
		t.Errorf("the scrape exported %d metrics, the collector describes %d", len(got), len(promtext.Defs))
	}
}

// goldenLines is "name type label,label" for each metric family.
func goldenLines(mfs map[string]*dto.MetricFamily) []string {
	var out []string
	for name, mf := range mfs {
		var labels []string
		if ms := mf.GetMetric(); len(ms) > 0 {
			for _, lp := range ms[0].GetLabel() {
				labels = append(labels, lp.GetName())
			}
		}
		out = append(out, strings.TrimSpace(name+" "+strings.ToLower(mf.GetType().String())+" "+strings.Join(labels, ",")))
	}
	slices.Sort(out)
	return out
}

// TestEveryMetricIsDocumented: the package documentation names every
// metric in the golden list.
func TestEveryMetricIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "metrics.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		name := strings.Fields(line)[0]
		if !strings.Contains(string(doc), name) {
			t.Errorf("doc.go does not document %s", name)
		}
	}
}

// TestCoreDoesNotLinkPrometheus: the library's core packages stay free
// of the Prometheus client; only this adapter links it. So do promtext
// and vrrpd, which serves the text format itself: the client and its
// protobuf code cost vrrpd a third more resident memory.
func TestCoreDoesNotLinkPrometheus(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to list the imports with: %v", err)
	}
	core := []string{"advert", "auth", "vrrp", "vip", "health", "health/httpcheck", "vrrp/vrrptest",
		"vrrp/vrrpprom/promtext", "examples/vrrpd", "examples/httpvip"}
	args := []string{"list", "-deps"}
	for _, p := range core {
		args = append(args, "github.com/vrrpkit/vrrpkit/"+p)
	}
	out, err := exec.Command(gobin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/vrrpkit/vrrpkit/vrrp") {
		t.Fatalf("go list -deps did not list the core: %s", out)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/prometheus/") || d == "github.com/vrrpkit/vrrpkit/vrrp/vrrpprom" {
			t.Errorf("the core links %s", d)
		}
	}
}
