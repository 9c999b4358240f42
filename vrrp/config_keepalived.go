package vrrp

import (
	"fmt"
	"strconv"
	"time"
)

// validateExtensions checks the settings beyond the RFCs (the last block
// of Config, and VIP.Options). bad makes the *ConfigError.
func (c Config) validateExtensions(bad func(field, format string, args ...any) error) error {
	for i, v := range c.VIPs {
		if err := v.Options.validate(v); err != nil {
			return bad("VIPs["+strconv.Itoa(i)+"].Options", "%v", err)
		}
	}
	return nil
}

func (o AddressOptions) validate(v VIP) error {
	is4 := v.Prefix.Addr().Is4()
	if o.Broadcast.IsValid() && (!is4 || !o.Broadcast.Is4()) {
		return fmt.Errorf("broadcast address %v: IPv4 addresses only", o.Broadcast)
	}
	if o.Peer.IsValid() && o.Peer.Addr().Is4() != is4 {
		return fmt.Errorf("peer %v is not of the address's family", o.Peer)
	}
	if o.PreferredLifetimeSet {
		p := o.PreferredLifetime
		if p != LifetimeForever && (p < 0 || p%time.Second != 0 || p >= 0xffffffff*time.Second) {
			return fmt.Errorf("PreferredLifetime %v: whole seconds below 2^32, or LifetimeForever", p)
		}
	} else if o.PreferredLifetime != 0 {
		return fmt.Errorf("PreferredLifetime set without PreferredLifetimeSet")
	}
	if is4 && (o.HomeAddress || o.ManageTempAddr) {
		return fmt.Errorf("HomeAddress and ManageTempAddr are IPv6 only")
	}
	return nil
}
