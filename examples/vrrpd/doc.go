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
// reason, sync groups) as JSON at GET /status; "vrrpd status" prints it
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
//     appended ("INSTANCE VI_1 MASTER 150", "GROUP G FAULT 0"), in a
//     process group of their own, with an environment of PATH and
//     VRRP_TYPE, VRRP_NAME, VRRP_STATE, VRRP_PRIORITY (the four notify
//     arguments, for every notify script), nothing of the daemon's. Each
//     instance's (and group's) scripts run on a queue of their own, off
//     the protocol loop, one at a time and in the order of the
//     transitions, each killed after --notify-timeout (30 s); failures are
//     logged with the script's output. A sync group is MASTER when every
//     member is, FAULT when any is, BACKUP otherwise, STOP at exit.
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
//     VRRPv3 included (the library still refuses an instance without
//     addresses: an error naming its line);
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
//     key written in the configuration itself). Until the library signs
//     and verifies, an instance with auth_hmac is refused, with the file
//     and line of its auth_hmac: running it unauthenticated would be what
//     the operator asked not to get.
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
// Settings kaconf parses but the library has no field for are warned
// about with their file and line and ignored: virtual_ipaddress brd and
// scope (and the options kaconf already warns
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
// Building with -tags pprof adds --cpuprofile and --memprofile.
package main
