package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// runStatus is "vrrpd status [--status ADDR] [--json]": it asks a running
// vrrpd for its state once and prints it.
func runStatus(args []string, stdout, stderr io.Writer) int {
	addr, asJSON := defaultStatusAddr, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json":
			asJSON = true
		case a == "--status" && i+1 < len(args):
			i++
			addr = args[i]
		case strings.HasPrefix(a, "--status="):
			addr = strings.TrimPrefix(a, "--status=")
		default:
			fmt.Fprintf(stderr, "vrrpd status: unexpected argument %q\nusage: vrrpd status [--status ADDR] [--json]\n", a)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := fetchStatus(ctx, addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
		return 0
	}
	printStatus(stdout, st)
	return 0
}

// printStatus writes st as a table, one line per instance, then what the
// instances track and the sync groups.
func printStatus(w io.Writer, st *Status) {
	fmt.Fprintf(w, "vrrpd pid %d, %s, loaded %s", st.PID, st.ConfigFile, st.LoadedAt.Format(time.RFC3339))
	if st.RouterID != "" {
		fmt.Fprintf(w, ", router_id %s", st.RouterID)
	}
	if !st.Started {
		fmt.Fprint(w, " (waiting for vrrp_startup_delay)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tVRID\tINTERFACE\tSTATE\tPRIO\tMASTER\tVIPS")
	for _, in := range st.Instances {
		prio := fmt.Sprint(in.Priority)
		if in.Priority != in.BasePriority {
			prio += fmt.Sprintf(" (%d)", in.BasePriority)
		}
		master := in.Master
		if master == "" {
			master = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.VRID, in.Interface, in.State, prio, master, strings.Join(in.VIPs, " "))
	}
	tw.Flush()
	for _, in := range st.Instances {
		for _, t := range in.Trackers {
			state := "up"
			if !t.Up {
				state = "down"
			}
			effect := fmt.Sprintf("%+d", t.Delta)
			if t.Fault {
				effect = "FAULT"
			}
			line := in.Name + " tracks " + t.Name + ": " + state + ", " + effect
			if t.Reason != "" {
				line += " (" + t.Reason + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	for _, g := range st.SyncGroups {
		state := g.State
		if state == "" {
			state = "INIT"
		}
		fmt.Fprintf(w, "sync group %s: %s (%s)\n", g.Name, state, strings.Join(g.Members, ", "))
	}
}
