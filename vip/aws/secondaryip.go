package aws

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// SecondaryIPConfig configures NewSecondaryIP.
type SecondaryIPConfig struct {
	Client
	// NetworkInterfaceID is the ENI the addresses are assigned to.
	// Default: for each address, the ENI of the interface it goes on
	// (found by the interface's MAC address in the metadata service).
	NetworkInterfaceID string
	// Unassign gives the addresses up on Release
	// (UnassignPrivateIpAddresses) when they are still on this ENI.
	// Default false: they stay, and the next master's assignment moves
	// them (AllowReassignment), so that no moment passes with the address
	// nowhere.
	Unassign bool
	// ConfirmWithMetadata waits for the addresses to show in the metadata
	// service (local-ipv4s of the interface's MAC) instead of in
	// DescribeNetworkInterfaces: no EC2 API call, but the metadata may lag
	// the assignment by seconds.
	ConfirmWithMetadata bool
	// Options are the cloud Backend's (timeouts, retries, re-assertion,
	// logger).
	Options cloud.Options
}

// NewSecondaryIP returns a backend that moves the router's IPv4 VIPs as
// secondary private IPs: AssignPrivateIpAddresses with AllowReassignment
// to this instance's ENI, and waits until the assignment shows. IPv6 VIPs
// are left alone (EC2 cannot reassign an IPv6 address from one ENI to
// another in one call). Compose it after vip.Linux:
// vip.Multi(linux, secondaryIP).
func NewSecondaryIP(ctx context.Context, cfg SecondaryIPConfig) (*cloud.Backend, error) {
	s, err := newSession(ctx, cfg.Client)
	if err != nil {
		return nil, err
	}
	return cloud.New(&secondaryIP{s: s, cfg: cfg}, cfg.Options)
}

type secondaryIP struct {
	s   *session
	cfg SecondaryIPConfig
}

func (p *secondaryIP) Name() string { return "aws-secondary-ip" }

// target is one ENI and the addresses that go on it.
type target struct {
	ifname, eni string
	addrs       []netip.Addr
}

func (p *secondaryIP) targets(ctx context.Context, set vrrp.AddressSet) ([]target, error) {
	ifnames, byIf := ipv4VIPs(set)
	var out []target
	for _, ifname := range ifnames {
		eni := p.cfg.NetworkInterfaceID
		if eni == "" {
			var err error
			if eni, err = p.s.eniOf(ctx, ifname); err != nil {
				return nil, err
			}
		}
		if i := slices.IndexFunc(out, func(t target) bool { return t.eni == eni }); i >= 0 {
			out[i].addrs = append(out[i].addrs, byIf[ifname]...)
			continue
		}
		out = append(out, target{ifname: ifname, eni: eni, addrs: byIf[ifname]})
	}
	return out, nil
}

func (p *secondaryIP) Claim(ctx context.Context, set vrrp.AddressSet) error {
	ts, err := p.targets(ctx, set)
	if err != nil {
		return err
	}
	for _, t := range ts {
		_, err := p.s.ec2.AssignPrivateIpAddresses(ctx, &ec2.AssignPrivateIpAddressesInput{
			NetworkInterfaceId: sdkaws.String(t.eni),
			PrivateIpAddresses: strs(t.addrs),
			AllowReassignment:  sdkaws.Bool(true),
		})
		if err != nil {
			return classify("AssignPrivateIpAddresses "+t.eni, err)
		}
	}
	return nil
}

func (p *secondaryIP) Held(ctx context.Context, set vrrp.AddressSet) (bool, error) {
	ts, err := p.targets(ctx, set)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		var have []string
		if p.cfg.ConfirmWithMetadata {
			have, err = p.fromMetadata(ctx, t.ifname)
		} else {
			have, err = p.onENI(ctx, t.eni)
		}
		if err != nil {
			return false, err
		}
		for _, a := range t.addrs {
			if !slices.Contains(have, a.String()) {
				return false, nil
			}
		}
	}
	return true, nil
}

// onENI lists the private IPs EC2 has on an ENI.
func (p *secondaryIP) onENI(ctx context.Context, eni string) ([]string, error) {
	out, err := p.s.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil {
		return nil, classify("DescribeNetworkInterfaces "+eni, err)
	}
	var have []string
	for _, ni := range out.NetworkInterfaces {
		for _, a := range ni.PrivateIpAddresses {
			have = append(have, sdkaws.ToString(a.PrivateIpAddress))
		}
	}
	return have, nil
}

func (p *secondaryIP) fromMetadata(ctx context.Context, ifname string) ([]string, error) {
	mac, err := p.s.macOf(ifname)
	if err != nil {
		return nil, err
	}
	v, err := p.s.metadata(ctx, "network/interfaces/macs/"+mac+"/local-ipv4s")
	if err != nil {
		return nil, err
	}
	return strings.Fields(v), nil
}

func (p *secondaryIP) Unclaim(ctx context.Context, set vrrp.AddressSet) error {
	if !p.cfg.Unassign {
		return nil
	}
	ts, err := p.targets(ctx, set)
	if err != nil {
		return err
	}
	for _, t := range ts {
		have, err := p.onENI(ctx, t.eni)
		if err != nil {
			return err
		}
		var ours []string
		for _, a := range t.addrs {
			if slices.Contains(have, a.String()) {
				ours = append(ours, a.String())
			}
		}
		if len(ours) == 0 {
			continue
		}
		_, err = p.s.ec2.UnassignPrivateIpAddresses(ctx, &ec2.UnassignPrivateIpAddressesInput{
			NetworkInterfaceId: sdkaws.String(t.eni),
			PrivateIpAddresses: ours,
		})
		if err != nil && code(err) == "InvalidParameterValue" {
			// Moved to another ENI since we looked: not ours to give up.
			// Retried, to find out which are still here.
			return fmt.Errorf("UnassignPrivateIpAddresses %s: %w", t.eni, err)
		}
		if err != nil {
			return classify("UnassignPrivateIpAddresses "+t.eni, err)
		}
	}
	return nil
}
