package vmac

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"go.uber.org/zap"
)

// Address is the RFC 5798 §7.3 virtual MAC of vrid: 00-00-5E-00-01-{VRID}
// for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
func Address(vrid int, ipv6 bool) net.HardwareAddr {
	fam := byte(1)
	if ipv6 {
		fam = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, byte(vrid)}
}

// DefaultName is keepalived's name of a VMAC interface: "vrrp.{VRID}"
// (for either family).
func DefaultName(vrid int) string { return "vrrp." + strconv.Itoa(vrid) }

// Config configures a Manager. The zero value means defaults.
type Config struct {
	// Logger receives created, reused and removed interfaces and changed
	// sysctls (Info), and failures no call returns (Warn). Nil: none.
	Logger *zap.Logger
	// NoFirewall leaves out the nftables rules that keep a VMAC's IGMP,
	// MLD, neighbour advertisements and router solicitations off the
	// virtual MAC (keepalived does without them only when no nftables or
	// iptables is to be had). Default: the rules are installed, and a
	// Manager that cannot install them fails Add.
	NoFirewall bool
}

// Spec is one VMAC interface.
type Spec struct {
	// Base is the interface the VMAC sits on: the router's interface.
	// Required.
	Base string
	// VRID is the router's VRID, 1..255.
	VRID int
	// IPv6 makes an IPv6 VMAC: 00-00-5E-00-02-{VRID}, with Base's
	// link-local address on it.
	IPv6 bool
	// Name is the interface's name. Default DefaultName(VRID).
	Name string
	// MAC overrides Address(VRID, IPv6) (keepalived's use_vmac MAC).
	MAC net.HardwareAddr
	// KeepIPv6 leaves IPv6 on an IPv4 VMAC, for IPv6 addresses that go on
	// it too (keepalived does so when an instance's excluded addresses
	// include IPv6 ones). Default: IPv6 off on an IPv4 VMAC.
	KeepIPv6 bool
}

func (s Spec) withDefaults() Spec {
	if s.Name == "" {
		s.Name = DefaultName(s.VRID)
	}
	if s.MAC == nil {
		s.MAC = Address(s.VRID, s.IPv6)
	}
	return s
}

// Validate reports what makes s impossible.
func (s Spec) Validate() error {
	s = s.withDefaults()
	switch {
	case s.Base == "":
		return errors.New("vmac: no base interface")
	case s.VRID < 1 || s.VRID > 255:
		return fmt.Errorf("vmac: VRID %d is not 1..255", s.VRID)
	case len(s.Name) > 15:
		return fmt.Errorf("vmac: name %q is longer than 15 bytes", s.Name)
	case s.Name == s.Base:
		return fmt.Errorf("vmac: name %q is the base interface's", s.Name)
	case len(s.MAC) != 6 || s.MAC[0]&1 != 0:
		return fmt.Errorf("vmac: %v is not a unicast Ethernet address", s.MAC)
	}
	return nil
}

// VMAC is an interface a Manager holds.
type VMAC struct {
	Name      string
	Index     int
	MAC       net.HardwareAddr
	Base      string
	BaseIndex int
	IPv6      bool
	// Reused: it existed when Add was called (left by a crashed run, or
	// made by someone else, which Close then leaves in place).
	Reused bool
}
