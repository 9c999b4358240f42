package kaconf

import (
	"math"
	"net/netip"
	"strings"
	"time"
)

// globalDraft remembers what resolve() needs beyond Global itself.
type globalDraft struct {
	lowerPrioDelaySet  bool
	lowerPrioRepeatSet bool
}

// globalIgnored are global_defs keywords vrrpd accepts and ignores: e-mail
// notification.
var globalIgnored = words(`notification_email notification_email_from smtp_server
	smtp_helo_name smtp_connect_timeout smtp_alert smtp_alert_vrrp smtp_alert_checker
	no_email_faults`)

// globalUnsupported are keepalived 2.2.7's other global_defs keywords.
var globalUnsupported = words(`net_namespace net_namespace_ipvs namespace_with_ipsets
	instance use_pid_dir linkbeat_use_polling child_wait_time tmp_config_directory
	config_save_dir process_names process_name vrrp_process_name checker_process_name
	bfd_process_name startup_script startup_script_timeout shutdown_script
	shutdown_script_timeout checker_log_all_failures lvs_sync_daemon
	lvs_timeouts lvs_flush lvs_flush_on_stop vrrp_down_timer_adverts nftables nftables_priority
	nftables_counters nftables_ifindex nftables_ipvs nftables_ipvs_priority
	nftables_ipvs_start_fwmark vrrp_iptables vrrp_ipsets disable_local_igmp
	vrrp_skip_check_adv_addr vrrp_strict max_auto_priority
	min_auto_priority_delay checker_priority bfd_priority
	checker_no_swap bfd_no_swap vrrp_cpu_affinity checker_cpu_affinity bfd_cpu_affinity
	checker_rt_priority bfd_rt_priority
	checker_rlimit_rttime bfd_rlimit_rttime snmp_socket enable_snmp_vrrp
	enable_snmp_checker enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3 enable_traps
	enable_dbus dbus_service_name lvs_notify_fifo lvs_notify_fifo_script
	dynamic_interfaces vrrp_netlink_cmd_rcv_bufs
	vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs
	vrrp_netlink_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs
	lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs
	lvs_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs
	process_monitor_rcv_bufs_force vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier
	rs_init_notifies no_checker_emails umask log_unknown_vrids
	vmac_addr_prefix random_seed reload_check_config include_check reload_time_file
	reload_repeat reload_file data_use_instance script_security use_symlink_paths
	snmp_vs_stats_update_interval snmp_rs_stats_update_interval dbus_no_interface_name
	state_file_location stats_file_location json_file_location json_version iproute_usr_dir
	iproute_etc_dir`)

