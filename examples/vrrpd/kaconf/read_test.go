package kaconf

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// statements runs the reader alone over src (file k.conf in fsys) and
// returns each statement's words joined by '|', and the diagnostics.
func statements(t *testing.T, src string, fsys fstest.MapFS, configID string) ([]string, *diags) {
	t.Helper()
	if fsys == nil {
		fsys = fstest.MapFS{}
	}
	d := &diags{}
	s := newSource(fsys, configID, testEnv, d)
	s.readFile("etc/k.conf", "k.conf", []byte(src))
	var out []string
	for _, st := range s.stmts {
		out = append(out, strings.Join(st.words, "|"))
	}
	return out, d
}

func TestDecomment(t *testing.T) {
	for _, tc := range []struct {
		line, text         string
		cont, unterminated bool
	}{
		{"  router_id probe   ! trailing bang comment", "router_id probe", false, false},
		{"priority 100 # comment", "priority 100", false, false},
		{`script "/bin/echo a#b !c"  # real comment`, `script "/bin/echo a#b !c"`, false, false},
		// Single quotes do not protect comment characters.
		{`script '/bin/echo p#q'`, `script '/bin/echo p`, false, false},
		{`auth_pass ab\#cd\!`, `auth_pass ab#cd!`, false, false},
		{`auth_pass "ab\#cd"`, `auth_pass "ab\#cd"`, false, false},
		{`x\\y`, `x\\y`, false, false},
		{`$X=1 \`, `$X=1\`, true, false},
		// A backslash ending the line, even inside a comment, is kept.
		{`x # y \`, `x\`, true, false},
		{`notify "/x.sh`, `notify "/x.sh`, false, true},
		{`notify "/x.sh \"`, `notify "/x.sh \"`, false, true},
		{"#only a comment", "", false, false},
		{"\t!", "", false, false},
	} {
		text, cont, unterm := decomment(tc.line)
		if text != tc.text || cont != tc.cont || unterm != tc.unterminated {
			t.Errorf("decomment(%q) = %q, %v, %v; want %q, %v, %v", tc.line, text, cont, unterm, tc.text, tc.cont, tc.unterminated)
		}
	}
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`a  "b c"	d`, []string{"a", "b c", "d"}, true},
		{`abc"def ghi" j`, []string{"abc", "def ghi", "j"}, true},
		{`""`, []string{""}, true},
		{`a "b`, []string{"a"}, false},
		{`'a b'`, []string{"'a", "b'"}, true},
	} {
		got, ok := splitWords(tc.in)
		if !reflect.DeepEqual(got, tc.want) || ok != tc.ok {
			t.Errorf("splitWords(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// The quoting examples of keepalived.conf(5) ("Quoted strings") and the
// escapes it lists.
func TestSplitQuoted(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{`abcd" efg h jkl "mnop`, []string{"abcd efg h jkl mnop"}, ""},
		{`abcd "efg h jkl" mnop`, []string{"abcd", "efg h jkl", "mnop"}, ""},
		{`/etc/notify.sh arg1 'two words'`, []string{"/etc/notify.sh", "arg1", "two words"}, ""},
		{`"it's" 'say "hi"'`, []string{"it's", `say "hi"`}, ""},
		{`\a\b\E\f\n\r\t\v`, []string{"\a\b\x1b\f\n\r\t\v"}, ""},
		{`\101\x42\cC\q\\`, []string{"AB\x03q\\"}, ""},
		// Escapes work inside single quotes too, unlike a shell.
		{`'a\tb'`, []string{"a\tb"}, ""},
		// \x takes every hex digit that follows, wrapping at 8 bits.
		{`\x4142`, []string{"B"}, ""},
		// Octal takes at most three digits.
		{`\1012`, []string{"A2"}, ""},
		// An escaped NUL ends the word, as in C.
		{`ab\0cd e`, []string{"ab", "e"}, ""},
		{`'' x`, []string{"", "x"}, ""},
		{`'abc`, nil, "missing terminating '"},
		{`abc\`, nil, "escape character at the end of the line"},
	} {
		got, err := splitQuoted(tc.in)
		if !reflect.DeepEqual(got, tc.want) || err != tc.err {
			t.Errorf("splitQuoted(%q) = %q, %q; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestBracesSplitLines(t *testing.T) {
	src := `vrrp_instance VI_1 { state MASTER
virtual_ipaddress { 10.0.0.1/24 10.0.0.2 }
} vrrp_instance VI_2
{
track_script { "chk {x}" }}
`
	got, d := statements(t, src, nil, "")
	want := []string{
		"vrrp_instance|VI_1", "{", "state|MASTER",
		"virtual_ipaddress", "{", "10.0.0.1/24|10.0.0.2", "}",
		"}", "vrrp_instance|VI_2",
		"{",
		"track_script", "{", "chk {x}", "}", "}",
	}
	if !reflect.DeepEqual(got, want) || len(d.errs) > 0 {
		t.Errorf("statements = %q, errors %v\nwant %q", got, d.errs, want)
	}
}

func TestConditionalLines(t *testing.T) {
	src := `@node1 priority 150
@node2 priority 100
@^node1 unicast_src_ip 10.0.0.2
@^node2 unicast_src_ip 10.0.0.1
@node1
@node1	  state   MASTER
`
	got, _ := statements(t, src, nil, "node1")
	want := []string{"priority|150", "unicast_src_ip|10.0.0.1", "state|MASTER"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statements = %q, want %q", got, want)
	}
}

// keepalived.conf(5), "Parameter substitution".
func TestParameterSubstitution(t *testing.T) {
	src := `$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}
$ADDRESS_BASE_SUB=0
${ADDRESS_BASE}.100/32
$ADDRESS_BASE_SUB=10
${ADDRESS_BASE}.100/32
$PRIO=240
priority $PRIO
$EMPTY=
a${EMPTY}b
notify "/x.sh $1 ${UNDEFINED} $PRIOx"
$IF_MAIN=@node1
$IF_MAIN router_id main
$IF_OTHER=@other
$IF_OTHER router_id other
echo ${_HASH}${_BANG} ${_PWD} ${_INSTANCE}
$R=$R
$R
`
	got, d := statements(t, src, nil, "node1")
	want := []string{
		"10.2.0.100/32", "10.2.10.100/32", "priority|240", "ab",
		"notify|/x.sh $1 ${UNDEFINED} $PRIOx",
		"router_id|main",
		"echo|#!|/etc|node1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statements = %q\nwant %q", got, want)
	}
	if len(d.errs) != 1 || !strings.Contains(d.errs[0].String(), "k.conf:17: $R: parameter substitution does not terminate") {
		t.Errorf("errors = %v, want one about $R at line 17", d.errs)
	}
}

func TestMultilineDefinition(t *testing.T) {
	src := `$INSTANCE= \
vrrp_instance VI_${NUM} { \
    interface eth0 \
    virtual_router_id ${NUM} \
}

$NUM=7
$INSTANCE
x $INSTANCE y
`
	got, d := statements(t, src, nil, "")
	want := []string{"vrrp_instance|VI_7", "{", "interface|eth0", "virtual_router_id|7", "}", "x|$INSTANCE|y"}
	if !reflect.DeepEqual(got, want) || len(d.errs) > 0 {
		t.Errorf("statements = %q, errors %v\nwant %q", got, d.errs, want)
	}
}

func TestUnsupportedPreprocessing(t *testing.T) {
	src := "~SEQ(N, 1, 3) ip_address 10.0.${N}.1\nvalue ${_RANDOM 1 10}\npriority 100 \\\n"
	_, d := statements(t, src, nil, "")
	var got []string
	for _, e := range d.errs {
		got = append(got, e.String())
	}
	want := []string{
		"k.conf:1: ~SEQ: keepalived's sequence and list blocks are not supported by vrrpd: write the lines out",
		"k.conf:2: ${_RANDOM}: random values are not supported by vrrpd: the configuration would differ at each reload",
		`k.conf:3: priority: '\' at the end of a line continues only $NAME= definitions; keepalived 2.2.7 misreads this line`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLongLine(t *testing.T) {
	_, d := statements(t, "router_id "+strings.Repeat("a", 1014)+"\n", nil, "")
	if len(d.errs) != 1 || d.errs[0].String() != "k.conf:1: line is 1024 bytes long; keepalived reads at most 1023 and would cut it in two" {
		t.Errorf("errors = %v", d.errs)
	}
}

// keepalived.conf(5): "any relative paths included from a file are
// relative to the directory of the including file itself"; globs and csh
// braces; plain include of nothing only warns.
func TestInclude(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/conf.d/a.conf":       {Data: []byte("a1\ninclude ../sub/{x,y}.inc\n")},
		"etc/conf.d/b.conf":       {Data: []byte("b1\n")},
		"etc/conf.d/.hidden.conf": {Data: []byte("hidden\n")},
		"etc/conf.d/c.conf.bak":   {Data: []byte("bak\n")},
		"etc/conf.d/exec.conf":    {Data: []byte("exec\n"), Mode: 0o755},
		"etc/sub/x.inc":           {Data: []byte("x1 {\n")},
		"etc/sub/y.inc":           {Data: []byte("} y1\n")},
		"abs/z.conf":              {Data: []byte("z1\n")},
	}
	src := "top\ninclude conf.d/*.conf\ninclude /abs/z.conf\ninclude nothing/*.conf\nincludea missing.conf\n"
	got, d := statements(t, src, fsys, "")
	want := []string{"top", "a1", "x1", "{", "}", "y1", "b1", "z1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statements = %q, want %q", got, want)
	}
	var warns, errs []string
	for _, w := range d.warns {
		warns = append(warns, w.String())
	}
	for _, e := range d.errs {
		errs = append(errs, e.String())
	}
	wantWarns := []string{
		"k.conf:2: include: conf.d/exec.conf is not a regular non-executable file: skipped, as keepalived does",
		`k.conf:4: include: no file matches "nothing/*.conf"`,
	}
	wantErrs := []string{`k.conf:5: includea: no file matches "missing.conf"`}
	if !reflect.DeepEqual(warns, wantWarns) || !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("warnings:\n%s\nerrors:\n%s", strings.Join(warns, "\n"), strings.Join(errs, "\n"))
	}
}

