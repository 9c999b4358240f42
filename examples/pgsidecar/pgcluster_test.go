package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// The lab's addresses: node i is host i (10.0.0.i); the VIPs are
// outside the hosts' own addresses.
var (
	writeVIP = netip.MustParsePrefix("10.0.0.100/24")
	readVIP  = netip.MustParsePrefix("10.0.0.101/24")
)

const (
	statusPort = 8433
	pgPort     = 5432
)

// sharedConf is appended to the template's postgresql.conf, so every
// node (the standbys are copies) has it. Settings that differ per node
// (cluster_name, the socket directory) are in node.conf beside the data
// directory: pg_basebackup and pg_rewind copy the data directory.
//
// primary_conninfo names the write VIP, so a standby follows whoever
// holds it. The short retry interval makes a standby find the new
// primary soon after it took the VIP; the receiver timeout is not what
// makes a standby leave a primary that was cut off (the sidecar restarts
// the receiver when a new primary holds the VIP).
// synchronous_standby_names lists every node: a primary is never its own
// standby, so the same line serves whichever node is primary.
var sharedConf = fmt.Sprintf(`
listen_addresses = '*'
port = %d
include_if_exists = '../node.conf'
wal_level = replica
max_wal_senders = 10
wal_log_hints = on
wal_keep_size = '128MB'
hot_standby = on
synchronous_commit = on
synchronous_standby_names = 'ANY 1 (pg1, pg2, pg3)'
primary_conninfo = 'host=%s port=%d user=postgres connect_timeout=2'
wal_receiver_timeout = '10s'
wal_sender_timeout = '5s'
wal_retrieve_retry_interval = '200ms'
wal_receiver_status_interval = '1s'
shared_buffers = '16MB'
max_connections = 40
logging_collector = off
log_line_prefix = '%%m [%%p] '
`, pgPort, writeVIP.Addr(), pgPort)

const hbaConf = `local all all trust
local replication all trust
host all all 10.0.0.0/24 trust
host replication all 10.0.0.0/24 trust
`

// pgEnv is what the lab needs from the machine: PostgreSQL's programs
// and the postgres user.
type pgEnv struct {
	bin      string
	uid, gid int
}

var pgTemplate struct {
	once sync.Once
	dir  string
	err  error
}

