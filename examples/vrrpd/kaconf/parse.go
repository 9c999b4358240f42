package kaconf

import (
	"io/fs"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// parser interprets the statement tree block by block, the way
// keepalived's keyword handlers do, into drafts that resolve() completes
// once the whole file is read (defaults come from global_defs, which may
// come last).
type parser struct {
	d      *diags
	fsys   fs.FS // where file: keys are read
	cfg    *Config
	global globalDraft
	insts  []*instDraft
	groups []*groupDraft
}

func interpret(tree []*node, fsys fs.FS, d *diags) *Config {
	p := &parser{d: d, fsys: fsys, cfg: &Config{Global: Global{
		Version:          2,
		MulticastGroup4:  netip.AddrFrom4([4]byte{224, 0, 0, 18}),
		MulticastGroup6:  netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12}),
		GARP:             DefaultGARP(),
		VMACPrefix:       "vrrp",
		DefaultInterface: "eth0",
	}}}
	for _, n := range tree {
		p.root(n)
	}
	p.resolve()
	return p.cfg
}

// rootUnsupported are keepalived's other top-level keywords: they are
// skipped with a warning that says so, rather than "unknown".
var rootUnsupported = words(`virtual_server virtual_server_group
	track_group garp_group linkbeat_interfaces
	interface_up_down_delays bfd_instance net_namespace net_namespace_ipvs
	namespace_with_ipsets instance use_pid_dir linkbeat_use_polling
	child_wait_time vrrp_track_bfd`)

func (p *parser) root(n *node) {
	switch n.keyword() {
	case "global_defs":
		if p.block(n) && p.count(n, 0, 0) {
			p.globalDefs(n.block)
		}
	case "vrrp_instance":
		if name, ok := p.named(n); ok {
			p.instance(n, name)
		}
	case "vrrp_script":
		if name, ok := p.named(n); ok {
			p.script(n, name)
		}
	case "vrrp_track_process":
		if name, ok := p.named(n); ok {
			p.trackProcess(n, name)
		}
	case "track_file", "vrrp_track_file":
		if n.keyword() == "vrrp_track_file" {
			p.d.warnf(n.pos, n.keyword(), "deprecated: use track_file")
		}
		if name, ok := p.named(n); ok {
			p.trackFile(n, name)
		}
	case "vrrp_sync_group":
		if name, ok := p.named(n); ok {
			p.syncGroup(n, name)
		}
	case "static_ipaddress":
		p.staticAddresses(n)
	case "static_routes":
		p.cfg.StaticRoutes = append(p.cfg.StaticRoutes, p.routeBlock(n)...)
	case "static_rules":
		p.cfg.StaticRules = append(p.cfg.StaticRules, p.ruleBlock(n)...)
	default:
		p.unknown(n, rootUnsupported)
	}
}

// named checks a named block: "KEYWORD NAME { ... }".
func (p *parser) named(n *node) (string, bool) {
	if !p.block(n) {
		return "", false
	}
	if len(n.words) != 2 {
		p.d.errorf(n.pos, n.keyword(), "needs exactly one name, has %d", len(n.words)-1)
		return "", false
	}
	return n.words[1], true
}

// unknown skips a keyword the handler does not take, block and all.
func (p *parser) unknown(n *node, unsupported map[string]bool) {
	what := "unknown keyword, ignored"
	if unsupported[n.keyword()] {
		what = "not supported by vrrpd, ignored"
	}
	if n.hasBlock {
		what += " with its block"
	}
	p.d.warnf(n.pos, n.keyword(), "%s", what)
}

// block checks that n has a { } block.
func (p *parser) block(n *node) bool {
	if !n.hasBlock {
		p.d.errorf(n.pos, n.keyword(), "needs a { } block")
		return false
	}
	return true
}

