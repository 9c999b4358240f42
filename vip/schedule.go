package vip

import (
	"fmt"
	"time"
)

// Schedule says when a router's addresses are announced (gratuitous ARP for
// IPv4, unsolicited neighbor advertisements for IPv6). Each field is named
// after the keepalived setting it mirrors; DefaultSchedule returns
// keepalived 2.2.7's defaults. The zero Schedule is taken literally: no
// announcements at all.
//
// An announcement "round" sends one packet per address, in the order of
// the AddressSet; a batch of N sends N rounds, so with two addresses A and
// B and N = 5 the wire sees A B A B A B A B A B, exactly as keepalived.
type Schedule struct {
	// Repeat is the number of rounds sent at once when the addresses are
	// acquired (keepalived's garp_master_repeat / vrrp_garp_master_repeat).
	// Default 5; keepalived's minimum is 1, 0 here sends nothing at once.
	Repeat int

	// Delay is when a second batch of Repeat rounds follows the first
	// (keepalived's garp_master_delay, whole seconds there). Default 5 s;
	// 0 means no second batch.
	Delay time.Duration

	// Refresh is the period of refresh batches while the addresses are
	// held, the first one Refresh after acquiring (keepalived's
	// garp_master_refresh). Default 0: off.
	Refresh time.Duration

	// RefreshRepeat is the number of rounds of each refresh batch
	// (keepalived's garp_master_refresh_repeat). Default 1.
	RefreshRepeat int

	// LowerPrioRepeat is the number of rounds Announce sends at once — a
	// master that hears a lower priority corrects the LAN's caches
	// (keepalived's garp_lower_prio_repeat). Default 5 (keepalived defaults
	// it to vrrp_garp_master_repeat); 0 makes Announce send nothing.
	LowerPrioRepeat int

	// LowerPrioDelay is when Announce's second batch of LowerPrioRepeat
	// rounds follows (keepalived's garp_lower_prio_delay). Default 5 s
	// (keepalived defaults it to vrrp_garp_master_delay); 0 means none.
	LowerPrioDelay time.Duration

	// ARPInterval is the minimum gap between two gratuitous ARPs on one
	// interface, shared by all routers of one backend (keepalived's
	// garp_interval / vrrp_garp_interval). Default 0: back to back.
	ARPInterval time.Duration

	// NAInterval is the same for neighbor advertisements (keepalived's
	// gna_interval / vrrp_gna_interval). Default 0.
	NAInterval time.Duration
}

// DefaultSchedule returns keepalived's defaults: 5 rounds at once, 5 more
// after 5 s, no periodic refresh (1 round when enabled), 5 + 5 after 5 s
// on Announce, no spacing between packets.
func DefaultSchedule() Schedule {
	return Schedule{
		Repeat:          5,
		Delay:           5 * time.Second,
		RefreshRepeat:   1,
		LowerPrioRepeat: 5,
		LowerPrioDelay:  5 * time.Second,
	}
}

// Validate reports a negative count or duration, naming the field.
func (s Schedule) Validate() error {
	counts := []struct {
		name string
		n    int
	}{
		{"Repeat", s.Repeat},
		{"RefreshRepeat", s.RefreshRepeat},
		{"LowerPrioRepeat", s.LowerPrioRepeat},
	}
	for _, f := range counts {
		if f.n < 0 {
			return fmt.Errorf("vip: schedule: %s is negative (%d)", f.name, f.n)
		}
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"Delay", s.Delay},
		{"Refresh", s.Refresh},
		{"LowerPrioDelay", s.LowerPrioDelay},
		{"ARPInterval", s.ARPInterval},
		{"NAInterval", s.NAInterval},
	}
	for _, f := range durations {
		if f.d < 0 {
			return fmt.Errorf("vip: schedule: %s is negative (%v)", f.name, f.d)
		}
	}
	return nil
}
