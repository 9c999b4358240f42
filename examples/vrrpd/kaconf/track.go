package kaconf

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// trackKind is one of the four kinds of tracked objects.
type trackKind int

const (
	trackInterface trackKind = iota
	trackScript
	trackProcess
	trackFile
	numTrackKinds
)

// trackKinds describes each kind: its block keyword, what its entries
// name, and the weight range of an entry.
var trackKinds = [numTrackKinds]struct {
	keyword, object string
	max             int
}{
	{"track_interface", "interface", 253},
	{"track_script", "vrrp_script", 253},
	{"track_process", "vrrp_track_process", 254},
	{"track_file", "track_file", 254},
}

// trackEntry is one entry of a track_* block as written.
type trackEntry struct {
	Track
	weightSet bool
	pos       Pos
}

// trackBlock parses "track_KIND { NAME [weight N [reverse|noreverse]] ... }".
func (p *parser) trackBlock(n *node, kind trackKind, out *[]trackEntry) {
	if !p.block(n) || !p.count(n, 0, 0) {
		return
	}
	k := trackKinds[kind]
	for _, e := range n.block {
		if e.hasBlock {
			p.d.errorf(e.pos, k.keyword, "entry %s takes no { } block", e.words[0])
			continue
		}
		t := trackEntry{Track: Track{Name: e.words[0]}, pos: e.pos}
		if kind == trackInterface && len(t.Name) > maxIfName {
			p.d.errorf(e.pos, k.keyword, "interface name %q is longer than %d bytes", t.Name, maxIfName)
			continue
		}
		if len(e.words) > 1 {
			if e.words[1] != "weight" || len(e.words) < 3 {
				p.d.errorf(e.pos, k.keyword, "%s: expected \"weight N [reverse]\" after the name, not %q", t.Name, strings.Join(e.words[1:], " "))
				continue
			}
			w, err := strconv.Atoi(e.words[2])
			if err != nil || w < -k.max || w > k.max {
				p.d.errorf(e.pos, k.keyword, "%s: weight %s is not a whole number in -%d..%d", t.Name, e.words[2], k.max, k.max)
				continue
			}
			t.Weight, t.weightSet = w, true
			if len(e.words) > 3 {
				switch e.words[3] {
				case "reverse":
					t.Reverse = true
				case "noreverse", "no_reverse":
				default:
					p.d.errorf(e.pos, k.keyword, "%s: %q is not reverse or noreverse", t.Name, e.words[3])
					continue
				}
			}
			if len(e.words) > 4 {
				p.d.warnf(e.pos, k.keyword, "%s: extra words ignored: %s", t.Name, strings.Join(e.words[4:], " "))
			}
		}
		dup := false
		for _, o := range *out {
			if o.Name == t.Name {
				p.d.warnf(e.pos, k.keyword, "%s is already tracked at line %d: ignored, as keepalived does", t.Name, o.pos.Line)
				dup = true
				break
			}
		}
		if !dup {
			*out = append(*out, t)
		}
	}
}

// weightKeyword parses "weight N [reverse]" in a tracked object's block.
func (p *parser) weightKeyword(n *node, max int) (w int, reverse, ok bool) {
	if !p.args(n, 1, 2) {
		return 0, false, false
	}
	if w, ok = p.intValue(n, 1, -max, max); !ok {
		return 0, false, false
	}
	if len(n.words) > 2 {
		if n.words[2] != "reverse" {
			p.d.errorf(n.pos, n.keyword(), "%q is not reverse", n.words[2])
			return 0, false, false
		}
		reverse = true
	}
	return w, reverse, true
}

