package vrrp

import (
	"fmt"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// SetHMAC changes the router's auth_hmac (Config.HMAC) while it runs,
// without a transition: keys added or removed, another active key, another
// rollout mode or anti-replay setting, or auth_hmac turned on or (nil)
// off. The sequence of our adverts and what was accepted from each sender
// carry over, so that no replay opens; adverts sent after the change use
// it. It is validated as in Config.Validate and returns a *ConfigError
// without changing anything. SetHMAC copies h.
//
// Rotate a key hitlessly across a group: add the new key everywhere, then
// make it the active key node by node, then remove the old one. Roll
// auth_hmac out to an unsigned group: every node RolloutReceiveOnly, then
// every node RolloutPermissive, then every node RolloutEnforce.
func (r *Router) SetHMAC(h *auth.HMACConfig) error {
	c := r.cfg
	c.HMAC = cloneHMAC(h)
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Router: c.Name, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if err := c.validateHMAC(bad); err != nil {
		return err
	}
	r.hmacMu.Lock()
	defer r.hmacMu.Unlock()
	r.hmac.Store(c.HMAC)
	h = c.HMAC
	r.node.do(func(c *core, now time.Time) { c.setHMAC(r.core, h) })
	return nil
}
