// Command vrrpd runs the VRRP part of an existing keepalived.conf on
// vrrpkit: same file, same notify scripts, same wire protocol (RFC 3768
// VRRPv2 with keepalived's PASS and IPsec AH, RFC 5798 VRRPv3 over IPv4 and
// IPv6, multicast or unicast), in one group with keepalived 2.2.7 nodes.
//
//	vrrpd [-f /etc/keepalived/keepalived.conf] [-D] [-p PIDFILE] [--status ADDR]
//	vrrpd --check -f FILE          (or keepalived's -t[LOGFILE])
//	vrrpd status [--status ADDR] [--json]
//
// # Command line
//
// keepalived's own options are accepted so that unit files and container
// images run vrrpd unchanged: -f/--use-file, -l/--log-console (always on),
// -D/--log-detail (adds every advert sent and received, and every dropped
// packet), -p/--pid and -r/--vrrp_pid (both written with vrrpd's pid;
// vrrpd refuses to start while one names a running vrrpd, as keepalived
// does),
// -i/--config-id, -d/--dump-conf (logs the configuration with every default
// explicit), -u/--umask, -t/--config-test[=FILE], --signum (the numbers
// keepalived prints for STOP, RELOAD, DATA, STATS, STATS_CLEAR and JSON),
// -S/--log-facility (log to syslog too, which journald reads, with
// keepalived's facilities: 0-7, local0-local7, user, daemon) and
// -G/--no-syslog; -n, -P and keepalived's other options are accepted and
// ignored with a log line. vrrpd's own: --log-format=json (one JSON object
// per line on the console, for log shippers), --metrics ADDR (below),
// -v/--version (the module version and VCS revision it was built from).
// vrrpd always runs in the foreground. keepalived's -C (health checkers
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
// --status ADDR serves the state of every instance (state, effective and
// configured priority, current master, VIPs, tracked objects with their
// effect, counters including dropped packets by reason, sync groups) as
// JSON at GET /status, on a unix socket (unix:/run/vrrpd.sock, or a path)
// or a TCP address; "vrrpd status" prints it as a table (or --json).
//
// # What maps to what
//
// The configuration is read by package kaconf, which applies keepalived
// 2.2.7's defaults and refuses what keepalived would refuse or run
// otherwise than written; vrrpd then translates (translate.go, one
// function per concept):
//
//   - vrrp_instance → one vrrp.Router in one vrrp.Node (one event loop, one
//     socket per interface and family): virtual_router_id, interface,
//     priority, advert_int, version / vrrp_version, nopreempt,
//     preempt_delay, accept / no_accept, unicast_src_ip / mcast_src_ip,
//     unicast_peer, vrrp_check_unicast_src, vrrp_mcast_group4/6,
//     authentication (PASS, AH), v3_checksum_as_v2, vrrp_sync_group
//     membership, dont_track_primary (vrrp.Config.IgnoreLinkDown).
//   - virtual_ipaddress and virtual_ipaddress_excluded (address/prefix, dev,
//     label) → vrrp.VIP on vip's Linux backend; excluded addresses of the
//     other family (dual stack) are in the router's address set too.
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
//     appended ("INSTANCE VI_1 MASTER 150", "GROUP G FAULT 0"), in the
//     daemon's environment, in a process group of their own. Each
//     instance's (and group's) scripts run on a queue of their own, off
//     the protocol loop, one at a time and in the order of the
//     transitions, each killed after --notify-timeout (30 s); failures are
//     logged with the script's output. A sync group is MASTER when every
//     member is, FAULT when any is, BACKUP otherwise, STOP at exit.
//   - script_user, enable_script_security: scripts run as their own user
//     (notify_* ... USER [GROUP], vrrp_script's user), else script_user,
//     else keepalived_script if that user exists, else root. A program
//     named without '/' is looked up in PATH (with keepalived's warning).
//     With enable_script_security, a script that would run as root but
//     that a non-root user could modify (it or a directory above it owned
//     by a non-root user, or writable by a non-root group or by others,
//     sticky directories excepted — keepalived's check_script_secure) is
//     disabled; without it, it runs with a warning. A missing script is
//     disabled, as in keepalived; the instances that track it ignore it.
//   - vrrp_startup_delay delays the start of the instances (the trackers
//     start at once).
//
// # Differences from keepalived
//
// Settings kaconf parses but the library has no field for are warned
// about with their file and line and ignored: per-peer min_ttl/max_ttl,
// virtual_ipaddress brd and scope (and the options kaconf already warns
// about: use_vmac, preferred_lft, -nodad, noprefixroute, peer, e-mail
// notification). An instance the library cannot run (a VRRPv2 instance
// without addresses, which keepalived accepts) is an error. "state MASTER"
// does what it does in keepalived 2.2.7 (priority 255 when none is given)
// and nothing more. Other behaviour that differs:
//
//   - Notify scripts of one instance never overlap and are never
//     reordered; keepalived forks them without waiting. They get no stdin
//     and their output goes to vrrpd's log when they fail.
//   - keepalived skips a sync group member's own notify when the group is
//     already in that state; vrrpd runs every member's.
//   - IPv6 VIPs are added deprecated (preferred lifetime 0), so that the
//     host never picks one as its source address; keepalived does that for
//     /128 VIPs only (vip.IPv6SourceAvoid).
//   - no_accept is enforced with an nftables table of vrrpd's own (inet
//     vrrpkit) that drops packets to the VIPs while a non-owner master
//     holds them, neighbor discovery excepted; keepalived uses iptables or
//     nftables rules in chains it is configured with (vrrp_iptables,
//     nftables), which vrrpd does not read.
//   - The Go runtime runs with GOMAXPROCS=1 and GOGC=50 unless the
//     environment sets them: the protocol is one event loop, and more
//     threads only add wake-ups (see BENCHMARKS.md).
//
// Building with -tags pprof adds --cpuprofile and --memprofile.
package main
