//go:build linux

package vmac

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// sysctls changes /proc/sys/net settings and remembers what they were.
// Keys are paths below /proc/sys/net/ipv4/conf: "eth0/arp_ignore".
type sysctls struct {
	ns  *namespace
	log *zap.Logger
	// orig is each changed key's value from before us (or from before a
	// crashed run of ours, as its VMACs' aliases record it).
	orig map[string]string
	// recorded marks the originals taken from an alias: a value read
	// after a crash may be the crashed run's, a recorded one is not
	// replaced by a later record (made by a process that started after
	// the crash, and read the crashed run's values too).
	recorded map[string]bool
}

func newSysctls(ns *namespace, log *zap.Logger) *sysctls {
	return &sysctls{ns: ns, log: log, orig: make(map[string]string), recorded: make(map[string]bool)}
}

const confDir = "/proc/sys/net/ipv4/conf/"

func (s *sysctls) read(key string) (string, error) {
	var v string
	err := s.ns.do(func() error {
		b, err := os.ReadFile(confDir + key)
		v = strings.TrimSpace(string(b))
		return err
	})
	return v, err
}

func (s *sysctls) write(path, value string) error {
	return s.ns.do(func() error { return os.WriteFile(path, []byte(value), 0o644) })
}

// set changes key, remembering its value from before the first change.
func (s *sysctls) set(key, value string) error {
	cur, err := s.read(key)
	if err != nil {
		return err
	}
	if _, ok := s.orig[key]; !ok {
		s.orig[key] = cur
	}
	if cur == value {
		return nil
	}
	s.log.Info("vmac: setting sysctl net.ipv4.conf."+strings.ReplaceAll(key, "/", ".")+" to "+value, zap.String("was", cur))
	return s.write(confDir+key, value)
}

// forBase sets what a VMAC on base needs of base and of the namespace:
// for an IPv4 VMAC, arp_ignore 1 and arp_filter 1 on base (only the VMAC
// answers ARP for its addresses) and, beyond keepalived, arp_announce 2
// (base's own ARP requests name base's own address, not a virtual one
// with base's MAC: a client that answers the host with a VIP as source
// would otherwise learn base's MAC for it, and follow the old master after
// a takeover), and while all.rp_filter is on, every
// interface's rp_filter at least all's and all's off (the effective value
// is the larger of the two, and a VMAC must take adverts from addresses
// routed through its base).
func (s *sysctls) forBase(base string, ipv4 bool) error {
	if !ipv4 {
		return nil
	}
	for _, kv := range [][2]string{{"arp_ignore", "1"}, {"arp_filter", "1"}, {"arp_announce", "2"}} {
		if err := s.set(base+"/"+kv[0], kv[1]); err != nil {
			return err
		}
	}
	all, err := s.read("all/rp_filter")
	if err != nil {
		return err
	}
	level, _ := strconv.Atoi(all)
	if level == 0 {
		return nil
	}
	var ifaces []string
	err = s.ns.do(func() error {
		ents, err := os.ReadDir(confDir)
		for _, e := range ents {
			if e.Name() != "all" {
				ifaces = append(ifaces, e.Name())
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, ifc := range ifaces {
		v, err := s.read(ifc + "/rp_filter")
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone meanwhile
		}
		if err != nil {
			return err
		}
		if n, _ := strconv.Atoi(v); n < level {
			if err := s.set(ifc+"/rp_filter", all); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return s.set("all/rp_filter", "0")
}

// forVMAC sets the VMAC's own settings, which go with it: arp_ignore 1;
// for IPv4 accept_local 1 (adverts may come from our own addresses),
// rp_filter 0 and promote_secondaries 1; IPv6 off if asked.
func (s *sysctls) forVMAC(name string, ipv4, noIPv6 bool) error {
	kv := [][2]string{{"arp_ignore", "1"}}
	if ipv4 {
		kv = append(kv, [2]string{"accept_local", "1"}, [2]string{"rp_filter", "0"}, [2]string{"promote_secondaries", "1"})
	}
	for _, p := range kv {
		if err := s.write(confDir+name+"/"+p[0], p[1]); err != nil {
			return err
		}
	}
	if noIPv6 {
		err := s.write("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", "1")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// isBaseKey: arp_ignore, arp_filter and arp_announce belong to a base; rp_filter keys
// to the namespace.
func isBaseKey(key string) (iface string, ok bool) {
	i, k, _ := strings.Cut(key, "/")
	return i, k == "arp_ignore" || k == "arp_filter" || k == "arp_announce"
}

// restore puts back the keys of bases not in use, and the namespace's
// keys unless some VMAC remains.
func (s *sysctls) restore(inUse func(iface string) bool, anyHeld bool) error {
	var errs []error
	keys := make([]string, 0, len(s.orig))
	for k := range s.orig {
		keys = append(keys, k)
	}
	// all/rp_filter last: the others were raised because of it.
	slices.SortFunc(keys, func(a, b string) int {
		if (a == "all/rp_filter") != (b == "all/rp_filter") {
			if a == "all/rp_filter" {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		iface, base := isBaseKey(k)
		if (base && inUse(iface)) || (!base && anyHeld) {
			continue
		}
		v := s.orig[k]
		delete(s.orig, k)
		delete(s.recorded, k)
		cur, err := s.read(k)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the interface is gone
		}
		if err == nil && cur == v {
			continue
		}
		s.log.Info("vmac: resetting sysctl net.ipv4.conf."+strings.ReplaceAll(k, "/", ".")+" to "+v, zap.String("was", cur))
		if err := s.write(confDir+k, v); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recover takes the values a crashed run recorded as the originals, over
// values read, but not over values recorded before.
func (s *sysctls) recover(rec map[string]string) {
	for k, v := range rec {
		if !s.recorded[k] {
			s.orig[k] = v
			s.recorded[k] = true
		}
	}
}

// The alias of a VMAC: aliasPrefix, then KEY=VALUE words for the
// originals of its base's keys and of the namespace's, keys shortened
// (eth0.ai: eth0/arp_ignore). IFALIASZ allows 255 bytes: what does not fit
// is left out.
var shortKeys = map[string]string{"arp_ignore": "ai", "arp_filter": "af", "arp_announce": "aa", "rp_filter": "rp"}

func (s *sysctls) alias(base string) string {
	keys := make([]string, 0, len(s.orig))
	for k := range s.orig {
		if iface, isBase := isBaseKey(k); !isBase || iface == base {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := aliasPrefix
	for _, k := range keys {
		iface, name, _ := strings.Cut(k, "/")
		w := " " + iface + "." + shortKeys[name] + "=" + s.orig[k]
		if len(out)+len(w) > 255 {
			s.log.Debug("vmac: sysctl record does not fit in the alias", zap.String("key", k))
			continue
		}
		out += w
	}
	return out
}

func parseAlias(alias string) map[string]string {
	rec := make(map[string]string)
	for _, w := range strings.Fields(strings.TrimPrefix(alias, aliasPrefix)) {
		kv, v, ok := strings.Cut(w, "=")
		dot := strings.LastIndexByte(kv, '.')
		if !ok || dot <= 0 || !ifaceName(kv[:dot]) {
			continue
		}
		for long, short := range shortKeys {
			if kv[dot+1:] == short {
				if _, err := strconv.Atoi(v); err == nil {
					rec[kv[:dot]+"/"+long] = v
				}
			}
		}
	}
	return rec
}

// ifaceName reports whether s can be an interface's directory below
// /proc/sys/net/ipv4/conf: an alias is anyone's to write.
func ifaceName(s string) bool {
	return len(s) <= 15 && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}