func TestIncludeCycleAndPositions(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/a.conf": {Data: []byte("\ninclude b.conf\n")},
		"etc/b.conf": {Data: []byte("include a.conf\nbad \"quote\n")},
	}
	_, d := statements(t, "include a.conf\n", fsys, "")
	var errs []string
	for _, e := range d.errs {
		errs = append(errs, e.String())
	}
	want := []string{
		"b.conf:1: include: a.conf includes itself",
		"b.conf:2: bad: unterminated quote",
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"))
	}
}

func TestExpandBraces(t *testing.T) {
	got, ok := expandBraces("a{b,c{d,e}}f{,g}")
	want := []string{"abf", "abfg", "acdf", "acdfg", "acef", "acefg"}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("expandBraces = %q, %v; want %q", got, ok, want)
	}
	if got, _ := expandBraces("x{y"); !reflect.DeepEqual(got, []string{"x{y"}) {
		t.Errorf("unmatched brace: %q", got)
	}
	if _, ok := expandBraces(strings.Repeat("{a,b}", 10)); ok {
		t.Error("1024 expansions accepted")
	}
}

// A multi-line definition that uses itself would make keepalived loop
// forever.
func TestRecursiveMultilineDefinition(t *testing.T) {
	_, d := statements(t, "$A=x \\\n$A\n\n$A\n", nil, "")
	if len(d.errs) != 1 || d.errs[0].String() != "k.conf:4: $A: parameter substitution does not terminate" {
		t.Errorf("errors = %v", d.errs)
	}
}
