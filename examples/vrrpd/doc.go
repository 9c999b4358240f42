// Command vrrpd runs the VRRP part of an existing keepalived.conf on
// vrrpkit: same file, same notify scripts, same wire protocol (RFC 3768
// VRRPv2 with keepalived's PASS and IPsec AH, RFC 5798 VRRPv3 over IPv4 and
// IPv6, multicast or unicast), in one group with keepalived 2.2.7 nodes.
//
//	vrrpd [-f /etc/keepalived/keepalived.conf] [-D] [-p PIDFILE] [--status ADDR|none]
//	vrrpd --check -f FILE          (or keepalived's -t[LOGFILE])
//	vrrpd status [--status ADDR] [--json]
//
// # Command line
//
// keepalived's own options are accepted so that unit files and container
// images run vrrpd unchanged: -f/--use-file, -l/--log-console (always on),
// -D/--log-detail (adds every advert sent and received, and every dropped
// packet), -p/--pid and -r/--vrrp_pid (both written with vrrpd's pid and
// removed at exit; -p defaults to /run/vrrpd.pid, keepalived's rule —
// RUNSTATEDIR/PROGRAM.pid — under vrrpd's name, so that a keepalived
// beside it keeps /run/keepalived.pid; -r is written only when given),
// -i/--config-id, -d/--dump-conf (logs the configuration with every default
// explicit), -u/--umask, -t/--config-test[=FILE], --signum (the numbers
// keepalived prints for STOP, RELOAD, DATA, STATS, STATS_CLEAR and JSON),
// -S/--log-facility (log to syslog too, which journald reads, with
// keepalived's facilities: 0-7, local0-local7, user, daemon) and
// -G/--no-syslog; -n, -P and keepalived's other options are accepted and
// ignored with a log line. vrrpd's own: --log-format=json (one JSON object
// per line on the console, for log shippers), --metrics ADDR (below),
// -v/--version (the module version and VCS revision it was built from).
// vrrpd always runs in the foreground.
//
// A pid file is the daemon's lock: vrrpd holds an exclusive flock on it
// while it runs and refuses to start while another process holds it, or
// while it names a running vrrpd or keepalived that takes no lock (as
// keepalived refuses: "daemon is already running"); a file left by a
// killed run is taken over. It is never reached through a symbolic link
// (O_NOFOLLOW), must be a regular file with one link, and is written to a
// new file that replaces it in one rename: no reader sees a partial pid
// and an error leaves no file behind. keepalived's -C (health checkers
// only) is refused: vrrpd has none, and --check (which keepalived spells
// --config-test) validates the file and exits, 0 when it can run.
//
// Signals: SIGTERM and SIGINT stop every instance — a master sends a
// priority-0 advert and removes its VIPs — run the notify_stop scripts and
// exit. SIGHUP reloads: a file with errors is refused (each error logged
// with file and line) and the running configuration stays; otherwise
// instances that are new start, removed ones stop, changed ones restart,
// and the others keep running untouched — no transition, no notify, no
// advert out of turn. An instance counts as changed when its own settings,
// the scripts, processes or files it tracks, its sync group, or the global
// settings it inherits (vrrp_garp_*) differ.
//
// SIGUSR1, SIGUSR2, SIGRTMAX-1 and SIGRTMIN+2 (keepalived's DATA, STATS,
// STATS_CLEAR and JSON) write keepalived.data, keepalived.stats and
// keepalived.json in $TMPDIR (default /tmp), mode 0600, in keepalived's
// layout: the fields keepalived 2.2.7 and 2.4.3 both write that vrrpd can
// fill, in their order, the JSON with keepalived 2.4.3's field names
// (without auth_data: vrrpd never writes a password). A file is written
// under a new name and renamed into place, so a link planted at the name
// is replaced, never followed. STATS_CLEAR restarts the stats file's
// counts; the metrics' counters never go back.
//
// --metrics ADDR serves Prometheus metrics at /metrics (package
// vrrp/vrrpprom: the keepalived exporter's names, so dashboards built for
// keepalived work, and vrrpkit_ ones) on a unix socket (unix:/path) or a
// loopback TCP address; an address other hosts can reach needs
// --metrics-allow-remote.
//
// Under systemd (Type=notify, examples/vrrpd/systemd/vrrpd.service) vrrpd
// sends READY=1 once every instance knows its first state, RELOADING=1
// and READY=1 around a SIGHUP reload, STOPPING=1 when it stops, and with
// WatchdogSec pets the watchdog only while its protocol loop answers, so
// that a stuck loop gets it restarted. The unit runs it as an
// unprivileged user with CAP_NET_ADMIN and CAP_NET_RAW only; notify and
// track scripts then run as that user.
//
// The status endpoint serves the state of every instance (state,
// effective and configured priority, current master, VIPs, tracked
// objects with their effect, counters including dropped packets by
// reason, the last router heard speaking the other VRRP version on the
// VRID — keepalived defaults to version 2, vrrpkit's library to 3, and
// the two do not hear each other —, sync groups) as JSON at GET /status;
// "vrrpd status" prints it
// as a table (or --json). It listens on --status ADDR, by default the
// unix socket /run/vrrpd.sock (a path, unix:PATH, a loopback host:port,
// or none). The socket has mode 0660, owned by vrrpd's user (root) and
// --status-group (default vrrpd's group), set before anyone can connect;
// a socket a running daemon serves on is never taken over. TCP is
// refused beyond loopback unless --status-remote: the endpoint has no
// authentication. At most 8 requests are served at once (more are told
// 503), each with 2 s to send its request and 5 s to read the answer, and
// a failing accept (out of file descriptors) is retried with backoff. A
// default endpoint that cannot listen is logged and skipped; one given
// with --status stops the start.
//
// # What maps to what
//
// The configuration is read by package kaconf, which reads keepalived
// 2.2.7's syntax and what keepalived 2.4.3 added to it that an upgrading
// operator writes, applies keepalived 2.4.3's defaults, and refuses what
// keepalived would refuse or run otherwise than written; vrrpd then
// translates (translate.go, one function per concept):
//
//   - vrrp_instance → one vrrp.Router in one vrrp.Node (one event loop, one
//     socket per interface and family): virtual_router_id, interface,
//     priority, advert_int, version / vrrp_version, nopreempt,
//     preempt_delay, accept / no_accept, unicast_src_ip / mcast_src_ip,
//     unicast_peer, vrrp_check_unicast_src, vrrp_mcast_group4/6,
//     authentication (PASS, AH), v3_checksum_as_v2, vrrp_sync_group
//     membership, dont_track_primary (vrrp.Config.IgnoreLinkDown),
//     mcast_dst_ip, lower_prio_no_advert and higher_prio_send_advert
//     (and their vrrp_ globals), unicast_fault_no_peer (a tracked status
//     that keeps an instance without peers in FAULT).
//   - virtual_ipaddress and virtual_ipaddress_excluded (address/prefix, dev,
//     label, brd, scope, peer, preferred_lft, noprefixroute, home,
//     mngtmpaddr, autojoin, no_track) → vrrp.VIP and vrrp.AddressOptions
//     on vip's Linux backend; excluded addresses of the other family (dual
//     stack) are in the router's address set too. An instance without
//     addresses (no_virtual_ipaddress, or VRRPv2 with none) runs: its
//     adverts list none, as keepalived's, and its notify scripts and
//     vrrpd_cloud blocks move the address.
//   - use_vmac [NAME] [MAC] (and vmac_xmit_base, vmac_prefix) → a VMAC of
//     package vip/vmac: the router runs on it (its adverts leave with the
//     virtual MAC, from the base interface's address) and its addresses
//     without a dev go on it; the interface is made with keepalived's
//     settings, reused after a crash, removed at exit.
//   - virtual_routes and virtual_rules → vip.Routing's backend of the
//     instance, composed after the addresses (vip.Multi): added while
//     master, put back when deleted (but for no_track), removed otherwise
//     and at startup; static_ipaddress, static_routes and static_rules are
//     added at load and removed at exit.
//   - vrrp_garp_master_delay/repeat/refresh/refresh_repeat,
//     vrrp_garp_lower_prio_delay/repeat, vrrp_garp_interval,
//     vrrp_gna_interval and the per-instance garp_* → vip.Schedule (the
//     backend's own for the global settings, WithSchedule per instance
//     that differs).
//   - vrrp_script, vrrp_track_process, track_file, track_interface (and a
//     sync group's own track_*) → one health.Tracker per object, shared by
//     every instance that tracks it, each with its own weight and reverse
//     (keepalived's arithmetic, in health.Weight), reported through
//     Router.Track. As keepalived keeps an instance in INIT until its
//     scripts have returned once, vrrpd starts an instance only when its
//     tracked objects know their state (at most a script timeout). A
//     vrrp_track_process is polled from /proc every second (keepalived
//     uses the kernel's process events); fork_delay and terminate_delay
//     become rise and fall.
//   - notify, notify_master, notify_backup, notify_fault, notify_stop (and
//     a sync group's) → scripts run with keepalived's arguments: the
//     specific script first, then notify with TYPE NAME STATE PRIORITY
//     appended ("INSTANCE VI_1 MASTER 150", "GROUP G FAULT 0"), in a
//     process group of their own, with an environment of PATH and
//     VRRP_TYPE, VRRP_NAME, VRRP_STATE, VRRP_PRIORITY (the four notify
//     arguments, for every notify script), nothing of the daemon's. Each
//     instance's (and group's) scripts run on a queue of their own, off
//     the protocol loop, one at a time and in the order of the
//     transitions, each killed after --notify-timeout (30 s); failures are
//     logged with the script's output. A sync group is MASTER when every
//     member is, FAULT when any is, BACKUP otherwise, STOP at exit; as in
//     keepalived, a member's own notifies are skipped when it enters a
//     state its group reached before (not in the same sweep). An instance
//     a reload deletes notifies FAULT, or DELETED with notify_deleted.
//     notify_master_rx_lower_pri runs (with its own arguments) each time a
//     master hears a lower priority.
//   - notify_fifo and vrrp_notify_fifo → a FIFO written with keepalived's
//     lines (INSTANCE "VI_1" MASTER 150, GROUP "G" BACKUP 0,
//     MASTER_RX_LOWER_PRI, and MASTER_PRIORITY / BACKUP_PRIORITY with
//     notify_priority_changes), never blocking (a line nobody reads is
//     dropped and counted); their _script runs with the FIFO as its last
//     argument.
//   - script_user, enable_script_security: scripts run as their own user
//     (notify_* ... USER [GROUP], vrrp_script's user), else script_user,
//     else keepalived_script if that user exists, else root, resolved
//     once to numeric ids that the script then runs with (no
//     supplementary groups). A program named without '/' is looked up in
//     /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin (with
//     keepalived's warning), which is also the scripts' PATH. As
//     keepalived's check_script_secure: a script its ids cannot execute
//     is disabled; one that runs with uid 0 or gid 0 (by id: a uid-0
//     alias, or "nobody root", count) or is setuid / setgid root is
//     checked along the whole path as the kernel resolves it — every
//     directory from /, every symbolic link and where it leads, the file
//     — and if any is owned by a non-root user, or writable by a non-root
//     group or by others (sticky directories excepted), it is disabled
//     with enable_script_security and runs with a warning without. A
//     missing script is disabled, as in keepalived; the instances that
//     track it ignore it. Scripts get no environment of the daemon's.
//   - vrrp_startup_delay delays the start of the instances (the trackers
//     start at once); so does vrrp_delay_after_boot (keepalived 2.4), until
//     the system has been up that long, the longer delay winning. The VIPs
//     of every instance are removed at once at start, before the delay: a
//     predecessor killed with SIGKILL may have left them on the host.
//
// # keepalived 2.4.3
//
// Where keepalived 2.2.7 and 2.4.3 differ, vrrpd follows 2.4.3. For the
// VRRP part their defaults agree — the two versions' -d dumps of the same
// configuration show the same values for every instance, script, process
// and file setting — but for these:
//
//   - v3_checksum_as_v2 [BOOL] is a keyword in the instance and, as every
//     instance's default, in global_defs (2.2.7 knows neither);
//   - no_virtual_ipaddress lets an instance have no virtual_ipaddress,
//     VRRPv3 included;
//   - ${_ENV NAME} is the environment variable NAME (unset is an error
//     here: keepalived would substitute an empty string);
//   - auth_hmac { key ID hex:HEX|TEXT|file:PATH; active_key ID;
//     anti_replay time|monotonic; time_window SECONDS; mode
//     enforce|permissive|receive-only } is read in full, with 2.4.3's
//     defaults: anti_replay time, mode enforce, time_window max(3 × the
//     whole seconds of advert_int, 5), at most 300. A file: key is read
//     relative to the file that names it, through the configuration's file
//     system; it must be a regular file of at most 4 KiB holding one line
//     (hex:HEX or the key itself; the line end is dropped), owned by root
//     or by the user vrrpd runs as, with no permission for group or others
//     (keepalived refuses one readable by group or others). The keys never
//     appear in logs, the status, or the -d dump (a comment stands for a
//     key written in the configuration itself; the status shows each
//     key's id and length, keepalived.data the number of keys). The
//     instance signs and verifies its adverts as keepalived 2.4.3 does
//     (VRRPv2 and v3, IPv4 and IPv6, multicast and unicast). A SIGHUP
//     that changes only an instance's auth_hmac — a key added, removed or
//     reread from its file, active_key, mode, anti_replay, time_window, or
//     auth_hmac added or removed — applies it to the running instance
//     without a transition. Rotate a key with three reloads on every node:
//     add it, make it active_key node by node, remove the old one; roll
//     auth_hmac out to an unsigned group with mode receive-only
//     everywhere, then permissive everywhere, then enforce. auth_hmac next
//     to authentication is refused (keepalived drops the legacy one).
//
// Whatever vrrpd does not understand about authentication — an unknown
// keyword or block inside authentication or auth_hmac, an instance
// keyword starting with "auth" it does not know, an unknown auth_type, an
// auth_hmac keepalived would disable (no key, no or an undefined
// active_key, a key of the wrong length or not hexadecimal) — is an error
// naming file and line, never a warning: keepalived runs such an instance
// unauthenticated.
//
// # Extension: cloud backends (vrrpd_cloud)
//
// keepalived has no way to move an address inside a cloud network, where
// gratuitous ARP does not reach the provider's routing; its users call the
// cloud's CLI from notify_master scripts, which race each other on fast
// transitions, are not retried and fail silently. vrrpd adds a block
// keepalived does not know. keepalived 2.2.7 misreads it: it takes the
// block's closing brace for the instance's, so that what follows the
// block is read outside the instance. Placed last in the instance, as
// below, it costs keepalived only warnings (unknown keywords) and the
// file runs on both, without the cloud part on keepalived:
//
//	vrrp_instance VI_1 {
//	    interface eth0
//	    virtual_router_id 51
//	    virtual_ipaddress {
//	        10.0.0.100/24
//	    }
//	    vrrpd_cloud {
//	        provider aws_secondary_ip
//	    }
//	    vrrpd_cloud {
//	        provider aws_elastic_ip
//	        allocation_id eipalloc-0123456789abcdef0
//	        private_ip follow_vip
//	    }
//	}
//
// Each block is one backend of package vip/aws (aws_secondary_ip,
// aws_elastic_ip, aws_route, aws_eni; the keywords are in kaconf.Cloud)
// composed with the interface's addresses through vip.Multi: in file
// order after them, aws_eni before them. The calls are made in process,
// in the order of the transitions, retried with backoff up to
// acquire_timeout, and re-asserted every reassert seconds while master;
// failures are logged with the instance's name. Credentials and the
// instance's identity come from the instance's role through IMDSv2 (or
// the SDK's environment and shared files), never from the configuration.
// The notify scripts run as before, with or without vrrpd_cloud blocks.
//
// # Differences from keepalived
//
// The table below says, keyword by keyword, what vrrpd does otherwise or
// not at all. Settings kaconf parses but vrrpd does not carry out are
// warned about with their file and line and ignored (e-mail
// notification, ...). "state MASTER" does what it
// does in keepalived 2.2.7 (priority 255 when none is given) and nothing
// more. Other behaviour that differs:
//
//   - Notify scripts of one instance never overlap and are never
//     reordered; keepalived forks them without waiting. They get no stdin
//     and their output goes to vrrpd's log when they fail.
//   - A VMAC's base interface gets arp_announce 2 besides keepalived's
//     arp_ignore 1 and arp_filter 1 (else the host's own ARP requests
//     name a virtual address with the base's MAC, and clients follow the
//     old master after a takeover), and all three are put back at exit
//     (keepalived leaves them set).
//   - Two address owners (priority 255) on one VRID: "CONFIGURATION
//     ERROR: local instance and ADDR are both configured as address
//     owner" is logged, as keepalived 2.4.3 logs it, but an owner discards
//     every advert (RFC 5798 §7.1, what keepalived does only with
//     vrrp_strict), so both stay master: a forged owner advert must not
//     take an owner's addresses. keepalived outside vrrp_strict lets the
//     higher address win.
//   - IPv6 VIPs are added deprecated (preferred lifetime 0), so that the
//     host never picks one as its source address; keepalived does that for
//     /128 VIPs only (vip.IPv6SourceAvoid).
//   - no_accept is enforced with an nftables table of vrrpd's own (inet
//     vrrpkit-PID-1) that drops packets to the VIPs while a non-owner
//     master holds them, neighbor discovery excepted, and is rebuilt at
//     once when a firewall reload (nft flush ruleset) deletes it;
//     keepalived uses iptables or nftables rules in chains it is
//     configured with (vrrp_iptables, nftables), which vrrpd does not
//     read. When the rules cannot be installed (no nf_tables), an
//     instance with no_accept does not take its VIPs: it goes to FAULT
//     and a backup takes over, where keepalived would hold them open.
//   - The Go runtime runs with GOMAXPROCS=1 and GOGC=50 unless the
//     environment sets them: the protocol is one event loop, and more
//     threads only add wake-ups (see BENCHMARKS.md).
//
// # keepalived.conf(5), keyword by keyword
//
// Every keyword of the VRRP part of keepalived 2.4.3's keepalived.conf(5),
// by block, and what vrrpd does with it: "=" as keepalived does; "~"
// mapped, with the difference said; "-" not supported, and why. A keyword
// vrrpd does not support is never silently dropped: the load warns with
// its file and line ("not supported by vrrpd, ignored"), or refuses the
// file where running without it would be other than written (an
// authentication vrrpd cannot do, a route option it cannot add). The
// checker, LVS and BFD keywords of global_defs are listed too: vrrpd runs
// no checker, virtual server or BFD, and warns about them.
//
//	top level
//	  global_defs                    =
//	  vrrp_instance                  =  one vrrp.Router each, all in one vrrp.Node
//	  vrrp_script                    =  a health.Exec tracker, shared by the instances tracking it
//	  vrrp_track_process             ~  polled from /proc every second (keepalived: the kernel's process events)
//	  track_file                     =  vrrp_track_file is its deprecated synonym
//	  vrrp_sync_group                =
//	  static_ipaddress               ~  added at load, kept (put back when deleted) and removed at exit; no track_group
//	  static_routes                  ~  as virtual_routes, held for the daemon's life; no track_group
//	  static_rules                   ~  as virtual_rules, held for the daemon's life; no track_group
//	  garp_group                     -  warned: vrrp_garp_interval / vrrp_gna_interval pace each interface
//	  track_group                    -  warned: a static address, route or rule that cannot be put back faults no instance
//	  linkbeat_interfaces            -  warned: link state always comes from netlink
//	  interface_up_down_delays       -  warned: an instance follows its interface at once
//
//	global_defs
//	  router_id                      =  names the node in logs and the status
//	  vrrp_version                   =
//	  vrrp_mcast_group4              =
//	  vrrp_mcast_group6              =
//	  vrrp_garp_master_delay         =  vip.Schedule.Delay (as every garp keyword: vip.Schedule)
//	  vrrp_garp_master_repeat        =
//	  vrrp_garp_master_refresh       ~  a refresh every period exactly; keepalived sends it with the first advert after the period
//	  vrrp_garp_master_refresh_repeat =
//	  vrrp_garp_lower_prio_delay     =
//	  vrrp_garp_lower_prio_repeat    =
//	  vrrp_garp_interval             =
//	  vrrp_gna_interval              =
//	  vrrp_min_garp                  =
//	  vrrp_garp_extra_if             ~  as garp_extra_if
//	  vrrp_down_timer_adverts        -  warned: Master_Down_Interval stays RFC 5798's 3 intervals plus skew
//	  vrrp_lower_prio_no_advert      =  vrrp.Config.LowerPriorityNoAdvert
//	  vrrp_higher_prio_send_advert   =  vrrp.Config.HigherPriorityAdvert
//	  v3_checksum_as_v2              =
//	  vrrp_check_unicast_src         =
//	  vrrp_skip_check_adv_addr       -  warned: every advert's address list is checked (it costs nothing measurable)
//	  vrrp_strict                    -  warned: its rules are keepalived's opinion, not the wire's; write no_accept etc. as needed
//	  vrrp_notify_priority_changes   =
//	  vrrp_startup_delay             =
//	  vrrp_delay_after_boot          =
//	  script_user                    =
//	  enable_script_security         =
//	  notify_fifo                    =  keepalived's lines; the FIFO is made (mode 0600) if missing
//	  notify_fifo_script             =  runs with the FIFO as its last argument, stopped at exit
//	  vrrp_notify_fifo               =
//	  vrrp_notify_fifo_script        =
//	  fifo_write_vrrp_states_on_reload =
//	  vmac_prefix                    =
//	  vmac_addr_prefix               -  warned: use_vmac_addr is not supported
//	  default_interface              =  where static addresses without dev go
//	  nftables                       -  warned: no_accept and the VMAC rules use nftables tables of vrrpd's own
//	  nftables_priority              -  warned, as nftables
//	  nftables_counters              -  warned, as nftables
//	  nftables_ifindex               -  warned, as nftables
//	  vrrp_iptables                  -  warned: vrrpd uses nftables
//	  vrrp_ipsets                    -  warned: vrrpd uses nftables
//	  disable_local_igmp             -  warned: the VMAC rules move IGMP onto the base interface instead
//	  dynamic_interfaces             -  warned: vrrpd always follows interfaces that come, go and come back
//	  log_unknown_vrids              -  warned: unknown VRIDs are logged at Debug (-D), rate-limited, always
//	  vrrp_netlink_cmd_rcv_bufs      -  warned: on a netlink overflow vrrpd reads the state afresh
//	  vrrp_netlink_cmd_rcv_bufs_force -  warned, as vrrp_netlink_cmd_rcv_bufs
//	  vrrp_netlink_monitor_rcv_bufs  -  warned, as vrrp_netlink_cmd_rcv_bufs
//	  vrrp_netlink_monitor_rcv_bufs_force -  warned, as vrrp_netlink_cmd_rcv_bufs
//	  vrrp_rx_bufs_policy            -  warned: the socket buffers are the kernel's defaults
//	  vrrp_rx_bufs_multiplier        -  warned, as vrrp_rx_bufs_policy
//	  max_auto_priority              -  warned: no automatic real-time priority
//	  min_auto_priority_delay        -  warned, as max_auto_priority
//	  vrrp_priority                  =  every thread's nice value (vrrp/vrrpsched)
//	  vrrp_no_swap                   ~  mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT): locked as touched, not faulted in at once (vrrp/vrrpsched)
//	  vrrp_cpu_affinity              -  warned: set the CPU set from outside (taskset, systemd)
//	  vrrp_rt_priority               =  every thread SCHED_RR at that priority (vrrp/vrrpsched)
//	  vrrp_rlimit_rttime             ~  RLIMIT_RTTIME's soft limit (SIGXCPU, ignored); the hard limit (SIGKILL) is twice it, at least 200 ms more, so that a garbage collection does not kill vrrpd
//	  vrrp_process_name              -  warned: one process, named vrrpd
//	  process_names                  -  warned, as vrrp_process_name
//	  process_name                   -  warned, as vrrp_process_name
//	  snmp_socket                    -  warned: no SNMP; the status endpoint serves the state
//	  enable_snmp_vrrp               -  warned, as snmp_socket
//	  enable_snmp_rfc                -  warned, as snmp_socket
//	  enable_snmp_rfcv2              -  warned, as snmp_socket
//	  enable_snmp_rfcv3              -  warned, as snmp_socket
//	  enable_traps                   -  warned, as snmp_socket
//	  enable_dbus                    -  warned: no D-Bus; the status endpoint serves the state
//	  dbus_service_name              -  warned, as enable_dbus
//	  dbus_no_interface_name         -  warned, as enable_dbus
//	  notification_email             -  warned: no e-mail
//	  notification_email_from        -  warned: no e-mail
//	  smtp_server                    -  warned: no e-mail
//	  smtp_helo_name                 -  warned: no e-mail
//	  smtp_connect_timeout           -  warned: no e-mail
//	  smtp_alert                     -  warned: no e-mail
//	  smtp_alert_vrrp                -  warned: no e-mail
//	  no_email_faults                -  warned: no e-mail
//	  net_namespace                  -  warned: run vrrpd in the namespace (ip netns exec)
//	  namespace_with_ipsets          -  warned, as net_namespace
//	  instance                       -  warned: -p names the pid file
//	  use_pid_dir                    -  warned, as instance
//	  linkbeat_use_polling           -  warned: link state always comes from netlink
//	  child_wait_time                -  warned: vrrpd has no child processes but scripts
//	  tmp_config_directory           -  warned: the configuration is read into memory
//	  config_save_dir                -  warned, as tmp_config_directory
//	  use_symlink_paths              -  warned: scripts are checked along their path as the kernel resolves it
//	  startup_script                 -  warned: run it before vrrpd (ExecStartPre)
//	  startup_script_timeout         -  warned, as startup_script
//	  shutdown_script                -  warned: run it after vrrpd (ExecStopPost)
//	  shutdown_script_timeout        -  warned, as shutdown_script
//	  umask                          -  warned: vrrpd's -u sets it
//	  random_seed                    -  warned: ${_RANDOM} is not supported
//	  reload_check_config            -  warned: a reload always checks the file first, and keeps the running configuration if it has errors
//	  include_check                  -  warned: a plain include that matches no file is warned about, keepalived's includer, includem, includew, includeb and includea refuse it
//	  reload_time_file               -  warned: reload with SIGHUP
//	  reload_repeat                  -  warned, as reload_time_file
//	  reload_file                    -  warned, as reload_time_file
//	  data_use_instance              -  warned: no SIGUSR1 dumps; the status endpoint serves the state
//	  state_file_location            -  warned, as data_use_instance
//	  stats_file_location            -  warned, as data_use_instance
//	  json_file_location             -  warned, as data_use_instance
//	  json_version                   -  warned, as data_use_instance
//	  iproute_usr_dir                -  warned: route tables are given by number, main, local or default
//	  iproute_etc_dir                -  warned, as iproute_usr_dir
//	  net_namespace_ipvs             -  warned: LVS (checker process)
//	  lvs_sync_daemon                -  warned: LVS
//	  lvs_timeouts                   -  warned: LVS
//	  lvs_flush                      -  warned: LVS
//	  lvs_flush_on_stop              -  warned: LVS
//	  lvs_notify_fifo                -  warned: LVS
//	  lvs_notify_fifo_script         -  warned: LVS
//	  lvs_netlink_cmd_rcv_bufs       -  warned: LVS
//	  lvs_netlink_cmd_rcv_bufs_force -  warned: LVS
//	  lvs_netlink_monitor_rcv_bufs   -  warned: LVS
//	  lvs_netlink_monitor_rcv_bufs_force -  warned: LVS
//	  nftables_ipvs                  -  warned: LVS
//	  nftables_ipvs_priority         -  warned: LVS
//	  nftables_ipvs_start_fwmark     -  warned: LVS
//	  snmp_vs_stats_update_interval  -  warned: LVS
//	  snmp_rs_stats_update_interval  -  warned: LVS
//	  rs_init_notifies               -  warned: checker
//	  no_checker_emails              -  warned: checker
//	  checker_process_name           -  warned: checker
//	  checker_log_all_failures       -  warned: checker
//	  smtp_alert_checker             -  warned: checker
//	  enable_snmp_checker            -  warned: checker
//	  checker_priority               -  warned: checker
//	  checker_no_swap                -  warned: checker
//	  checker_cpu_affinity           -  warned: checker
//	  checker_rt_priority            -  warned: checker
//	  checker_rlimit_rttime          -  warned: checker
//	  process_monitor_rcv_bufs       -  warned: vrrp_track_process is polled, not fed by the kernel
//	  process_monitor_rcv_bufs_force -  warned, as process_monitor_rcv_bufs
//	  bfd_process_name               -  warned: BFD
//	  bfd_priority                   -  warned: BFD
//	  bfd_no_swap                    -  warned: BFD
//	  bfd_cpu_affinity               -  warned: BFD
//	  bfd_rt_priority                -  warned: BFD
//	  bfd_rlimit_rttime              -  warned: BFD
//
//	vrrp_instance
//	  state                          ~  MASTER sets the default priority to 255, as keepalived 2.2.7, and nothing else
//	  interface                      =
//	  virtual_router_id              =
//	  priority                       =
//	  advert_int                     =  rounded as keepalived rounds it
//	  version                        =
//	  native_ipv6                    =  deprecated: the addresses set the family
//	  nopreempt                      =
//	  preempt                        =
//	  preempt_delay                  =
//	  accept                         =
//	  no_accept                      ~  an nftables table of vrrpd's own; without nf_tables the instance faults instead of holding its addresses open
//	  mcast_src_ip                   =
//	  unicast_src_ip                 =
//	  mcast_dst_ip                   =  vrrp.Config.Group
//	  unicast_peer                   =
//	  check_unicast_src              =
//	  unicast_fault_no_peer          =  a tracked status in FAULT for good
//	  unicast_ttl                    -  warned: unicast adverts leave with TTL 255, as multicast ones
//	  old_unicast_checksum           -  warned: only today's checksum (keepalived after 1.3.6)
//	  v3_checksum_as_v2              =
//	  dont_track_primary             =  vrrp.Config.IgnoreLinkDown
//	  track_interface                =
//	  track_script                   =
//	  track_file                     =
//	  track_process                  ~  as vrrp_track_process
//	  track_bfd                      -  warned: no BFD
//	  track_src_ip                   -  warned: a missing source address faults the instance only when it is the interface's
//	  use_vmac                       ~  vip/vmac: keepalived's interface and sysctls, and arp_ignore's partner arp_announce 2 on the base; netlink_notify_msg and group are warned about
//	  vmac_xmit_base                 =
//	  use_vmac_addr                  -  warned: addresses on other interfaces go on those interfaces
//	  use_ipvlan                     -  warned: no ipvlan
//	  vrf                            -  warned: no VRF
//	  garp_master_delay              =
//	  garp_master_repeat             =
//	  garp_master_refresh            ~  as vrrp_garp_master_refresh
//	  garp_master_refresh_repeat     =
//	  garp_lower_prio_delay          =
//	  garp_lower_prio_repeat         =
//	  garp_extra_if                  ~  refreshes every address of the instance (with a VMAC, or with all), unless garp_master_refresh is set
//	  down_timer_adverts             -  warned: Master_Down_Interval stays the RFC's
//	  timer_expired_backup           -  warned: a late timer is not second-guessed
//	  lower_prio_no_advert           =
//	  higher_prio_send_advert        =
//	  authentication                 =  PASS and AH (VRRPv2)
//	  auth_hmac                      =  keepalived 2.4.3's, both directions; a reload changing only it causes no transition
//	  virtual_ipaddress              =  see its entries below
//	  virtual_ipaddress_excluded     =
//	  no_virtual_ipaddress           =  adverts list no address, as keepalived's
//	  virtual_routes                 ~  see its entries below; marked protocol keepalived
//	  virtual_rules                  ~  see its entries below
//	  promote_secondaries            -  warned: set it with sysctl (a VMAC has it)
//	  skip_check_adv_addr            -  warned, as vrrp_skip_check_adv_addr
//	  strict_mode                    -  warned, as vrrp_strict
//	  debug                          -  warned: -D logs every advert
//	  notify_master                  ~  as every notify script: one at a time per instance, in order, never overlapping
//	  notify_backup                  ~
//	  notify_fault                   ~
//	  notify_stop                    ~
//	  notify                         ~  with keepalived's four arguments
//	  notify_master_rx_lower_pri     ~
//	  notify_deleted                 =  DELETED instead of FAULT for an instance a reload deletes
//	  notify_priority_changes        =
//	  smtp_alert                     -  warned: no e-mail
//	  kernel_rx_buf_size             -  warned, as vrrp_rx_bufs_policy
//	  linkbeat_use_polling           -  warned: link state always comes from netlink
//
//	authentication
//	  auth_type                      =
//	  auth_pass                      =  cut to 8 bytes with a warning, as keepalived does
//
//	auth_hmac
//	  key                            =  hex:, text or file: (kept to keepalived's file rules); never shown, only its id and length
//	  active_key                     =
//	  anti_replay                    =
//	  time_window                    =
//	  mode                           =
//
//	virtual_ipaddress entries
//	  dev                            =
//	  label                          =
//	  brd                            =
//	  scope                          =  the kernel (Linux 6.18) takes IPv4 scopes but global on loopback addresses only
//	  peer                           =
//	  preferred_lft                  =
//	  -nodad                         =  every IPv6 address is added without DAD anyway
//	  noprefixroute                  =
//	  home                           =
//	  mngtmpaddr                     =
//	  autojoin                       =
//	  no_track                       ~  not put back when deleted; the instance stays master
//	  use_vmac                       -  warned: a VMAC per address is not supported
//	  track_group                    -  warned, as track_group
//
//	unicast_peer entries
//	  min_ttl                        =  vrrp.Config.PeerHopLimits; it also turns check_unicast_src on, as in keepalived
//	  max_ttl                        =  as min_ttl
//
//	virtual_routes entries
//	  src                            =
//	  to                             =
//	  via                            =  and gw
//	  or                             ~  a multipath route (keepalived 2.4.3 fails to add it)
//	  dev                            =  and oif
//	  onlink                         =
//	  nexthop                        =  via, dev, weight, onlink
//	  scope                          =
//	  table                          ~  a number, main, local or default (rt_tables names are refused)
//	  metric                         =  and priority, preference
//	  tos                            =  and dsfield
//	  protocol                       ~  keepalived only: every route is marked so
//	  blackhole                      =  and unicast, unreachable, prohibit, throw
//	  no_track                       =
//	  inet6                          =
//	  track_group                    -  refused: see track_group
//	  mtu                            -  refused, as every other "ip route" option (advmss, realms, encap, ...)
//
//	virtual_rules entries
//	  from                           =
//	  to                             =
//	  not                            =
//	  table                          ~  as a route's; and lookup
//	  preference                     =  and priority, order
//	  fwmark                         =
//	  iif                            =
//	  oif                            =
//	  tos                            =
//	  goto                           =
//	  blackhole                      =  and unreachable, prohibit, nop
//	  protocol                       ~  keepalived only
//	  no_track                       =
//	  inet6                          =
//	  track_group                    -  refused: see track_group
//	  uidrange                       -  refused, as every other "ip rule" option (sport, dport, ip_proto, l3mdev, ...)
//
//	vrrp_script
//	  script                         =
//	  interval                       =
//	  timeout                        =
//	  weight                         =
//	  rise                           =
//	  fall                           =
//	  user                           =
//	  init_fail                      =
//
//	vrrp_track_process
//	  process                        =
//	  param_match                    =
//	  weight                         =
//	  quorum                         =
//	  quorum_max                     =
//	  fork_delay                     ~  a rise of polls
//	  terminate_delay                ~  a fall of polls
//	  delay                          ~  both
//	  full_command                   =
//
//	track_file
//	  file                           =
//	  weight                         =
//	  init_file                      =
//
//	vrrp_sync_group
//	  group                          =
//	  track_interface                =
//	  track_script                   =
//	  track_file                     =
//	  track_process                  ~  as vrrp_track_process
//	  track_bfd                      -  warned: no BFD
//	  notify_master                  ~  as an instance's
//	  notify_backup                  ~
//	  notify_fault                   ~
//	  notify_stop                    ~
//	  notify                         ~
//	  notify_deleted                 -  warned: DELETED is an instance's state
//	  notify_priority_changes        -  warned: a group has no priority
//	  smtp_alert                     -  warned: no e-mail
//	  global_tracking                =  deprecated
//	  sync_group_tracking_weight     =
//
//	garp_group
//	  garp_interval                  -  warned with garp_group
//	  gna_interval                   -  warned with garp_group
//	  interface                      -  warned with garp_group
//	  interfaces                     -  warned with garp_group
//
//	track_group
//	  group                          -  warned with track_group
//
// Building with -tags pprof adds --cpuprofile and --memprofile.
package main