// args checks that n has no block and min..max arguments (max < 0: any).
func (p *parser) args(n *node, min, max int) bool {
	if n.hasBlock {
		p.d.errorf(n.pos, n.keyword(), "takes no { } block")
		return false
	}
	return p.count(n, min, max)
}

// count checks that n has min..max arguments (max < 0: any). Extra
// arguments are ignored with a warning; keepalived ignores them silently.
func (p *parser) count(n *node, min, max int) bool {
	got := len(n.words) - 1
	if got < min {
		if min == 1 {
			p.d.errorf(n.pos, n.keyword(), "missing value")
		} else {
			p.d.errorf(n.pos, n.keyword(), "needs %d values, has %d", min, got)
		}
		return false
	}
	if max >= 0 && got > max {
		p.d.warnf(n.pos, n.keyword(), "extra words ignored: %s", strings.Join(n.words[1+max:], " "))
	}
	return true
}

// secretValue parses "KEYWORD SECRET" without ever echoing the line: the
// words after SECRET may be the rest of a password written with blanks,
// so the warning counts them instead of showing them.
func (p *parser) secretValue(n *node) (Secret, bool) {
	if n.hasBlock {
		p.d.errorf(n.pos, n.keyword(), "takes no { } block")
		return Secret{}, false
	}
	switch {
	case len(n.words) < 2:
		p.d.errorf(n.pos, n.keyword(), "missing value")
		return Secret{}, false
	case len(n.words) > 2:
		p.d.warnf(n.pos, n.keyword(), "%d extra words ignored (not shown: the value is a secret); keepalived uses the first word only", len(n.words)-2)
	}
	return NewSecret(n.words[1]), true
}

// flag is a keyword without a value: "nopreempt".
func (p *parser) flag(n *node) bool { return p.args(n, 0, 0) }

// intValue parses the word at i as a decimal integer in [lo, hi].
func (p *parser) intValue(n *node, i int, lo, hi int) (int, bool) {
	if i >= len(n.words) {
		p.d.errorf(n.pos, n.keyword(), "missing value")
		return 0, false
	}
	v, err := strconv.Atoi(n.words[i])
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			p.d.errorf(n.pos, n.keyword(), "%s is out of range %d..%d", n.words[i], lo, hi)
		} else {
			p.d.errorf(n.pos, n.keyword(), "%q is not a whole number", n.words[i])
		}
		return 0, false
	}
	if v < lo || v > hi {
		p.d.errorf(n.pos, n.keyword(), "%d is out of range %d..%d", v, lo, hi)
		return 0, false
	}
	return v, true
}

// intKeyword parses "KEYWORD N".
func (p *parser) intKeyword(n *node, lo, hi int) (int, bool) {
	if !p.args(n, 1, 1) {
		return 0, false
	}
	return p.intValue(n, 1, lo, hi)
}

// secondsKeyword parses "KEYWORD SECONDS", SECONDS having up to 6
// decimals (keepalived's timer resolution is 1 µs), in [lo, hi].
func (p *parser) secondsKeyword(n *node, lo, hi time.Duration) (time.Duration, bool) {
	if !p.args(n, 1, 1) {
		return 0, false
	}
	return p.secondsValue(n, 1, lo, hi)
}

func (p *parser) secondsValue(n *node, i int, lo, hi time.Duration) (time.Duration, bool) {
	if i >= len(n.words) {
		p.d.errorf(n.pos, n.keyword(), "missing value")
		return 0, false
	}
	v, ok := parseSeconds(n.words[i])
	if !ok {
		p.d.errorf(n.pos, n.keyword(), "%q is not a number of seconds (at most 6 decimals)", n.words[i])
		return 0, false
	}
	if v < lo || v > hi {
		p.d.errorf(n.pos, n.keyword(), "%s is out of range %s..%s s", n.words[i], seconds(lo), seconds(hi))
		return 0, false
	}
	return v, true
}