func (p *parser) script(n *node, name string) {
	if o := p.cfg.Script(name); o != nil {
		p.d.errorf(n.pos, n.keyword(), "vrrp_script %s is already defined at %s", name, o.Pos)
		return
	}
	s := &Script{Name: name, Pos: n.pos, Interval: time.Second, Rise: 1, Fall: 1}
	var cmd *Command
	sawScript, timeoutSet := false, false
	for _, c := range n.block {
		switch c.keyword() {
		case "script":
			if sawScript {
				p.d.errorf(c.pos, c.keyword(), "set twice")
				break
			}
			sawScript = true
			cmd, _ = p.command(c, false)
		case "interval", "timeout":
			v, ok := p.intKeyword(c, 0, math.MaxUint32/1000000)
			if !ok {
				break
			}
			if v == 0 {
				p.d.warnf(c.pos, c.keyword(), "must be greater than 0: 1 is used, as keepalived does")
				v = 1
			}
			if c.keyword() == "interval" {
				s.Interval = time.Duration(v) * time.Second
			} else {
				s.Timeout = time.Duration(v) * time.Second
				timeoutSet = true
			}
		case "weight":
			if w, rev, ok := p.weightKeyword(c, 253); ok {
				s.Weight, s.Reverse = w, rev
			}
		case "rise", "fall":
			if v, ok := p.intKeyword(c, 1, math.MaxInt32); ok {
				if c.keyword() == "rise" {
					s.Rise = v
				} else {
					s.Fall = v
				}
			}
		case "user":
			if p.args(c, 1, 2) {
				s.Command.User, s.Command.Group = c.words[1], ""
				if len(c.words) > 2 {
					s.Command.Group = c.words[2]
				}
			}
		case "init_fail":
			if p.flag(c) {
				s.InitFail = true
			}
		default:
			p.unknown(c, nil)
		}
	}
	switch {
	case cmd != nil:
		s.Command.Args = cmd.Args
	case !sawScript:
		p.d.errorf(n.pos, n.keyword(), "%s has no script", name)
		return
	}
	// A script whose line had an error is kept, without Args, so that its
	// users do not report it as undefined; the configuration is refused
	// anyway.
	if !timeoutSet {
		// keepalived runs a script with timeout 0 with its interval as
		// the timeout.
		s.Timeout = s.Interval
	}
	p.cfg.Scripts = append(p.cfg.Scripts, s)
}

func (p *parser) trackProcess(n *node, name string) {
	if o := p.cfg.Process(name); o != nil {
		p.d.errorf(n.pos, n.keyword(), "vrrp_track_process %s is already defined at %s", name, o.Pos)
		return
	}
	t := &TrackProcess{Name: name, Pos: n.pos, Quorum: 1, QuorumMax: NoQuorumMax}
	weightSet := false
	for _, c := range n.block {
		switch c.keyword() {
		case "process":
			if !p.args(c, 1, -1) {
				break
			}
			if t.Process != "" {
				p.d.errorf(c.pos, c.keyword(), "set twice")
				break
			}
			t.Process = c.words[1]
			if len(c.words) > 2 {
				t.Params = append([]string(nil), c.words[2:]...)
				if t.ParamMatch == MatchNone {
					t.ParamMatch = MatchExact
				}
				t.FullCommand = true
			}
		case "param_match":
			if !p.args(c, 0, 1) {
				break
			}
			switch {
			case len(c.words) == 1:
				t.ParamMatch = MatchExact
			case c.words[1] == "initial":
				t.ParamMatch = MatchInitial
			case c.words[1] == "partial":
				t.ParamMatch = MatchPartial
			default:
				p.d.errorf(c.pos, c.keyword(), "%q is not initial or partial", c.words[1])
				continue
			}
			t.FullCommand = true
		case "weight":
			if weightSet {
				p.d.errorf(c.pos, c.keyword(), "set twice (keepalived would ignore this one)")
				break
			}
			if w, rev, ok := p.weightKeyword(c, 254); ok {
				t.Weight, t.Reverse, weightSet = w, rev, true
			}
		case "quorum":
			v, ok := p.intKeyword(c, 1, 65535)
			if !ok {
				break
			}
			if t.QuorumMax != NoQuorumMax && v > t.QuorumMax {
				p.d.errorf(c.pos, c.keyword(), "%d is above quorum_max %d", v, t.QuorumMax)
				break
			}
			t.Quorum = v
		case "quorum_max":
			v, ok := p.intKeyword(c, 0, 65535)
			if !ok {
				break
			}
			if (v != 0 || t.Quorum > 1) && v < t.Quorum {
				p.d.errorf(c.pos, c.keyword(), "%d is below quorum %d", v, t.Quorum)
				break
			}
			t.QuorumMax = v
			if v == 0 {
				t.Quorum = 0
			} else if t.Quorum == 0 {
				t.Quorum = 1
			}
		case "delay", "terminate_delay", "fork_delay":
			v, ok := p.secondsKeyword(c, time.Microsecond, 3600*time.Second)
			if !ok {
				break
			}
			if c.keyword() != "fork_delay" {
				t.TerminateDelay = v
			}
			if c.keyword() != "terminate_delay" {
				t.ForkDelay = v
			}
		case "full_command":
			if p.flag(c) {
				t.FullCommand = true
			}
		default:
			p.unknown(c, nil)
		}
	}
	if t.Process == "" {
		p.d.errorf(n.pos, n.keyword(), "%s has no process", name)
		return
	}
	p.cfg.Processes = append(p.cfg.Processes, t)
}

