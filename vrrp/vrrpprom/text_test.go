package vrrpprom

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vrrpkit/vrrpkit/vrrp/vrrpprom/promtext"
)

// TestTextIsWhatTheClientExports: promtext's own text output, read back
// by Prometheus' parser, is what the Collector hands the Prometheus
// client: the same families, series, labels, values and buckets.
func TestTextIsWhatTheClientExports(t *testing.T) {
	obs := NewObserver()
	p := newPair(t, obs)
	obs.Takeover(p.r1, 150*time.Millisecond)
	obs.BackendDone(p.r1, "acquire", 3*time.Millisecond, nil)
	scripts := func() []Script { return []Script{{Name: `chk "quoted" \ and` + "\nnewline", Good: true}} }
	opts := &Options{Observer: obs, Scripts: scripts}

	var b bytes.Buffer
	if err := promtext.WriteText(&b, promtext.Gather(promtext.NodeOf(p.n1), opts)); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("Prometheus' parser refuses the text: %v\n%s", err, b.String())
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(p.n1, opts))
	gathered, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(parsed) != len(gathered) {
		t.Errorf("%d families in the text, %d through the client", len(parsed), len(gathered))
	}
	for _, want := range gathered {
		got := parsed[want.GetName()]
		if got == nil {
			t.Errorf("the text lacks %s", want.GetName())
			continue
		}
		if g, w := canonical(got), canonical(want); g != w {
			t.Errorf("%s differs:\ntext:\n%s\nclient:\n%s", want.GetName(), g, w)
		}
	}
}

// canonical is a family as text with its series and labels sorted.
func canonical(mf *dto.MetricFamily) string {
	var lines []string
	var b bytes.Buffer
	_, _ = expfmt.MetricFamilyToText(&b, mf)
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, sortLabels(l))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// sortLabels puts a sample line's labels in name order.
func sortLabels(line string) string {
	i, j := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
	if i < 0 || j < i {
		return line
	}
	var pairs []string
	rest := line[i+1 : j]
	for rest != "" {
		k, v, _ := strings.Cut(rest, `="`)
		// the value ends at the first unescaped quote
		end := 0
		for end < len(v) && !(v[end] == '"' && (end == 0 || v[end-1] != '\\')) {
			end++
		}
		pairs = append(pairs, k+`="`+v[:end]+`"`)
		rest = strings.TrimPrefix(v[min(end+1, len(v)):], ",")
	}
	slices.Sort(pairs)
	return line[:i+1] + strings.Join(pairs, ",") + line[j:]
}
