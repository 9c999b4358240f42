package main

import (
	"bytes"
	"strconv"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// auth_hmac in vrrpd: what the status and the dumps show of it (key ids
// and lengths, never a key), and the reload that changes only it.

// HMACStatus is an instance's auth_hmac in force.
type HMACStatus struct {
	Mode       string          `json:"mode"` // enforce, permissive, receive-only
	ActiveKey  int             `json:"active_key"`
	Keys       []HMACKeyStatus `json:"keys"`
	AntiReplay string          `json:"anti_replay"`           // time, monotonic
	Window     string          `json:"time_window,omitempty"` // anti_replay time only
}

// HMACKeyStatus is one key: its id and length.
type HMACKeyStatus struct {
	ID     int `json:"id"`
	Length int `json:"length"`
}

func hmacStatus(cfg vrrp.Config) *HMACStatus {
	h := cfg.HMAC
	if h == nil {
		return nil
	}
	s := &HMACStatus{Mode: h.Rollout.String(), ActiveKey: h.ActiveKey, AntiReplay: h.AntiReplay.String(),
		Keys: make([]HMACKeyStatus, 0, len(h.Keys))}
	for _, k := range h.Keys {
		s.Keys = append(s.Keys, HMACKeyStatus{ID: k.ID(), Length: k.Len()})
	}
	if h.AntiReplay == auth.AntiReplayTime {
		s.Window = hmacWindow(cfg).String()
	}
	return s
}

// hmacWindow is the freshness window the router runs with.
func hmacWindow(cfg vrrp.Config) time.Duration {
	if w := cfg.HMAC.Window; w != 0 {
		return w
	}
	return auth.DefaultWindow(cfg.Interval)
}

// hmacData writes the auth_hmac lines of keepalived 2.4.3's
// keepalived.data for an instance (its wording and order, checked in the
// lab by TestHMACDumpsMatchKeepalived243; keys as a count).
func hmacData(b *bytes.Buffer, cfg vrrp.Config) {
	h := cfg.HMAC
	if h == nil {
		return
	}
	b.WriteString("   Authentication extension = HMAC-SHA256-128\n")
	b.WriteString("     Keys = " + strconv.Itoa(len(h.Keys)) + ", active key id = " + strconv.Itoa(h.ActiveKey) + "\n")
	b.WriteString("     Mode = " + h.Rollout.String() + "\n")
	if h.AntiReplay == auth.AntiReplayMonotonic {
		b.WriteString("     Anti replay = monotonic\n")
	} else {
		b.WriteString("     Anti replay = time, window = " + strconv.Itoa(int(hmacWindow(cfg)/time.Second)) + " sec\n")
	}
}

// applyHMAC gives a running instance the auth_hmac of its new plan, with
// no transition. The plan kept for it stays the old one but for this: the
// status and the dumps read the router's Config, which SetHMAC updates.
func (d *daemon) applyHMAC(in *instance, rp *routerPlan) {
	name := rp.inst.Name
	if err := in.r.SetHMAC(rp.cfg.HMAC); err != nil {
		// buildPlan validated the same Config.
		d.log.Error("(" + name + ") auth_hmac not changed: " + err.Error())
		return
	}
	what := "off"
	if rp.cfg.HMAC != nil {
		what = rp.cfg.HMAC.String() // ids and lengths, never a key
	}
	d.log.Info("(" + name + ") auth_hmac changed without a transition: " + what)
}