func (p *parser) trackFile(n *node, name string) {
	if o := p.cfg.File(name); o != nil {
		p.d.errorf(n.pos, n.keyword(), "track_file %s is already defined at %s", name, o.Pos)
		return
	}
	f := &TrackFile{Name: name, Pos: n.pos, Weight: 1}
	for _, c := range n.block {
		switch c.keyword() {
		case "file":
			if p.args(c, 1, 1) {
				f.Path = c.words[1]
			}
		case "weight":
			if w, rev, ok := p.weightKeyword(c, math.MaxInt32); ok {
				f.Weight, f.Reverse, f.weightSet = w, rev, true
			}
		case "init_file":
			if !p.args(c, 0, 2) {
				break
			}
			f.Init, f.InitValue, f.InitOverwrite = true, 0, false
			rest := c.words[1:]
			if len(rest) > 0 && rest[0] != "overwrite" {
				v, ok := p.intValue(c, 1, math.MinInt32, math.MaxInt32)
				if !ok {
					break
				}
				f.InitValue = v
				rest = rest[1:]
			}
			if len(rest) > 0 {
				if rest[0] != "overwrite" {
					p.d.errorf(c.pos, c.keyword(), "%q is not overwrite", rest[0])
					break
				}
				f.InitOverwrite = true
			}
		default:
			p.unknown(c, nil)
		}
	}
	if f.Path == "" {
		p.d.errorf(n.pos, n.keyword(), "%s has no file", name)
		return
	}
	p.cfg.Files = append(p.cfg.Files, f)
}

// groupDraft is a sync group being read.
type groupDraft struct {
	g        *SyncGroup
	groupPos Pos
	tracks   [numTrackKinds][]trackEntry
}

var groupUnsupported = words(`track_bfd smtp_alert notify_priority_changes notify_deleted`)

func (p *parser) syncGroup(n *node, name string) {
	for _, o := range p.groups {
		if o.g.Name == name {
			p.d.errorf(n.pos, n.keyword(), "vrrp_sync_group %s is already defined at %s", name, o.g.Pos)
			return
		}
	}
	d := &groupDraft{g: &SyncGroup{Name: name, Pos: n.pos}}
	p.groups = append(p.groups, d)
	for _, c := range n.block {
		switch kw := c.keyword(); kw {
		case "group":
			if !p.block(c) || !p.count(c, 0, 0) {
				break
			}
			if d.groupPos != (Pos{}) {
				p.d.errorf(c.pos, kw, "set twice (keepalived would ignore this one)")
				break
			}
			d.groupPos = c.pos
			for _, e := range c.block {
				if e.hasBlock {
					p.d.errorf(e.pos, kw, "entry %s takes no { } block", e.words[0])
					continue
				}
				d.g.Members = append(d.g.Members, e.words...)
			}
		case "track_interface":
			p.trackBlock(c, trackInterface, &d.tracks[trackInterface])
		case "track_script":
			p.trackBlock(c, trackScript, &d.tracks[trackScript])
		case "track_process":
			p.trackBlock(c, trackProcess, &d.tracks[trackProcess])
		case "track_file":
			p.trackBlock(c, trackFile, &d.tracks[trackFile])
		case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
			p.notify(c, &d.g.Notify)
		case "sync_group_tracking_weight":
			if p.flag(c) {
				d.g.TrackingWeight = true
			}
		case "global_tracking":
			if p.flag(c) {
				p.d.warnf(c.pos, kw, "deprecated: use sync_group_tracking_weight, or tracking on the sync group")
				d.g.TrackingWeight = true
			}
		default:
			p.unknown(c, groupUnsupported)
		}
	}
}
