package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// defaultConfigFile is keepalived's default configuration file.
const defaultConfigFile = "/etc/keepalived/keepalived.conf"

// options is the daemon's command line: keepalived's options where they
// make sense for a VRRP-only daemon that always runs in the foreground,
// plus vrrpd's own (--check, --status, --notify-timeout).
type options struct {
	configFile  string // -f, --use-file
	logConsole  bool   // -l, --log-console (the console is where vrrpd logs anyway)
	logDetail   bool   // -D, --log-detail: per-packet detail
	pidFile     string // -p, --pid
	vrrpPidFile string // -r, --vrrp_pid
	configID    string // -i, --config-id
	dumpConfig  bool   // -d, --dump-conf
	umask       int    // -u, --umask; -1: leave alone

	check     bool   // --check, -t/--config-test: validate and exit
	checkLog  string // -t's optional LOG_FILE
	status    string // --status ADDR: serve the status endpoint ("none": off)
	statusSet bool   // --status given: failing to listen is fatal
	// statusGroup is --status-group: the unix socket's group.
	statusGroup string
	// statusRemote is --status-remote: TCP beyond loopback.
	statusRemote bool
	notifyTTL    time.Duration

	cpuProfile string // --cpuprofile (built with -tags pprof)
	memProfile string // --memprofile (built with -tags pprof)
	traceFile  string // --trace (built with -tags pprof): runtime execution trace

	version bool // -v
	help    bool // -h
	signum  string

	metrics       string // --metrics ADDR: serve Prometheus metrics
	metricsRemote bool   // --metrics-allow-remote: ADDR may be reachable from other hosts
	log           logConfig
	noSyslog      bool // -G

	// ignored lists the keepalived options given that vrrpd accepts and
	// ignores, for a log line.
	ignored []string
}

// optKind says how an option takes a value.
type optKind uint8

const (
	optFlag     optKind = iota // no value
	optValue                   // a required value: -fFILE, -f FILE, --use-file=FILE, --use-file FILE
	optOptional                // an optional value, only attached: -tFILE, --config-test=FILE
)

type optSpec struct {
	short rune // 0: long only
	long  string
	kind  optKind
	// set applies the option; nil means accepted and ignored.
	set func(o *options, value string) error
	// why is said when an ignored option is given.
	why string
}

