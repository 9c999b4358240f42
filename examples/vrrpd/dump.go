package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// keepalived's dump files: scripts and exporters send keepalived a signal
// (keepalived --signum=DATA, STATS, STATS_CLEAR or JSON names it) and read
// the file it writes in $TMPDIR, else /tmp. vrrpd answers the same
// signals with the same files, in the same layout: the fields keepalived
// 2.2.7 and 2.4.3 both write and vrrpd can fill, in their order (the JSON
// with 2.4.3's field names), so that what parses keepalived's parses
// vrrpd's.
const (
	dataFile  = "keepalived.data"
	statsFile = "keepalived.stats"
	jsonFile  = "keepalived.json"
)

// dumpDir is where the dumps go: $TMPDIR, else /tmp, as keepalived.
func dumpDir() string {
	if d := os.Getenv("TMPDIR"); d != "" {
		return d
	}
	return "/tmp"
}

// writeDump writes a dump file in dir without following a link or
// writing into a file someone else prepared there (the directory is
// usually /tmp): the text goes to a new file of vrrpd's own, mode 0600 as
// keepalived's, which then replaces the name.
func writeDump(dir, name string, text []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, werr := f.Write(text)
	cerr := f.Close()
	if err := firstError(werr, cerr); err != nil {
		os.Remove(tmp)
		return "", err
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return final, nil
}

func firstError(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// dumper writes the dumps of one daemon. It keeps the STATS_CLEAR
// baseline: keepalived clears its counters after that dump; vrrpd's
// counters are monotonic (the metrics depend on it), so the stats file
// shows them less the baseline instead.
type dumper struct {
	d        *daemon
	dir      string
	baseline map[string]vrrp.Stats
}

func newDumper(d *daemon, dir string) *dumper {
	return &dumper{d: d, dir: dir, baseline: make(map[string]vrrp.Stats)}
}

// snapshot is what the dumps say about one instance.
type instanceDump struct {
	in    *instance
	cfg   vrrp.Config
	state vrrp.State
	since time.Time
	prio  int
	stats vrrp.Stats
}

func (du *dumper) instances() []instanceDump {
	var out []instanceDump
	for _, in := range du.d.instanceList() {
		in.mu.Lock()
		since := in.since
		in.mu.Unlock()
		out = append(out, instanceDump{in: in, cfg: in.r.Config(), state: in.r.State(), since: since,
			prio: int(in.r.Priority()), stats: in.r.Stats()})
	}
	return out
}

// data is keepalived.data.
func (du *dumper) data() []byte {
	var b bytes.Buffer
	du.d.mu.Lock()
	conf, routers := du.d.plan.conf, du.d.plan.routers
	du.d.mu.Unlock()
	g := conf.Global
	sched := schedule(g.GARP, g)

	b.WriteString("------< Global definitions >------\n")
	kv(&b, 1, "Router ID", g.RouterID)
	kv(&b, 1, "VRRP IPv4 mcast group", addrOr(g.MulticastGroup4, advert.GroupIPv4))
	kv(&b, 1, "VRRP IPv6 mcast group", addrOr(g.MulticastGroup6, advert.GroupIPv6))
	garp(&b, 1, sched, true)
	kv(&b, 1, "VRRP default protocol version", strconv.Itoa(max(g.Version, 2)))
	kv(&b, 1, "VRRP check unicast_src", boolWord(g.CheckUnicastSource))

	b.WriteString("------< VRRP Topology >------\n")
	for _, id := range du.instances() {
		du.instanceData(&b, id)
	}

	if groups := du.d.groupStatus(); len(groups) > 0 {
		b.WriteString("------< VRRP Sync groups >------\n")
		for _, gr := range groups {
			st := gr.State
			if st == "" {
				st = "INIT"
			}
			fmt.Fprintf(&b, " VRRP Sync Group = %s, %s\n", gr.Name, st)
			b.WriteString("   VRRP member instances :\n")
			for _, m := range gr.Members {
				fmt.Fprintf(&b, "     %s\n", m)
			}
		}
	}

	if len(conf.Scripts) > 0 {
		b.WriteString("------< VRRP Scripts >------\n")
		for _, s := range conf.Scripts {
			fmt.Fprintf(&b, " VRRP Script = %s\n", s.Name)
			kv(&b, 3, "Command", quotedCommand(s.Command.Args))
			kv(&b, 3, "Interval", seconds(s.Interval)+" sec")
			kv(&b, 3, "Timeout", seconds(s.Timeout)+" sec")
			kv(&b, 3, "Weight", strconv.Itoa(s.Weight))
			kv(&b, 3, "Rise", strconv.Itoa(s.Rise))
			kv(&b, 3, "Fall", strconv.Itoa(s.Fall))
			kv(&b, 3, "Status", scriptStatus(du.d.trackers.state(trackKey{trackScript, s.Name})))
			b.WriteString("   Tracking instances :\n")
			for _, rp := range routers {
				for _, t := range rp.tracks {
					if t.key == (trackKey{trackScript, s.Name}) {
						fmt.Fprintf(&b, "     %s, weight %d\n", rp.inst.Name, t.weight.Weight)
					}
				}
			}
			kv(&b, 3, "State", "idle")
		}
	}
	return b.Bytes()
}

func (du *dumper) instanceData(b *bytes.Buffer, id instanceDump) {
	cfg, rp := id.cfg, id.in.plan
	fmt.Fprintf(b, " VRRP Instance = %s\n", cfg.Name)
	kv(b, 3, "VRRP Version", strconv.Itoa(int(cfg.Version)))
	if cfg.IPv6 {
		b.WriteString("   Using Native IPv6\n")
	}
	if cfg.SyncGroup != "" {
		kv(b, 3, "Sync group", cfg.SyncGroup)
	}
	kv(b, 3, "State", id.state.String())
	if m := id.in.r.Master(); id.state == vrrp.Backup && m.IsValid() {
		kv(b, 3, "Master router", m.String())
	}
	kv(b, 3, "Wantstate", id.state.String())
	if !id.since.IsZero() {
		kv(b, 3, "Last transition", keepalivedTimestamp(id.since))
	}
	kv(b, 3, "Interface", cfg.Interface)
	if cfg.UnicastSrc.IsValid() {
		kv(b, 3, "Using src_ip", cfg.UnicastSrc.String())
	}
	if len(cfg.Peers) == 0 {
		group := cfg.Group
		if !group.IsValid() {
			group = advert.GroupIPv4
			if cfg.IPv6 {
				group = advert.GroupIPv6
			}
		}
		fmt.Fprintf(b, "   Multicast address %s\n", group)
	}
	garp(b, 3, rp.schedule, false)
	kv(b, 3, "Virtual Router ID", strconv.Itoa(int(cfg.VRID)))
	kv(b, 3, "Priority", strconv.Itoa(int(cfg.Priority)))
	kv(b, 3, "Effective priority", strconv.Itoa(id.prio))
	kv(b, 3, "Advert interval", strconv.FormatInt(cfg.Interval.Milliseconds(), 10)+" milli-sec")
	kv(b, 3, "Accept", enabled(!cfg.NoAccept))
	kv(b, 3, "Preempt", enabled(!cfg.NoPreempt))
	hmacData(b, cfg)
	set := id.state == vrrp.Master
	var vips, excluded []string
	for _, v := range cfg.VIPs {
		if v.Excluded {
			excluded = append(excluded, vipLine(v, cfg.Interface, set))
		} else {
			vips = append(vips, vipLine(v, cfg.Interface, set))
		}
	}
	fmt.Fprintf(b, "   Virtual IP (%d):\n", len(vips))
	for _, v := range vips {
		fmt.Fprintf(b, "     %s\n", v)
	}
	if len(excluded) > 0 {
		b.WriteString("   Virtual IP Excluded :\n")
		for _, v := range excluded {
			fmt.Fprintf(b, "     %s\n", v)
		}
	}
	if len(cfg.Peers) > 0 {
		fmt.Fprintf(b, "   Check unicast src : %s\n", yesNo(!cfg.AcceptAnySource))
		b.WriteString("   Unicast Peer :\n")
		for _, p := range cfg.Peers {
			lo, hi := 0, 255
			for _, h := range cfg.PeerHopLimits {
				if h.Peer == p {
					lo, hi = h.Min, h.Max
				}
			}
			fmt.Fprintf(b, "     %s min_ttl %d max_ttl %d\n", p, lo, hi)
		}
	}
	var scripts []string
	for _, t := range rp.tracks {
		if t.key.kind == trackScript {
			scripts = append(scripts, fmt.Sprintf("     %s weight %d\n", t.key.name, t.weight.Weight))
		}
	}
	if len(scripts) > 0 {
		b.WriteString("   Tracked scripts :\n")
		b.WriteString(strings.Join(scripts, ""))
	}
}

// vipLine is an address as keepalived lists it: "10.0.0.100/24 dev eth0
// scope global [label L] [set]", set while it holds the address.
func vipLine(v vrrp.VIP, iface string, set bool) string {
	if v.Interface != "" {
		iface = v.Interface
	}
	s := v.Prefix.String() + " dev " + iface + " scope global"
	if v.Label != "" {
		s += " label " + v.Label
	}
	if set {
		s += " set"
	}
	return s
}

func garp(b *bytes.Buffer, indent int, s vip.Schedule, global bool) {
	kv(b, indent, "Gratuitous ARP delay", strconv.Itoa(int(s.Delay/time.Second)))
	kv(b, indent, "Gratuitous ARP repeat", strconv.Itoa(s.Repeat))
	refresh := "Gratuitous ARP refresh"
	if global {
		refresh += " timer"
	}
	kv(b, indent, refresh, strconv.Itoa(int(s.Refresh/time.Second)))
	kv(b, indent, "Gratuitous ARP refresh repeat", strconv.Itoa(s.RefreshRepeat))
	kv(b, indent, "Gratuitous ARP lower priority delay", strconv.Itoa(int(s.LowerPrioDelay/time.Second)))
	kv(b, indent, "Gratuitous ARP lower priority repeat", strconv.Itoa(s.LowerPrioRepeat))
}

// stats is keepalived.stats, in 2.4.3's layout (2.2.7's without the
// Authentication Extension Errors block).
func (du *dumper) stats(clear bool) []byte {
	var b bytes.Buffer
	for _, id := range du.instances() {
		s := minus(id.stats, du.baseline[id.cfg.Name])
		if clear {
			du.baseline[id.cfg.Name] = id.stats
		}
		k := keepalivedCounters(s)
		fmt.Fprintf(&b, "VRRP Instance: %s\n", id.cfg.Name)
		fmt.Fprintf(&b, "  Advertisements:\n    Received: %d\n    Sent: %d\n", k.AdvertRcvd, k.AdvertSent)
		fmt.Fprintf(&b, "  Became master: %d\n  Released master: %d\n", k.BecomeMaster, k.ReleaseMaster)
		fmt.Fprintf(&b, "  Packet Errors:\n    Length: %d\n    TTL: %d\n    Invalid Type: %d\n    Advertisement Interval: %d\n    Address List: %d\n",
			k.PacketLenErr, k.IPTTLErr, k.InvalidTypeRcvd, k.AdvertIntervalErr, k.AddrListErr)
		fmt.Fprintf(&b, "  Authentication Errors:\n    Invalid Type: %d\n    Type Mismatch: %d\n    Failure: %d\n",
			k.InvalidAuthtype, k.AuthtypeMismatch, k.AuthFailure)
		fmt.Fprintf(&b, "  Authentication Extension Errors:\n    Missing: %d\n    Malformed: %d\n    Unknown Key: %d\n    Invalid HMAC: %d\n    Stale: %d\n    Replay: %d\n",
			k.AuthExtMissing, k.AuthExtMalformed, k.AuthExtUnknownKey, k.AuthExtInvalidHMAC, k.AuthExtStale, k.AuthExtReplay)
		fmt.Fprintf(&b, "  Priority Zero:\n    Received: %d\n    Sent: %d\n", k.PriZeroRcvd, k.PriZeroSent)
	}
	return b.Bytes()
}

func minus(s, base vrrp.Stats) vrrp.Stats {
	sub := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	out := vrrp.Stats{
		AdvertsReceived: sub(s.AdvertsReceived, base.AdvertsReceived), AdvertsSent: sub(s.AdvertsSent, base.AdvertsSent),
		PriorityZeroReceived: sub(s.PriorityZeroReceived, base.PriorityZeroReceived), PriorityZeroSent: sub(s.PriorityZeroSent, base.PriorityZeroSent),
		BecameMaster: sub(s.BecameMaster, base.BecameMaster), LeftMaster: sub(s.LeftMaster, base.LeftMaster),
		AddressListMismatch: sub(s.AddressListMismatch, base.AddressListMismatch),
		SendErrors:          sub(s.SendErrors, base.SendErrors), BackendErrors: sub(s.BackendErrors, base.BackendErrors),
		EventsLost: sub(s.EventsLost, base.EventsLost),
	}
	for i := range s.Drops {
		out.Drops[i] = sub(s.Drops[i], base.Drops[i])
	}
	return out
}

// jsonStats is keepalived 2.4.3's "stats" object, its fields in its order.
type jsonStats struct {
	AdvertRcvd         uint64 `json:"advert_rcvd"`
	AdvertSent         uint64 `json:"advert_sent"`
	BecomeMaster       uint64 `json:"become_master"`
	ReleaseMaster      uint64 `json:"release_master"`
	PacketLenErr       uint64 `json:"packet_len_err"`
	AdvertIntervalErr  uint64 `json:"advert_interval_err"`
	IPTTLErr           uint64 `json:"ip_ttl_err"`
	InvalidTypeRcvd    uint64 `json:"invalid_type_rcvd"`
	AddrListErr        uint64 `json:"addr_list_err"`
	InvalidAuthtype    uint64 `json:"invalid_authtype"`
	AuthtypeMismatch   uint64 `json:"authtype_mismatch"`
	AuthFailure        uint64 `json:"auth_failure"`
	AuthExtMissing     uint64 `json:"auth_ext_missing"`
	AuthExtMalformed   uint64 `json:"auth_ext_malformed"`
	AuthExtUnknownKey  uint64 `json:"auth_ext_unknown_key"`
	AuthExtInvalidHMAC uint64 `json:"auth_ext_invalid_hmac"`
	AuthExtStale       uint64 `json:"auth_ext_stale"`
	AuthExtReplay      uint64 `json:"auth_ext_replay"`
	PriZeroRcvd        uint64 `json:"pri_zero_rcvd"`
	PriZeroSent        uint64 `json:"pri_zero_sent"`
}

// keepalivedCounters maps the router's counters onto keepalived's (the
// same mapping as vrrpprom's keepalived_* metrics); the auth_ext_* ones
// are keepalived 2.4's auth_hmac drops.
func keepalivedCounters(s vrrp.Stats) jsonStats {
	return jsonStats{
		AdvertRcvd: s.AdvertsReceived, AdvertSent: s.AdvertsSent,
		BecomeMaster: s.BecameMaster, ReleaseMaster: s.LeftMaster,
		PacketLenErr: s.Drops[vrrp.DropLength], AdvertIntervalErr: s.Drops[vrrp.DropInterval],
		IPTTLErr: s.Drops[vrrp.DropTTL], InvalidTypeRcvd: s.Drops[vrrp.DropType],
		AddrListErr:      s.AddressListMismatch,
		AuthtypeMismatch: s.Drops[vrrp.DropAuthType], AuthFailure: s.Drops[vrrp.DropAuth] + s.Drops[vrrp.DropReplay],
		AuthExtMissing: s.Drops[vrrp.DropHMACMissing], AuthExtMalformed: s.Drops[vrrp.DropHMACMalformed],
		AuthExtUnknownKey: s.Drops[vrrp.DropHMACKeyID], AuthExtInvalidHMAC: s.Drops[vrrp.DropHMAC],
		AuthExtStale: s.Drops[vrrp.DropHMACStale], AuthExtReplay: s.Drops[vrrp.DropHMACReplay],
		PriZeroRcvd: s.PriorityZeroReceived, PriZeroSent: s.PriorityZeroSent,
	}
}

// jsonData is keepalived 2.4.3's "data" object: its fields in its order,
// those vrrpd can fill. auth_data (keepalived writes the password) is
// left out: vrrpd never prints a secret.
type jsonData struct {
	IName                string   `json:"iname"`
	DontTrackPrimary     int      `json:"dont_track_primary"`
	SkipCheckAdvAddr     int      `json:"skip_check_adv_addr"`
	StrictMode           int      `json:"strict_mode"`
	VMACIfname           string   `json:"vmac_ifname"`
	IfpIfname            string   `json:"ifp_ifname"`
	MasterPriority       int      `json:"master_priority"`
	LastTransition       float64  `json:"last_transition"`
	GARPDelay            int      `json:"garp_delay"`
	GARPRefresh          int      `json:"garp_refresh"`
	GARPRep              int      `json:"garp_rep"`
	GARPRefreshRep       int      `json:"garp_refresh_rep"`
	GARPLowerPrioDelay   int      `json:"garp_lower_prio_delay"`
	GARPLowerPrioRep     int      `json:"garp_lower_prio_rep"`
	LowerPrioNoAdvert    int      `json:"lower_prio_no_advert"`
	HigherPrioSendAdvert int      `json:"higher_prio_send_advert"`
	VRID                 int      `json:"vrid"`
	BasePriority         int      `json:"base_priority"`
	EffectivePriority    int      `json:"effective_priority"`
	VIPSet               bool     `json:"vipset"`
	PromoteSecondaries   bool     `json:"promote_secondaries"`
	AdverInt             float64  `json:"adver_int"`
	MasterAdverInt       float64  `json:"master_adver_int"`
	Accept               int      `json:"accept"`
	NoPreempt            bool     `json:"nopreempt"`
	PreemptDelay         float64  `json:"preempt_delay"`
	State                int      `json:"state"`
	WantState            int      `json:"wantstate"`
	Version              int      `json:"version"`
	SMTPAlert            bool     `json:"smtp_alert"`
	NotifyDeleted        bool     `json:"notify_deleted"`
	VIPs                 []string `json:"vips"`
	EVIPs                []string `json:"evips,omitempty"`
	TrackScript          []string `json:"track_script,omitempty"`
	AuthType             int      `json:"auth_type"`
}

type jsonInstance struct {
	Data  jsonData  `json:"data"`
	Stats jsonStats `json:"stats"`
}

// json is keepalived.json: an array of {"data", "stats"}, one per
// instance, on one line as keepalived writes it.
func (du *dumper) json() []byte {
	out := []jsonInstance{}
	for _, id := range du.instances() {
		cfg, rp := id.cfg, id.in.plan
		d := jsonData{
			IName: cfg.Name, DontTrackPrimary: b2i(cfg.IgnoreLinkDown), IfpIfname: cfg.Interface,
			GARPDelay: int(rp.schedule.Delay / time.Second), GARPRefresh: int(rp.schedule.Refresh / time.Second),
			GARPRep: rp.schedule.Repeat, GARPRefreshRep: rp.schedule.RefreshRepeat,
			GARPLowerPrioDelay: int(rp.schedule.LowerPrioDelay / time.Second), GARPLowerPrioRep: rp.schedule.LowerPrioRepeat,
			LowerPrioNoAdvert: b2i(cfg.LowerPriorityNoAdvert),
			VRID:              int(cfg.VRID), BasePriority: int(cfg.Priority), EffectivePriority: id.prio,
			VIPSet:   id.state == vrrp.Master,
			AdverInt: cfg.Interval.Seconds(), MasterAdverInt: cfg.Interval.Seconds(),
			Accept: b2i(!cfg.NoAccept), NoPreempt: cfg.NoPreempt, PreemptDelay: cfg.PreemptDelay.Seconds(),
			State: int(stateNumber(id.state)), WantState: int(stateNumber(id.state)), Version: int(cfg.Version),
			VIPs: []string{}, AuthType: int(cfg.AuthType),
		}
		if !id.since.IsZero() {
			d.LastTransition = float64(id.since.UnixMicro()) / 1e6
		}
		for _, v := range cfg.VIPs {
			line := vipLine(v, cfg.Interface, d.VIPSet)
			if v.Excluded {
				d.EVIPs = append(d.EVIPs, line)
			} else {
				d.VIPs = append(d.VIPs, line)
			}
		}
		du.d.mu.Lock()
		conf := du.d.plan.conf
		du.d.mu.Unlock()
		for _, t := range rp.tracks {
			if s := conf.Script(t.key.name); t.key.kind == trackScript && s != nil {
				d.TrackScript = append(d.TrackScript, quotedCommand(s.Command.Args))
			}
		}
		out = append(out, jsonInstance{Data: d, Stats: keepalivedCounters(minus(id.stats, du.baseline[cfg.Name]))})
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // plain numbers and strings
	}
	return b
}

// stateNumber is keepalived's number for a state (0 INIT, 1 BACKUP, 2
// MASTER, 3 FAULT).
func stateNumber(s vrrp.State) uint8 {
	switch s {
	case vrrp.Backup:
		return 1
	case vrrp.Master:
		return 2
	case vrrp.Fault:
		return 3
	}
	return 0
}

// keepalivedTimestamp is how keepalived writes a time in its data file:
// "1796173068.606427 (Wed Dec  2 00:57:48.606427 2026)".
func keepalivedTimestamp(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d (%s.%06d %s)", us/1e6, us%1e6, t.Format("Mon Jan _2 15:04:05"), us%1e6, t.Format("2006"))
}

func kv(b *bytes.Buffer, indent int, key, value string) {
	b.WriteString(strings.Repeat(" ", indent))
	b.WriteString(key)
	b.WriteString(" = ")
	b.WriteString(value)
	b.WriteByte('\n')
}

func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

func addrOr(a, def netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	return def.String()
}

func scriptStatus(known, up bool) string {
	switch {
	case !known:
		return "INIT"
	case up:
		return "GOOD"
	}
	return "BAD"
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// state returns the current state of the tracker of k: known and up.
func (ts *trackers) state(k trackKey) (known, up bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.running[k]
	if t == nil {
		return false, false
	}
	st := t.shared.State()
	return st.Known, st.Up
}

// quotedCommand is a script's command as keepalived's dumps write it:
// each word in single quotes.
func quotedCommand(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + a + "'"
	}
	return strings.Join(q, " ")
}
