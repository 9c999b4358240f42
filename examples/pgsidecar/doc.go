// Command pgsidecar puts a virtual IP on the PostgreSQL primary with VRRP:
// one small process beside each Postgres server of a 2–3 node cluster, no
// DCS (etcd, Consul), no keepalived and no scripts.
//
// In follow mode (the default) replication is managed elsewhere (Patroni,
// repmgr, by hand) and the sidecar only moves the VIP: a health.Tracker
// turns pg_is_in_recovery() (or Patroni's GET /primary) into the write
// router's Fault state, so that only the primary can be VRRP master. In
// elect mode the sidecars also decide failover: standbys advertise
// priorities ranked by replication state, the winner of the VRRP election
// passes a fencing rule (witness, majority of peer sidecars, no live
// primary), runs pg_promote() and only then takes the VIP; a primary that
// finds a newer primary fences itself and demotes itself with pg_rewind.
// An optional second router carries a read VIP on a streaming standby.
//
// It is built on the library as any program would be: vrrp (NewNode,
// Router.SetPriority, Router.Track, Events), vip.NewLinux for the
// addresses, health for the checks. The Postgres driver (pgx) is this
// program's own dependency; the library's packages do not import it.
//
// See README.md for the setup, the flags (also --help) and the limits.
package main