// optionSpecs mirrors keepalived 2.2.7's getopt_long table (keepalived
// --help), so that the command lines of keepalived's units and container
// images run vrrpd unchanged.
var optionSpecs = []optSpec{
	{'f', "use-file", optValue, func(o *options, v string) error { o.configFile = v; return nil }, ""},
	{'P', "vrrp", optFlag, nil, "vrrpd is VRRP only"},
	{'B', "no_bfd", optFlag, nil, "vrrpd has no BFD"},
	{0, "all", optFlag, nil, "vrrpd has no child processes"},
	{'l', "log-console", optFlag, func(o *options, _ string) error { o.logConsole = true; return nil }, ""},
	{'D', "log-detail", optFlag, func(o *options, _ string) error { o.logDetail = true; return nil }, ""},
	{'S', "log-facility", optValue, setFacility, ""},
	{'G', "no-syslog", optFlag, func(o *options, _ string) error { o.noSyslog = true; return nil }, ""},
	{'u', "umask", optValue, setUmask, ""},
	{'X', "release-vips", optFlag, nil, "vrrpd always releases the VIPs when it stops"},
	{'V', "dont-release-vrrp", optFlag, nil, "vrrpd always releases the VIPs when it stops"},
	{'I', "dont-release-ipvs", optFlag, nil, "vrrpd has no IPVS"},
	{'R', "dont-respawn", optFlag, nil, "vrrpd has no child processes"},
	{'n', "dont-fork", optFlag, nil, "vrrpd always runs in the foreground"},
	{'d', "dump-conf", optFlag, func(o *options, _ string) error { o.dumpConfig = true; return nil }, ""},
	{'p', "pid", optValue, func(o *options, v string) error { o.pidFile = v; return nil }, ""},
	{'r', "vrrp_pid", optValue, func(o *options, v string) error { o.vrrpPidFile = v; return nil }, ""},
	{'c', "checkers_pid", optValue, nil, "vrrpd has no health-checker process"},
	{'a', "address-monitoring", optFlag, nil, "not supported"},
	{'b', "bfd_pid", optValue, nil, "vrrpd has no BFD"},
	{'x', "snmp", optFlag, nil, "vrrpd has no SNMP"},
	{'A', "snmp-agent-socket", optValue, nil, "vrrpd has no SNMP"},
	{'m', "core-dump", optFlag, nil, "not supported"},
	{'M', "core-dump-pattern", optValue, nil, "not supported"},
	{'e', "all-config", optFlag, nil, "missing include files are always reported"},
	{'i', "config-id", optValue, func(o *options, v string) error { o.configID = v; return nil }, ""},
	{0, "signum", optValue, func(o *options, v string) error { o.signum = v; return nil }, ""},
	{'t', "config-test", optOptional, func(o *options, v string) error { o.check, o.checkLog = true, v; return nil }, ""},
	{'v', "version", optFlag, func(o *options, _ string) error { o.version = true; return nil }, ""},
	{'h', "help", optFlag, func(o *options, _ string) error { o.help = true; return nil }, ""},

	// vrrpd's own.
	{0, "check", optFlag, func(o *options, _ string) error { o.check = true; return nil }, ""},
	{0, "status", optValue, func(o *options, v string) error { o.status, o.statusSet = v, true; return nil }, ""},
	{0, "status-group", optValue, func(o *options, v string) error { o.statusGroup = v; return nil }, ""},
	{0, "status-remote", optFlag, func(o *options, _ string) error { o.statusRemote = true; return nil }, ""},
	{0, "notify-timeout", optValue, setNotifyTimeout, ""},
	{0, "metrics", optValue, func(o *options, v string) error { o.metrics = v; return nil }, ""},
	{0, "metrics-allow-remote", optFlag, func(o *options, _ string) error { o.metricsRemote = true; return nil }, ""},
	{0, "log-format", optValue, setLogFormat, ""},
}

func setUmask(o *options, v string) error {
	// keepalived reads it with strtol(..., 0): 022 is octal.
	n, err := strconv.ParseInt(v, 0, 32)
	if err != nil || n < 0 || n > 0o777 {
		return fmt.Errorf("invalid umask %q", v)
	}
	o.umask = int(n)
	return nil
}

func setNotifyTimeout(o *options, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("invalid --notify-timeout %q: want a positive duration such as 30s", v)
	}
	o.notifyTTL = d
	return nil
}

// errUsage marks a command line that cannot be parsed.
var errUsage = errors.New("usage")

// parseOptions parses the daemon's command line like getopt_long:
// clustered short flags (-nlD), values attached or separate (-fFILE,
// -f FILE, --use-file=FILE, --use-file FILE), optional values attached
// only, and "--" ending the options. vrrpd takes no operands.
func parseOptions(args []string) (*options, error) {
	o := &options{configFile: defaultConfigFile, pidFile: defaultPidFile, status: defaultStatusAddr, umask: -1, notifyTTL: defaultNotifyTimeout}
	byShort := make(map[rune]*optSpec)
	byLong := make(map[string]*optSpec)
	for i := range optionSpecs {
		s := &optionSpecs[i]
		if s.short != 0 {
			byShort[s.short] = s
		}
		byLong[s.long] = s
	}
	apply := func(s *optSpec, name, value string) error {
		if s.set == nil {
			o.ignored = append(o.ignored, name+" ("+s.why+")")
			return nil
		}
		if err := s.set(o, value); err != nil {
			return fmt.Errorf("%w: %s: %v", errUsage, name, err)
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, args[i+1])
			}
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			s := byLong[name]
			if s == nil {
				return nil, fmt.Errorf("%w: unknown option --%s", errUsage, name)
			}
			switch s.kind {
			case optFlag:
				if hasValue {
					return nil, fmt.Errorf("%w: --%s takes no value", errUsage, name)
				}
			case optValue:
				if !hasValue {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("%w: --%s needs a value", errUsage, name)
					}
					i++
					value = args[i]
				}
			}
			if err := apply(s, "--"+name, value); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			cluster := []rune(a[1:])
			for j := 0; j < len(cluster); j++ {
				c := cluster[j]
				if c == 'C' {
					return nil, fmt.Errorf("%w: -C (keepalived's health-checker subsystem only) does not apply: vrrpd has no health checker; --check validates the configuration", errUsage)
				}
				s := byShort[c]
				if s == nil {
					return nil, fmt.Errorf("%w: unknown option -%c", errUsage, c)
				}
				value := ""
				switch s.kind {
				case optValue:
					if rest := string(cluster[j+1:]); rest != "" {
						value = rest
					} else if i+1 < len(args) {
						i++
						value = args[i]
					} else {
						return nil, fmt.Errorf("%w: -%c needs a value", errUsage, c)
					}
					j = len(cluster)
				case optOptional:
					value = string(cluster[j+1:])
					j = len(cluster)
				}
				if err := apply(s, "-"+string(c), value); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, a)
		}
	}
	o.log.detail = o.logDetail
	if o.metrics != "" {
		if _, _, err := metricsListenAddr(o.metrics, o.metricsRemote); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	o.log.syslog = o.log.syslog && !o.noSyslog
	return o, nil
}