// needPostgres returns the lab's PostgreSQL, or skips the test saying
// what is missing (fails instead with VRRPKIT_REQUIRE_NETNS=1).
func needPostgres(t testing.TB) pgEnv {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		reason := fmt.Sprintf(format, args...)
		if os.Getenv(netlab.RequireEnv) == "1" {
			t.Fatalf("%s (and %s=1 forbids skipping)", reason, netlab.RequireEnv)
		}
		t.Skipf("%s; skipping (set %s=1 to fail instead)", reason, netlab.RequireEnv)
	}
	if os.Geteuid() != 0 {
		missing("needs root (network namespaces, and running Postgres as the postgres user)")
	}
	bin := ""
	for _, v := range []string{"15", "16", "17", "14"} {
		d := "/usr/lib/postgresql/" + v + "/bin"
		if _, err := os.Stat(d + "/initdb"); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		missing("needs PostgreSQL (Debian's postgresql package: /usr/lib/postgresql/15/bin)")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		missing("needs the postgres system user (created by Debian's postgresql package): %v", err)
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		missing("needs setpriv (util-linux)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return pgEnv{bin: bin, uid: uid, gid: gid}
}

// asPostgres prefixes a command so that it runs as the postgres user.
func asPostgres(args ...string) []string {
	return append([]string{"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"}, args...)
}

// run runs a command (outside the lab's namespaces) and fails the test
// on error.
func runCmd(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// template initdb's once per test binary; clusters copy it.
func (e pgEnv) template(t testing.TB) string {
	t.Helper()
	prepareLabRoot(t)
	pgTemplate.once.Do(func() {
		dir := filepath.Join(labRoot.dir, "template")
		if err := os.Mkdir(dir, 0o700); err != nil {
			pgTemplate.err = err
			return
		}
		if err := os.Chown(dir, e.uid, e.gid); err != nil {
			pgTemplate.err = err
			return
		}
		args := asPostgres(e.bin+"/initdb", "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
		cmd := exec.Command(args[0], args[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			pgTemplate.err = fmt.Errorf("initdb: %v\n%s", err, out)
			return
		}
		f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(sharedConf)
			f.Close()
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "pg_hba.conf"), []byte(hbaConf), 0o600)
		}
		if err == nil {
			err = os.Chown(filepath.Join(dir, "pg_hba.conf"), e.uid, e.gid)
		}
		pgTemplate.dir, pgTemplate.err = dir, err
	})
	if pgTemplate.err != nil {
		t.Fatalf("template: %v", pgTemplate.err)
	}
	return pgTemplate.dir
}

// pgNode is one Postgres server and its sidecar, on lab host i.
type pgNode struct {
	c    *cluster
	env  pgEnv
	i    int
	name string // "pg1": its cluster_name and application_name
	h    *netlab.Host
	dir  string // node directory: node.conf, logs, sockets
	data string
	args []string // the sidecar's command line

	sidecar *sidecarProc
	runs    int
}

// tb is the test (or subtest) that runs now.
func (n *pgNode) tb() testing.TB { return n.c.t }

func (n *pgNode) sock() string { return filepath.Join(n.dir, "sidecar.sock") }

// newNode makes node i's directory (data comes from the template or a
// base backup).
func newNode(c *cluster, base string, h *netlab.Host) *pgNode {
	t, env := c.t, c.env
	t.Helper()
	n := &pgNode{c: c, env: env, i: h.Index, name: "pg" + strconv.Itoa(h.Index), h: h}
	n.dir = filepath.Join(base, n.name)
	n.data = filepath.Join(n.dir, "data")
	if err := os.Mkdir(n.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("cluster_name = '%s'\nunix_socket_directories = '%s'\n", n.name, n.dir)
	if err := os.WriteFile(filepath.Join(n.dir, "node.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(n.dir, env.uid, env.gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.stopPostgres("immediate")
		if t.Failed() || os.Getenv("PGSIDECAR_LABTEST_LOGS") == "1" {
			t.Logf("%s postgres log, last lines:\n%s", n.name, tailLines(n.pgLog(), 40))
		}
	})
	return n
}

// pgctl runs pg_ctl in the node's host as postgres.
func (n *pgNode) pgctl(args ...string) (string, error) {
	full := asPostgres(append([]string{n.env.bin + "/pg_ctl", "-D", n.data}, args...)...)
	return n.h.Run(full[0], full[1:]...)
}

// startPostgres starts the node's Postgres and waits for it.
func (n *pgNode) startPostgres() {
	n.tb().Helper()
	if out, err := n.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(n.dir, "postgres.log")); err != nil {
		n.tb().Fatalf("%s: pg_ctl start: %v\n%s\n%s", n.name, err, out, tailLines(n.pgLog(), 30))
	}
}

// stopPostgres stops it if it runs (mode: fast, immediate).
func (n *pgNode) stopPostgres(mode string) {
	if _, err := os.Stat(filepath.Join(n.data, "postmaster.pid")); err != nil {
		return
	}
	_, _ = n.pgctl("stop", "-m", mode, "-w", "-t", "30")
	reapPostgres(0)
}

// makeStandby makes the stopped node a standby when it next starts. In
// elect mode it follows the write VIP (the shared primary_conninfo); in
// follow mode, where replication is managed elsewhere, it follows the
// primary p by its own address, as repmgr or an operator would set it.
func (n *pgNode) makeStandby(p *pgNode) {
	n.tb().Helper()
	files := map[string]string{"standby.signal": ""}
	if n.c.spec.mode == modeFollow {
		files["postgresql.auto.conf"] = fmt.Sprintf("primary_conninfo = 'host=%s port=%d user=postgres connect_timeout=2'\n", p.h.IPv4, pgPort)
	}
	for name, text := range files {
		path := filepath.Join(n.data, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			n.tb().Fatal(err)
		}
		if err := os.Chown(path, n.env.uid, n.env.gid); err != nil {
			n.tb().Fatal(err)
		}
	}
}

// postmasterPID reads the pid file.
func (n *pgNode) postmasterPID() int {
	n.tb().Helper()
	b, err := os.ReadFile(filepath.Join(n.data, "postmaster.pid"))
	if err != nil {
		n.tb().Fatalf("%s: %v", n.name, err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		n.tb().Fatalf("%s: postmaster.pid: %v", n.name, err)
	}
	return pid
}

func (n *pgNode) pgLog() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "postgres.log"))
	return string(b)
}