func (p *parser) globalDefs(block []*node) {
	g := &p.cfg.Global
	for _, n := range block {
		kw := n.keyword()
		switch kw {
		case "vrrp_rt_priority":
			if v, ok := p.intKeyword(n, 1, 99); ok {
				g.RTPriority = v
			}
		case "vrrp_rlimit_rttime":
			if v, ok := p.intKeyword(n, 2, math.MaxInt32); ok {
				g.RLimitRTTime = time.Duration(v) * time.Microsecond
			}
		case "vrrp_priority":
			if v, ok := p.intKeyword(n, -20, 19); ok {
				g.ProcessPriority = v
			}
		case "vrrp_no_swap":
			if p.flag(n) {
				g.NoSwap = true
			}
		case "router_id":
			if p.args(n, 1, 1) {
				g.RouterID = n.words[1]
			}
		case "vrrp_version":
			if v, ok := p.intKeyword(n, 2, 3); ok {
				g.Version = v
			}
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			if !p.args(n, 1, 1) {
				break
			}
			a, err := netip.ParseAddr(n.words[1])
			want6 := kw == "vrrp_mcast_group6"
			if err != nil || a.Zone() != "" || !a.IsMulticast() || a.Is6() != want6 {
				fam := "IPv4"
				if want6 {
					fam = "IPv6"
				}
				p.d.errorf(n.pos, kw, "%q is not an %s multicast address", n.words[1], fam)
				break
			}
			if want6 {
				g.MulticastGroup6 = a
			} else {
				g.MulticastGroup4 = a
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_refresh", "vrrp_garp_lower_prio_delay":
			v, ok := p.intKeyword(n, 0, math.MaxUint32/1000000)
			if !ok {
				break
			}
			d := time.Duration(v) * time.Second
			switch kw {
			case "vrrp_garp_master_delay":
				g.GARP.Delay = d
			case "vrrp_garp_master_refresh":
				g.GARP.Refresh = d
			default:
				g.GARP.LowerPrioDelay = d
				p.global.lowerPrioDelaySet = true
			}
		case "vrrp_garp_master_repeat", "vrrp_garp_master_refresh_repeat":
			if v, ok := p.repeat(n); ok {
				if kw == "vrrp_garp_master_repeat" {
					g.GARP.Repeat = v
				} else {
					g.GARP.RefreshRepeat = v
				}
			}
		case "vrrp_garp_lower_prio_repeat":
			if v, ok := p.intKeyword(n, 0, math.MaxInt32); ok {
				g.GARP.LowerPrioRepeat = v
				p.global.lowerPrioRepeatSet = true
			}
		case "vrrp_min_garp":
			if on, ok := p.boolKeyword(n); ok && on {
				// keepalived 2.2.7's values, as its -d dump shows them.
				g.GARP = GARP{Repeat: 1, LowerPrioRepeat: 1}
				p.global.lowerPrioDelaySet = true
				p.global.lowerPrioRepeatSet = true
			}
		case "vrrp_garp_interval", "vrrp_gna_interval":
			// keepalived 2.2.7: "number '0' outside range [0.000001,
			// 4294.967295]"; leaving the keyword out means no gap.
			if v, ok := p.secondsKeyword(n, time.Microsecond, math.MaxUint32*time.Microsecond); ok {
				if kw == "vrrp_garp_interval" {
					g.ARPInterval = v
				} else {
					g.NAInterval = v
				}
			}
		case "vrrp_check_unicast_src":
			if p.flag(n) {
				g.CheckUnicastSource = true
			}
		case "vrrp_startup_delay", "vrrp_delay_after_boot":
			if v, ok := p.secondsKeyword(n, time.Millisecond, math.MaxUint32*time.Microsecond); ok {
				if kw == "vrrp_startup_delay" {
					g.StartupDelay = v
				} else {
					g.DelayAfterBoot = v
				}
			}
		case "v3_checksum_as_v2":
			if v, ok := p.boolKeyword(n); ok {
				g.V3ChecksumAsV2 = v
			}
		case "script_user":
			if p.args(n, 1, 2) {
				g.ScriptUser = n.words[1]
				g.ScriptGroup = ""
				if len(n.words) > 2 {
					g.ScriptGroup = n.words[2]
				}
			}
		case "enable_script_security":
			if p.flag(n) {
				g.ScriptSecurity = true
			}
		case "vrrp_higher_prio_send_advert", "vrrp_lower_prio_no_advert", "vrrp_notify_priority_changes":
			if v, ok := p.boolKeyword(n); ok {
				switch kw {
				case "vrrp_higher_prio_send_advert":
					g.HigherPrioSendAdvert = v
				case "vrrp_lower_prio_no_advert":
					g.LowerPrioNoAdvert = v
				default:
					g.NotifyPriorityChanges = v
				}
			}
		case "vrrp_garp_extra_if":
			if v, ok := p.garpExtraIf(n); ok {
				g.GARPExtraIf = v
			}
		case "notify_fifo", "vrrp_notify_fifo":
			p.fifo(n, fifoSlot(g, kw))
		case "notify_fifo_script", "vrrp_notify_fifo_script":
			p.fifoScript(n, fifoSlot(g, strings.TrimSuffix(kw, "_script")))
		case "default_interface":
			if p.args(n, 1, 1) {
				if len(n.words[1]) > maxIfName {
					p.d.errorf(n.pos, kw, "interface name %q is longer than %d bytes", n.words[1], maxIfName)
					break
				}
				g.DefaultInterface = n.words[1]
			}
		case "fifo_write_vrrp_states_on_reload":
			if p.flag(n) {
				g.FIFOWriteStatesOnReload = true
			}
		case "vmac_prefix":
			if p.args(n, 1, 1) {
				if len(n.words[1]) > maxIfName-4 {
					p.d.errorf(n.pos, kw, "%q leaves no room for .VRID in an interface name", n.words[1])
					break
				}
				g.VMACPrefix = n.words[1]
			}
		default:
			if globalIgnored[kw] {
				p.d.warnf(n.pos, kw, "e-mail notification is not supported by vrrpd, ignored")
				break
			}
			p.unknown(n, globalUnsupported)
		}
	}
}

// repeat parses a garp repeat count: keepalived turns 0 into 1 (with a
// warning) for backward compatibility with versions before 2.0.7.
func (p *parser) repeat(n *node) (int, bool) {
	v, ok := p.intKeyword(n, 0, math.MaxInt32)
	if ok && v == 0 {
		p.d.warnf(n.pos, n.keyword(), "must be greater than 0: 1 is used, as keepalived does")
		v = 1
	}
	return v, ok
}

func fifoSlot(g *Global, kw string) **FIFO {
	if kw == "notify_fifo" {
		return &g.NotifyFIFO
	}
	return &g.VRRPNotifyFIFO
}

// fifo parses "notify_fifo PATH [USER [GROUP]]".
func (p *parser) fifo(n *node, slot **FIFO) {
	if !p.args(n, 1, 3) {
		return
	}
	path := n.words[1]
	if !strings.HasPrefix(path, "/") {
		p.d.errorf(n.pos, n.keyword(), "%q is not an absolute path", path)
		return
	}
	f := *slot
	if f == nil {
		f = &FIFO{}
	} else if f.Path != "" {
		p.d.errorf(n.pos, n.keyword(), "set twice")
		return
	}
	f.Path, f.Pos = path, n.pos
	if len(n.words) > 2 {
		f.User = n.words[2]
	}
	if len(n.words) > 3 {
		f.Group = n.words[3]
	}
	*slot = f
}

// fifoScript parses "notify_fifo_script CMD [USER [GROUP]]".
func (p *parser) fifoScript(n *node, slot **FIFO) {
	c, ok := p.command(n, true)
	if !ok {
		return
	}
	f := *slot
	if f == nil {
		f = &FIFO{Pos: n.pos}
	} else if f.Script != nil {
		p.d.errorf(n.pos, n.keyword(), "set twice")
		return
	}
	f.Script = c
	*slot = f
}
