// Package kaconf reads keepalived.conf (keepalived 2.2.7's VRRP part and
// what keepalived 2.4.3 added to it: auth_hmac, no_virtual_ipaddress,
// vrrp_delay_after_boot, v3_checksum_as_v2, ${_ENV NAME};
// keepalived.conf(5)) into a typed configuration with keepalived 2.4.3's
// defaults applied, for examples/vrrpd.
//
// # Syntax
//
// The reader follows keepalived's lib/parser.c rather than its manual
// where they differ:
//
//   - '#' and '!' start a comment anywhere outside double quotes — single
//     quotes do not protect them (keepalived 2.2.7 crashes on a '#' in
//     single quotes in a script line). "\#" and "\!" are the characters.
//   - '{' and '}' outside double quotes split a line, so
//     "virtual_ipaddress { 10.0.0.1 }" and "} vrrp_instance B {" work.
//     Each line of a list block (virtual_ipaddress, unicast_peer,
//     track_*) is one entry: "{ 10.0.0.1 10.0.0.2 }" is one address with
//     an unknown option, as in keepalived.
//   - Words are split at blanks; "..." is one word. Script lines (script,
//     notify*) are split again with shell-like quoting and escapes, see
//     Command.
//   - There is no line continuation: keepalived honours a trailing '\'
//     only in $NAME= definitions and misreads it elsewhere, so it is an
//     error here. Lines longer than 1023 bytes are an error too (keepalived
//     cuts them in two).
//   - include FILE (and includer, includem, includew, includeb, includea)
//     with glob(3) patterns and csh braces, relative to the including
//     file's directory; the files are read in place, even inside a block.
//     The file system is read once per load (each glob, each file). An
//     include that names a file being read is an error (keepalived
//     crashes); from then on no file is read in twice, so files whose
//     globs include each other cost one read each, not one per
//     permutation. At most 10000 inclusions per load.
//   - "@ID line" and "@^ID line" (Options.ConfigID), $NAME=VALUE
//     definitions (multi-line with trailing '\') and $NAME / ${NAME}
//     substitution, with ${_PWD}, ${_INSTANCE}, ${_HASH} and ${_BANG}, are
//     supported, and ${_ENV NAME} (keepalived 2.4: the environment variable,
//     Options.LookupEnv; unset is an error, where keepalived substitutes an
//     empty string); ~SEQ, ~LST and ${_RANDOM} are not (an error).
//
// # Errors and warnings
//
// Load refuses a configuration (an *Error naming file, line and keyword
// of every problem) that keepalived would refuse, or would run otherwise
// than written — where keepalived logs a complaint and substitutes a
// default, drops the setting or the block, or crashes:
//
//   - malformed syntax: unterminated quotes, unbalanced braces, a block
//     keyword without its block or a value keyword with one, a missing
//     value;
//   - a value that is not a number, an address or a keyword it must be,
//     or out of range (keepalived uses its default instead: priority 256
//     becomes 100);
//   - a vrrp_instance without interface or virtual_router_id, two
//     instances with one VRID on one interface and address family (unless
//     both are unicast to distinct peers), addresses of the wrong family
//     (keepalived skips them), VRRPv2 over IPv6, a VRRPv3 instance without
//     virtual_ipaddress, an advert_int above VRRPv3's 40.95 s;
//   - nopreempt or preempt_delay with state MASTER, nopreempt with priority
//     255 (keepalived ignores them);
//   - an authentication block without auth_type or auth_pass, or with a
//     keyword it does not know; an instance keyword starting with "auth"
//     that is not known;
//   - an auth_hmac block with anything it does not know, without keys or
//     active_key, with an active_key that names no key, a key whose id is
//     not 1..255, whose length is not 32..64 bytes, whose hex: has an odd
//     number of digits or is not hex, with words after the key (an
//     unquoted key with blanks), a file: key file that is missing, not a
//     regular file, larger than 4 KiB, of more than one line, accessible
//     to group or others, or owned by another user than root or the
//     reader — keepalived runs most of these unsigned; auth_hmac together
//     with authentication (keepalived drops the latter);
//   - a track_script, track_process, track_file or sync group member that
//     names nothing defined, an instance in two sync groups, a name
//     defined twice (keepalived keeps the first, silently for some);
//   - a vrrp_script line with unquoted arguments (keepalived runs the
//     program without them), or a notify keyword given twice;
//   - a virtual_routes, virtual_rules, static_routes or static_rules entry
//     with an option vip.Route or vip.Rule cannot carry (mtu, realms,
//     uidrange, a table named in rt_tables, a protocol other than
//     keepalived, track_group ...), or without a destination or a table;
//     use_vmac with unicast peers and no vmac_xmit_base, or with a
//     multicast MAC; a notify_fifo_script without its FIFO, two FIFOs of
//     one path.
//
// It warns — Config.Warnings, for the daemon to log — where keepalived
// warns and still runs what the configuration evidently means, or for
// what vrrpd does not do: unknown keywords (skipped with their block; a
// keepalived 2.2.7 confused by an unknown block reads its contents as if
// they belonged to the enclosing block), keepalived features vrrpd does
// not implement (use_ipvlan, track_bfd, e-mail, ...), auth_pass longer
// than 8 bytes (cut to 8), advert_int rounded (whole seconds for VRRPv2,
// 10 ms for VRRPv3), authentication on VRRPv3 (ignored), unicast_src_ip
// without peers (multicast, or FAULT with unicast_fault_no_peer), a VRRPv2
// instance without addresses, the deprecated "or" of a route (read as a
// multipath route), a rule without a preference, an unused vrrp_script,
// and keepalived's tracking rules below. examples/vrrpd's documentation
// lists every keyword of keepalived 2.4.3's manual and what becomes of it.
//
// # Defaults
//
// keepalived 2.2.7's, as its -d dump shows them (TestDefaultsMatchKeepalivedDump
// compares); keepalived 2.4.3's -d dump of the same configurations shows
// the same values. auth_hmac's are 2.4.3's: anti_replay time, mode
// enforce, time_window max(3 × the whole seconds of advert_int, 5 s),
// at most 300 s.
//
//	priority            100; 255 with state MASTER and no priority
//	advert_int          1 s
//	version             vrrp_version (default 2); 3 for IPv6 instances
//	preempt             on; preempt_delay 0
//	accept              on
//	multicast group     224.0.0.18, ff02::12
//	garp                repeat 5, delay 5 s, refresh off, refresh repeat 1,
//	                    lower-priority repeat and delay = the global
//	                    repeat and delay (not the instance's)
//	vrrp_min_garp       repeat 1, delay 0, refresh repeat 0,
//	                    lower-priority repeat 1 and delay 0
//	vrrp_script         interval 1 s, timeout = interval, weight 0,
//	                    rise 1, fall 1
//	vrrp_track_process  weight 0, quorum 1, no quorum_max, delays 0
//	track_file          weight 1
//	track entries       track_interface weight 0; the others take the
//	                    tracked object's weight and reverse
//	vrrp_check_unicast_src  applies to every instance with peers
//
// keepalived 2.2.7 also rewrites tracking weights, and so does Load (with
// a warning): for a member of a sync group without
// sync_group_tracking_weight, track_interface weights become 0, weighted
// track_script entries are dropped, a track_file entry with the file's
// default weight gets weight 0 and other weighted ones are dropped; for an
// address owner (priority 255) weighted track_interface and track_script
// entries are dropped and track_file entries treated as for a sync group.
// track_process entries are left alone in both cases, as keepalived does.
// A track_interface entry naming the instance's own interface is dropped.
//
// # Mapping onto the library
//
// The model uses the library's vocabulary so that examples/vrrpd maps it
// with little code: VIP's Prefix, Interface, Label and Excluded are
// vrrp.VIP's; Track's Weight and Reverse follow vrrp.TrackStatus's rules
// (see Track); GARP's fields and Global's ARPInterval and NAInterval are
// vip.Schedule's; Instance's VRID, Priority, AdvertInterval, Version,
// IPv6, Preempt, PreemptDelay, Accept, SourceAddr, Peers,
// MulticastGroup, CheckUnicastSource, Auth and V3ChecksumAsV2 are what a
// router needs; Script, TrackProcess and TrackFile are health checks;
// Notify holds the scripts with keepalived's calling convention
// (Command.NotifyArgs). Config.Diff tells a SIGHUP reload which instances
// changed. Config.Format writes the configuration back with its defaults
// explicit.
package kaconf
