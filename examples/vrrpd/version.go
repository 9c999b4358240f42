package main

import (
	"runtime/debug"
	"strings"
)

// version is what vrrpd knows of its own build.
type version struct {
	module   string // the module version: v1.2.3, a pseudo-version, or (devel)
	revision string // the VCS revision, "" when unknown
	time     string // the revision's commit time
	modified bool   // built from a work tree with changes
}

func buildVersion() version {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version{module: "(unknown)"}
	}
	return versionOf(bi)
}

// versionOf reads a build's version: go build in a clone records the VCS
// settings; go install module@version records the module version, whose
// pseudo-version form (v0.0.0-20260101120000-abcdef123456) carries the
// revision.
func versionOf(bi *debug.BuildInfo) version {
	v := version{module: bi.Main.Version}
	if v.module == "" {
		v.module = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.revision = s.Value
		case "vcs.time":
			v.time = s.Value
		case "vcs.modified":
			v.modified = s.Value == "true"
		}
	}
	if v.revision == "" {
		// vX.Y.Z-[0.]yyyymmddhhmmss-abcdefabcdef, possibly +incompatible.
		base, _, _ := strings.Cut(v.module, "+")
		if parts := strings.Split(base, "-"); len(parts) >= 3 {
			if rev := parts[len(parts)-1]; len(rev) == 12 && isHex(rev) {
				v.revision = rev
			}
		}
	}
	return v
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (v version) String() string {
	s := "vrrpd " + v.module + " (vrrpkit"
	if v.revision != "" {
		s += ", revision " + v.revision
		if v.modified {
			s += "+modified"
		}
		if v.time != "" {
			s += " of " + v.time
		}
	}
	return s + "), keepalived.conf as keepalived v2.2.7 reads it"
}
