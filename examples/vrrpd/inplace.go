package main

import (
	"strconv"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
)

// inPlace says which of an instance's changes a reload hands to its
// running router rather than restarting it (which would send priority 0
// and let a backup take over for a Master_Down_Interval): its auth_hmac
// block (vrrp.Router.SetHMAC) and its priority (vrrp.Router.SetPriority).
type inPlace struct {
	hmac, priority bool
}

// inPlaceChanges returns the instances of changed whose every change from
// old to next is one of inPlace's, and which. An instance is judged by
// diffing old against next with those fields of its old configuration
// put back. A priority to or from 255 is not taken in place: the address
// owner differs in more than its priority (master whenever it runs, it
// discards every advert and accepts packets for its addresses), so it
// restarts.
func inPlaceChanges(old, next *kaconf.Config, changed []string) map[string]inPlace {
	out := make(map[string]inPlace)
	for _, name := range changed {
		o, n := old.Instance(name), next.Instance(name)
		if o == nil || n == nil {
			continue
		}
		ip := inPlace{hmac: !o.HMAC.Equal(n.HMAC), priority: o.Priority != n.Priority}
		if ip.priority && (o.Priority == 255 || n.Priority == 255) {
			continue
		}
		if !ip.hmac && !ip.priority {
			continue
		}
		patched := *next
		patched.Instances = make([]*kaconf.Instance, len(next.Instances))
		for i, in := range next.Instances {
			if in.Name == name {
				c := *in
				c.HMAC, c.Priority = o.HMAC, o.Priority
				in = &c
			}
			patched.Instances[i] = in
		}
		for _, u := range old.Diff(&patched).Unchanged {
			if u == name {
				out[name] = ip
			}
		}
	}
	return out
}

func inPlaceCount(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + strconv.Itoa(n) + " with only auth_hmac or priority changed (applied without a transition)"
}

// applyInPlace gives a running instance the in-place changes of its new
// plan. The plan kept for the instance stays the old one but for these:
// the status and the dumps read the router's Config, which SetHMAC and
// SetPriority update.
func (d *daemon) applyInPlace(in *instance, rp *routerPlan, ip inPlace) {
	if ip.hmac {
		d.applyHMAC(in, rp)
	}
	if ip.priority {
		name := rp.inst.Name
		if err := in.r.SetPriority(rp.cfg.Priority); err != nil {
			// buildPlan validated the same Config.
			d.log.Error("(" + name + ") priority not changed: " + err.Error())
			return
		}
		d.log.Info("(" + name + ") base priority changed without a transition to " + strconv.Itoa(rp.cfg.Priority))
	}
}