// parseSeconds parses "3", "0.5", ".25": at most 6 decimals, no sign, no
// exponent.
func parseSeconds(s string) (time.Duration, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 6 || len(whole) > 9 {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return 0, false
			}
		}
	}
	var d time.Duration
	if whole != "" {
		w, _ := strconv.Atoi(whole)
		d = time.Duration(w) * time.Second
	}
	if frac != "" {
		f, _ := strconv.Atoi(frac + strings.Repeat("0", 6-len(frac)))
		d += time.Duration(f) * time.Microsecond
	}
	return d, true
}

// seconds formats d as keepalived writes seconds: "1", "0.25".
func seconds(d time.Duration) string {
	s := strconv.FormatInt(int64(d/time.Second), 10)
	if us := (d % time.Second) / time.Microsecond; us != 0 {
		s += strings.TrimRight("."+leftPad(strconv.FormatInt(int64(us), 10), 6), "0")
	}
	return s
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// boolKeyword parses "KEYWORD [BOOL]": the keyword alone means true.
func (p *parser) boolKeyword(n *node) (bool, bool) {
	if !p.args(n, 0, 1) {
		return false, false
	}
	if len(n.words) == 1 {
		return true, true
	}
	switch n.words[1] {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	p.d.errorf(n.pos, n.keyword(), "%q is not one of on, off, true, false, yes, no", n.words[1])
	return false, false
}

// addrValue parses a unicast address (no zone, not multicast or
// unspecified).
func (p *parser) addrValue(n *node, kw, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		p.d.errorf(n.pos, kw, "%q is not an IP address", s)
		return netip.Addr{}, false
	}
	if a.IsUnspecified() || a.IsMulticast() {
		p.d.errorf(n.pos, kw, "%s is not a unicast address", a)
		return netip.Addr{}, false
	}
	return a, true
}

// words splits a list of keywords into a set.
func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// command parses a script line: "KEYWORD COMMAND [USER [GROUP]]",
// COMMAND being split again into arguments (see Command). userWords says
// whether USER and GROUP may follow (notify scripts) or not (vrrp_script).
func (p *parser) command(n *node, userWords bool) (*Command, bool) {
	if n.hasBlock {
		p.d.errorf(n.pos, n.keyword(), "takes no { } block")
		return nil, false
	}
	line, msg := splitQuoted(n.text)
	if msg != "" {
		p.d.errorf(n.pos, n.keyword(), "%s", msg)
		return nil, false
	}
	if len(line) < 2 {
		p.d.errorf(n.pos, n.keyword(), "missing command")
		return nil, false
	}
	args, msg := splitQuoted(line[1])
	if msg != "" {
		p.d.errorf(n.pos, n.keyword(), "%s in %q", msg, line[1])
		return nil, false
	}
	if len(args) == 0 || args[0] == "" {
		p.d.errorf(n.pos, n.keyword(), "empty command")
		return nil, false
	}
	c := &Command{Args: args}
	extra := line[2:]
	if userWords {
		if len(extra) > 0 {
			c.User = extra[0]
		}
		if len(extra) > 1 {
			c.Group = extra[1]
		}
		if len(extra) > 2 {
			p.d.warnf(n.pos, n.keyword(), "extra words ignored: %s", strings.Join(extra[2:], " "))
		}
	} else if len(extra) > 0 {
		p.d.errorf(n.pos, n.keyword(), "keepalived would run only %q and ignore %q: quote the whole command line", line[1], strings.Join(extra, " "))
		return nil, false
	}
	return c, true
}

// staticAddresses parses static_ipaddress: entries as virtual_ipaddress's,
// on eth0 unless they name a dev (keepalived's default_interface).
func (p *parser) staticAddresses(n *node) {
	if !p.block(n) || !p.count(n, 0, 0) {
		return
	}
	for _, e := range n.block {
		v, ok := p.vip(e, false)
		if !ok {
			continue
		}
		p.cfg.StaticAddresses = append(p.cfg.StaticAddresses, v)
	}
}