// startSidecar starts (or restarts) the node's sidecar.
func (n *pgNode) startSidecar() {
	n.runs++
	n.sidecar = startSidecar(n.c.top, n.tb, n.h, fmt.Sprintf("%s sidecar #%d", n.name, n.runs), n.sock(), n.args)
}

// crash SIGKILLs the postmaster and the sidecar at once, as a crash of
// the machine's software would end them (the machine itself stays up:
// the kernel still holds the sidecar's VIP and answers for it).
func (n *pgNode) crash() {
	n.tb().Helper()
	pid := n.postmasterPID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		n.tb().Fatalf("%s: kill postmaster: %v", n.name, err)
	}
	n.sidecar.kill()
	if _, err := waitFor(10*time.Second, func() (bool, bool, error) { return true, reapPostgres(pid), nil }); err != nil {
		n.tb().Fatalf("%s: the killed postmaster (%d) was not reaped", n.name, pid)
	}
}

// conn connects to the node's Postgres over its unix socket (not
// network-namespaced: the test reaches every node from outside).
func (n *pgNode) conn(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres connect_timeout=5", n.dir, pgPort))
}

// exec runs one statement on the node.
func (n *pgNode) exec(sql string, args ...any) {
	n.tb().Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.conn(ctx)
	if err != nil {
		n.tb().Fatalf("%s: %v", n.name, err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		n.tb().Fatalf("%s: %s: %v", n.name, sql, err)
	}
}

// currentLSN is the primary's pg_current_wal_lsn().
func (n *pgNode) currentLSN() lsn {
	n.tb().Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.conn(ctx)
	if err != nil {
		n.tb().Fatalf("%s: %v", n.name, err)
	}
	defer c.Close(ctx)
	var s string
	if err := c.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&s); err != nil {
		n.tb().Fatalf("%s: %v", n.name, err)
	}
	l, err := parseLSN(s)
	if err != nil {
		n.tb().Fatal(err)
	}
	return l
}

// rows returns the numbers in the test table.
func (n *pgNode) rows() map[int64]bool {
	n.tb().Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := n.conn(ctx)
	if err != nil {
		n.tb().Fatalf("%s: %v", n.name, err)
	}
	defer c.Close(ctx)
	rs, err := c.Query(ctx, "SELECT n FROM acked")
	if err != nil {
		n.tb().Fatalf("%s: %v", n.name, err)
	}
	out := map[int64]bool{}
	for rs.Next() {
		var v int64
		if err := rs.Scan(&v); err != nil {
			n.tb().Fatal(err)
		}
		out[v] = true
	}
	if err := rs.Err(); err != nil {
		n.tb().Fatalf("%s: %v", n.name, err)
	}
	return out
}

// cluster is a lab of Postgres nodes with sidecars and a client host.
type cluster struct {
	t      testing.TB // the test or subtest that runs now: failures go there
	top    testing.TB // the test that owns the lab: cleanups go there
	spec   clusterSpec
	env    pgEnv
	lab    *netlab.Lab
	nodes  []*pgNode
	client *netlab.Host
	writer *writer
}

// clusterSpec says what to build.
type clusterSpec struct {
	nodes   int
	mode    string
	witness bool // the client host answers ICMP echo as the witness
	unicast bool
	readVIP bool
}