// signalNumber answers keepalived's --signum: the signal a unit file or
// a script sends for an action (names as keepalived spells them).
func signalNumber(name string) (int, bool) {
	n, ok := keepalivedSignals[name]
	return int(n), ok
}

const usageText = `Usage: vrrpd [OPTION...]
       vrrpd status [--status ADDR] [--json]

Runs the VRRP part of a keepalived.conf (keepalived 2.2.7's syntax and
defaults) in the foreground, on vrrpkit.

  -f, --use-file=FILE        configuration file (default /etc/keepalived/keepalived.conf)
  -l, --log-console          log to the console (always on)
  -D, --log-detail           detailed logs: every advert sent and received
  -p, --pid=FILE             write the process id to FILE, locked while vrrpd
                             runs (default ` + defaultPidFile + `)
  -r, --vrrp_pid=FILE        the same (keepalived's VRRP child's pid file)
  -i, --config-id=ID         select "@ID" configuration lines (default: the host name)
  -d, --dump-conf            log the configuration with every default made explicit
  -u, --umask=MASK           umask for files created
  -t, --config-test[=FILE]   check the configuration and exit (report to FILE)
      --check                the same
      --status=ADDR          serve the status endpoint (HTTP, JSON) on ADDR:
                             unix:/path/to/socket (mode 0660; default
                             ` + defaultStatusAddr + `), a loopback host:port,
                             or none
      --status-group=GROUP   the status socket's group (default: vrrpd's)
      --status-remote        allow a TCP address other than loopback (the
                             endpoint has no authentication)
      --notify-timeout=D     kill a notify script still running after D (default 30s)
      --signum=SIGFUNC       print the signal number for STOP, RELOAD, DATA,
                             STATS, STATS_CLEAR or JSON
  -S, --log-facility=F       also log to syslog (journald): F is 0-7 (local0-7),
                             local0-local7, user or daemon
  -G, --no-syslog            do not log to syslog (the default without -S)
      --log-format=FORMAT    console format: keepalived (default) or json
      --metrics=ADDR         serve Prometheus metrics at /metrics on ADDR:
                             unix:/path, or a loopback host:port
      --metrics-allow-remote allow a --metrics address other hosts can reach
  -v, --version              print the version
  -h, --help                 print this help

Accepted and ignored, for keepalived's command lines: -n/--dont-fork,
-P/--vrrp, -B, -X, -V, -I, -R, -c, -b, -a, -x, -A, -m,
-M, -e, --all.

SIGTERM or SIGINT: every master sends priority 0 and releases its addresses,
then vrrpd exits. SIGHUP: reload the configuration; instances whose settings
did not change keep running without a transition. The signals --signum
names for DATA, STATS, STATS_CLEAR and JSON write keepalived.data,
keepalived.stats and keepalived.json in $TMPDIR (default /tmp) in
keepalived's layout.

vrrpd status asks a running vrrpd for the state of every instance: ADDR
defaults to ` + defaultStatusAddr + `.
`
