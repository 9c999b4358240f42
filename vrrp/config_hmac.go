package vrrp

import (
	"slices"

	"github.com/vrrpkit/vrrpkit/advert"
	"github.com/vrrpkit/vrrpkit/auth"
)

// validateHMAC checks Config.HMAC: what auth.NewHMAC refuses, and auth_hmac
// next to VRRPv2's own authentication, which would sign the advert twice
// with different rules.
func (c Config) validateHMAC(bad func(field, format string, args ...any) error) error {
	if c.HMAC == nil {
		return nil
	}
	if c.AuthType != advert.AuthNone {
		return bad("HMAC", "cannot be combined with AuthType %v", c.AuthType)
	}
	if _, err := auth.NewHMAC(c.hmacConfig(*c.HMAC)); err != nil {
		return bad("HMAC", "%v", err)
	}
	return nil
}

// hmacConfig is h for this router: its interval sets the default window.
func (c *Config) hmacConfig(h auth.HMACConfig) auth.HMACConfig {
	h.Interval = c.Interval
	if h.Interval == 0 {
		h.Interval = DefaultInterval
	}
	return h
}

// cloneHMAC returns a copy of h that shares nothing the caller could change.
func cloneHMAC(h *auth.HMACConfig) *auth.HMACConfig {
	if h == nil {
		return nil
	}
	c := *h
	c.Keys = slices.Clone(c.Keys)
	return &c
}
