package main

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/internal/kalab"
)

var rewriteKeywords = flag.Bool("rewrite-keywords", false, "rewrite testdata/keepalived-2.4.3-keywords.txt from keepalived 2.4.3's manual")

// keywordRow is one row of the keyword table in doc.go.
type keywordRow struct {
	context, keyword, status, note string
}

// keywordTable reads the table of "# keepalived.conf(5), keyword by
// keyword" in doc.go.
func keywordTable(t *testing.T) []keywordRow {
	t.Helper()
	f, err := os.Open("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile(`^//\t  (\S+)\s+([=~-])(?:\s+(.*))?$`)
	header := regexp.MustCompile(`^//\t(\S.*)$`)
	var out []keywordRow
	in, ctx := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "// # "):
			in = strings.Contains(l, "keyword by keyword")
		case !in:
		case header.MatchString(l):
			ctx = header.FindStringSubmatch(l)[1]
		case row.MatchString(l):
			m := row.FindStringSubmatch(l)
			out = append(out, keywordRow{ctx, m[1], m[2], m[3]})
		}
	}
	if len(out) < 100 {
		t.Fatalf("the keyword table has %d rows", len(out))
	}
	return out
}

// manContexts says where in the table the keywords of a section of
// keepalived.conf(5) are (the blocks themselves are in "top level").
var manContexts = map[string][]string{
	"Global definitions":            {"global_defs"},
	"Linkbeat interfaces":           {"top level"},
	"Static track groups":           {"top level", "track_group"},
	"Static routes/addresses/rules": {"top level"},
	"Track files":                   {"top level", "track_file"},
	"VRRP track processes":          {"top level", "vrrp_track_process"},
	"VRRP script(s)":                {"top level", "vrrp_script"},
	"VRRP synchronization group(s)": {"top level", "vrrp_sync_group"},
	"VRRP instance(s)":              {"top level", "vrrp_instance", "authentication", "auth_hmac"},
	"VRRP gratuitous ARP and unsolicited neighbour advert delay group(s)": {"top level", "garp_group"},
}

// manKeywords extracts the keywords of the VRRP part of keepalived.conf(5):
// the bold words starting the lines of its examples, by section.
func manKeywords(roff string) map[string][]string {
	out := make(map[string][]string)
	bold := regexp.MustCompile(`^\\fB([a-z][a-z0-9_\-]*)`)
	sec, nf := "", false
	for _, l := range strings.Split(roff, "\n") {
		switch {
		case strings.HasPrefix(l, ".SH"):
			sec = strings.Trim(strings.TrimSpace(l[3:]), `"`)
		case strings.HasPrefix(l, ".nf"):
			nf = true
		case strings.HasPrefix(l, ".fi"):
			nf = false
		case nf && manContexts[sec] != nil:
			if m := bold.FindStringSubmatch(strings.TrimSpace(strings.ReplaceAll(l, `\-`, "-"))); m != nil && !slices.Contains(out[sec], m[1]) {
				out[sec] = append(out[sec], m[1])
			}
		}
	}
	// In the manual, but not in bold.
	out["VRRP track processes"] = append(out["VRRP track processes"], "param_match")
	out["Linkbeat interfaces"] = append(out["Linkbeat interfaces"], "interface_up_down_delays")
	return out
}

func formatManKeywords(m map[string][]string) string {
	secs := make([]string, 0, len(m))
	for s := range m {
		secs = append(secs, s)
	}
	sort.Strings(secs)
	var b strings.Builder
	for _, s := range secs {
		b.WriteString(s + ":\n")
		for _, k := range m[s] {
			b.WriteString("\t" + k + "\n")
		}
	}
	return b.String()
}

func parseManKeywords(text string) map[string][]string {
	m := make(map[string][]string)
	sec := ""
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasSuffix(l, ":") && !strings.HasPrefix(l, "\t"):
			sec = strings.TrimSuffix(l, ":")
		case strings.HasPrefix(l, "\t"):
			m[sec] = append(m[sec], l[1:])
		}
	}
	return m
}

const manKeywordsFile = "testdata/keepalived-2.4.3-keywords.txt"