// newCluster builds the lab (nodes on hosts 1..n, the client on host
// n+1), a primary on host 1 from the template and standbys by
// pg_basebackup, with a sidecar each, and waits until it is healthy.
func newCluster(t testing.TB, spec clusterSpec) *cluster {
	t.Helper()
	env := needPostgres(t)
	tmpl := env.template(t)
	lab := netlab.New(t, spec.nodes+1)
	base, err := os.MkdirTemp(labRoot.dir, "cluster-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	c := &cluster{t: t, top: t, spec: spec, env: env, lab: lab, client: lab.Host(spec.nodes + 1)}
	for i := 1; i <= spec.nodes; i++ {
		c.nodes = append(c.nodes, newNode(c, base, lab.Host(i)))
	}
	for _, n := range c.nodes {
		n.args = c.sidecarArgs(spec, n)
	}

	p := c.nodes[0]
	runCmd(t, "cp", "-a", tmpl, p.data)
	p.startPostgres()
	for _, n := range c.nodes[1:] {
		cmd := asPostgres(env.bin+"/pg_basebackup", "-h", p.h.IPv4.String(), "-p", strconv.Itoa(pgPort), "-U", "postgres",
			"-D", n.data, "-X", "stream", "-c", "fast")
		if out, err := n.h.Run(cmd[0], cmd[1:]...); err != nil {
			t.Fatalf("%s: pg_basebackup: %v\n%s", n.name, err, out)
		}
		n.makeStandby(p)
	}
	for _, n := range c.nodes {
		n.startSidecar()
	}
	for _, n := range c.nodes[1:] {
		n.startPostgres()
	}
	c.waitHealthy(p)
	p.exec("CREATE TABLE acked (n bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
	c.writer = newWriter(t, func() testing.TB { return c.t }, c.client, writeVIP.Addr())
	c.writer.diagnose = c.diagnose
	return c
}

func (c *cluster) sidecarArgs(spec clusterSpec, n *pgNode) []string {
	args := []string{
		"--interface", "eth0", "--vrid", "51", "--vip", writeVIP.String(),
		"--interval", "100ms", "--check", "200ms", "--mode", spec.mode,
		"--dsn", fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", n.dir, pgPort),
		"--status", "unix:" + n.sock(), "--status", netip.AddrPortFrom(n.h.IPv4, statusPort).String(),
	}
	if spec.readVIP {
		args = append(args, "--read-vrid", "52", "--read-vip", readVIP.String())
	}
	if spec.mode == modeElect {
		args = append(args, "--pgdata", n.data, "--pgbin", c.env.bin, "--pglog", filepath.Join(n.dir, "postgres.log"),
			"--peer-timeout", "300ms")
		for i := 1; i <= spec.nodes; i++ {
			if i != n.i {
				args = append(args, "--peer-status", netip.AddrPortFrom(c.lab.Host(i).IPv4, statusPort).String())
			}
		}
		if spec.witness {
			args = append(args, "--witness", c.lab.Host(spec.nodes+1).IPv4.String(), "--relax-sync")
		}
	}
	if spec.unicast {
		for i := 1; i <= spec.nodes; i++ {
			if i != n.i {
				args = append(args, "--peer", c.lab.Host(i).IPv4.String())
			}
		}
	}
	return args
}

// waitHealthy waits until p is the primary holding the write VIP and
// every other node is a standby streaming from it.
func (c *cluster) waitHealthy(p *pgNode) {
	c.t.Helper()
	p.sidecar.waitStatus(startTimeout, "the primary holding the VIP", func(d statusDoc) bool {
		return d.Role == rolePrimary && d.VRRPState == "MASTER" && d.StreamingClients == len(c.nodes)-1
	})
	// In follow mode only the primary takes part in VRRP.
	standbyState := "BACKUP"
	if c.spec.mode == modeFollow {
		standbyState = "FAULT"
	}
	for _, n := range c.nodes {
		if n != p {
			n.sidecar.waitStatus(startTimeout, "a streaming standby", func(d statusDoc) bool {
				return d.Role == roleStandby && d.WALReceiver == "streaming" && d.VRRPState == standbyState
			})
		}
	}
	c.checkVIPs(p)
}

// diagnose describes the lab's addresses and the client's neighbours.
func (c *cluster) diagnose() string {
	var b strings.Builder
	out, _ := c.client.Run("ip", "neigh", "show")
	fmt.Fprintf(&b, "\nclient neighbours:\n%s", out)
	for _, n := range c.nodes {
		out, _ := n.h.Run("ip", "-br", "addr", "show", "dev", n.h.Ifname)
		fmt.Fprintf(&b, "%s: %s", n.name, out)
		if os.Getenv("PGSIDECAR_LABTEST_LOGS") == "1" {
			out, _ = n.h.Run("sh", "-c", "ss -ltnp; nft list ruleset; ip neigh")
			fmt.Fprintf(&b, "%s\n", out)
		}
	}
	out, err := c.client.Run("sh", "-c", fmt.Sprintf("timeout 2 sh -c 'echo > /dev/tcp/%s/%d' 2>&1; ip route get %s", writeVIP.Addr(), pgPort, writeVIP.Addr()))
	fmt.Fprintf(&b, "client connect: %s %v\n", out, err)
	return b.String()
}

// checkVIPs checks that the write VIP is on p's interface and no other
// node's.
func (c *cluster) checkVIPs(p *pgNode) {
	c.t.Helper()
	for _, n := range c.nodes {
		has := hostHas(c.t, n.h, writeVIP.Addr())
		if has != (n == p) {
			c.t.Errorf("%s: write VIP on its interface: %v, want %v", n.name, has, n == p)
		}
	}
}

// hostHas reports whether a is on h's eth0.
func hostHas(t testing.TB, h *netlab.Host, a netip.Addr) bool {
	t.Helper()
	out, err := h.Run("ip", "-o", "addr", "show", "dev", h.Ifname)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(out, " "+a.String()+"/")
}

// primary returns the node whose sidecar reports primary and VRRP master,
// waiting for one among candidates.
func (c *cluster) waitPrimary(timeout time.Duration, candidates ...*pgNode) *pgNode {
	c.t.Helper()
	n, err := waitFor(timeout, func() (*pgNode, bool, error) {
		for _, n := range candidates {
			if d, err := n.sidecar.status(); err == nil && d.Role == rolePrimary && d.VRRPState == "MASTER" {
				return n, true, nil
			}
		}
		return nil, false, nil
	})
	if err != nil {
		var b strings.Builder
		for _, n := range candidates {
			d, err := n.sidecar.status()
			fmt.Fprintf(&b, "\n  %s: %s %v", n.name, describe(d), err)
		}
		c.t.Fatalf("no new primary within %v:%s", timeout, b.String())
	}
	return n
}

// others returns the nodes but n.
func (c *cluster) others(n *pgNode) []*pgNode {
	var out []*pgNode
	for _, m := range c.nodes {
		if m != n {
			out = append(out, m)
		}
	}
	return out
}

// checkAcked checks that every row the writer had acknowledged is on p.
// A standby acknowledges a synchronous commit once it has flushed the WAL,
// before it replays it: rows missing on p are looked for again until
// replayLag has passed.
func (c *cluster) checkAcked(p *pgNode) {
	c.t.Helper()
	const replayLag = 5 * time.Second
	acked := c.writer.ackedNumbers()
	var rows map[int64]bool
	missing, _ := waitFor(replayLag, func() ([]int64, bool, error) {
		rows = p.rows()
		var missing []int64
		for _, n := range acked {
			if !rows[n] {
				missing = append(missing, n)
			}
		}
		return missing, len(missing) == 0, nil
	})
	if len(missing) > 0 {
		sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
		c.t.Errorf("%s: %d of %d acknowledged rows missing: %v", p.name, len(missing), len(acked), head(missing, 20))
	} else {
		c.t.Logf("%s holds all %d acknowledged rows (%d rows in all)", p.name, len(acked), len(rows))
	}
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// dialIn dials from inside h's namespace.
func dialIn(h *netlab.Host) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := h.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