// TestKeywordTableCoversTheManual: every VRRP keyword of keepalived
// 2.4.3's keepalived.conf(5) (the list in testdata, checked against the
// manual itself where keepalived 2.4.3 is unpacked) has its row in the
// table of doc.go.
func TestKeywordTableCoversTheManual(t *testing.T) {
	raw, err := os.ReadFile(manKeywordsFile)
	if err != nil && !*rewriteKeywords {
		t.Fatal(err)
	}
	listed := parseManKeywords(string(raw))
	if bin := os.Getenv(kalab.EnvBinary); bin != "" {
		man := filepath.Join(filepath.Dir(filepath.Dir(bin)), "share", "man", "man5", "keepalived.conf.5")
		roff, err := os.ReadFile(man)
		if err != nil {
			t.Fatalf("keepalived 2.4.3's manual: %v", err)
		}
		got := formatManKeywords(manKeywords(string(roff)))
		if *rewriteKeywords {
			if err := os.WriteFile(manKeywordsFile, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			listed = parseManKeywords(got)
		} else if got != string(raw) {
			t.Errorf("%s is not the manual's list (at %s): run with -rewrite-keywords", manKeywordsFile, man)
		}
	}
	rows := make(map[string]bool)
	for _, r := range keywordTable(t) {
		rows[r.context+" "+r.keyword] = true
	}
	for sec, kws := range listed {
		ctxs := manContexts[sec]
		if ctxs == nil {
			t.Errorf("manual section %q has no place in the table", sec)
			continue
		}
		for _, k := range kws {
			found := rows["top level "+k]
			for _, c := range ctxs {
				found = found || rows[c+" "+k]
			}
			if !found {
				t.Errorf("keepalived.conf(5) %q: %s has no row in doc.go's table (under %v)", sec, k, ctxs)
			}
		}
	}
}

// wrapKeyword puts a keyword line in a configuration of its context.
func wrapKeyword(context, line string) (string, bool) {
	inst := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.100/24\n }\n"
	switch context {
	case "top level":
		return line + "\n" + inst + "}\n", true
	case "global_defs":
		return "global_defs {\n " + line + "\n}\n" + inst + "}\n", true
	case "vrrp_instance":
		return inst + " " + line + "\n}\n", true
	case "vrrp_sync_group":
		return "vrrp_sync_group G {\n group {\n  VI_1\n }\n " + line + "\n}\n" + inst + "}\n", true
	case "vrrp_script":
		return "vrrp_script S {\n script \"/bin/true\"\n " + line + "\n}\n" + inst + " track_script {\n  S\n }\n}\n", true
	case "vrrp_track_process":
		return "vrrp_track_process P {\n process sshd\n " + line + "\n}\n" + inst + " track_process {\n  P\n }\n}\n", true
	case "track_file":
		return "track_file F {\n file /run/f\n " + line + "\n}\n" + inst + " track_file {\n  F\n }\n}\n", true
	}
	return "", false
}

// TestNoKeywordIsSilentlyIgnored: what the table calls not supported
// draws a warning or an error naming the keyword when it is written;
// what it calls supported is never "unknown" or "not supported".
func TestNoKeywordIsSilentlyIgnored(t *testing.T) {
	for _, r := range keywordTable(t) {
		src, ok := wrapKeyword(r.context, r.keyword)
		if !ok {
			continue
		}
		cfg, err := kaconf.Parse("k.conf", []byte(src), nil)
		var errs, said []string
		if err != nil {
			errs = strings.Split(err.Error(), "\n")
		}
		said = append(said, errs...)
		if cfg != nil {
			for _, w := range cfg.Warnings {
				said = append(said, w.String())
			}
		}
		about := func(words ...string) bool {
			for _, s := range said {
				if strings.Contains(s, ": "+r.keyword+": ") {
					for _, w := range words {
						if strings.Contains(s, w) {
							return true
						}
					}
				}
			}
			return false
		}
		switch r.status {
		case "-":
			refused := false
			for _, e := range errs {
				refused = refused || strings.Contains(e, ": "+r.keyword+": ")
			}
			if !refused && !about("not supported", "ignored", "unknown keyword") {
				t.Errorf("%s %s is not supported, yet written alone it draws no warning or error saying so: %q", r.context, r.keyword, said)
			}
		default:
			if about("unknown keyword", "not supported by vrrpd") {
				t.Errorf("%s %s is supported, yet: %q", r.context, r.keyword, said)
			}
		}
	}
}
