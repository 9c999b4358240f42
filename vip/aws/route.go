package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// RouteConfig configures NewRoute.
type RouteConfig struct {
	Client
	// RouteTableIDs are the route tables whose route to each VIP points at
	// this instance (one per subnet whose clients use the VIP). Required.
	RouteTableIDs []string
	// NetworkInterfaceID is the route's target. Default: the ENI of the
	// router's interface (found by its MAC address in the metadata
	// service).
	NetworkInterfaceID string
	// Options are the cloud Backend's.
	Options cloud.Options
}

// NewRoute returns a backend for a VIP outside every subnet (reachable
// across availability zones): each route table's route to the VIP's /32
// is replaced (or created) to point at this instance's ENI. EC2 delivers
// packets addressed to the VIP to the ENI only if its source/destination
// check is off: the backend checks, and fails (ErrRejected) saying so
// when it is on.
func NewRoute(ctx context.Context, cfg RouteConfig) (*cloud.Backend, error) {
	if len(cfg.RouteTableIDs) == 0 {
		return nil, errors.New("aws: route: RouteTableIDs required")
	}
	s, err := newSession(ctx, cfg.Client)
	if err != nil {
		return nil, err
	}
	return cloud.New(&route{s: s, cfg: cfg}, cfg.Options)
}

type route struct {
	s   *session
	cfg RouteConfig

	mu      sync.Mutex
	checked map[string]bool // ENIs seen with the source/destination check off
}

func (p *route) Name() string { return "aws-route" }

func (p *route) eni(ctx context.Context, set vrrp.AddressSet) (string, error) {
	if p.cfg.NetworkInterfaceID != "" {
		return p.cfg.NetworkInterfaceID, nil
	}
	return p.s.eniOf(ctx, set.Interface)
}

func destinations(set vrrp.AddressSet) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range set.VIPs {
		if a := v.Prefix.Addr(); a.Is4() {
			out = append(out, netip.PrefixFrom(a, 32))
		}
	}
	return out
}

// sourceDestCheck fails when the ENI's source/destination check is on.
// Once seen off, it is read again only by the re-assertion (Held).
func (p *route) sourceDestCheck(ctx context.Context, eni string, again bool) error {
	p.mu.Lock()
	ok := p.checked[eni]
	p.mu.Unlock()
	if ok && !again {
		return nil
	}
	out, err := p.s.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil {
		return classify("DescribeNetworkInterfaces "+eni, err)
	}
	on := len(out.NetworkInterfaces) != 1 || sdkaws.ToBool(out.NetworkInterfaces[0].SourceDestCheck)
	p.mu.Lock()
	if p.checked == nil {
		p.checked = map[string]bool{}
	}
	p.checked[eni] = !on
	p.mu.Unlock()
	if on {
		return cloud.Permanent(fmt.Errorf("the source/destination check of %s is on: EC2 drops packets to the VIP there; "+
			"turn it off (aws ec2 modify-network-interface-attribute --network-interface-id %s --no-source-dest-check)", eni, eni))
	}
	return nil
}

func (p *route) Claim(ctx context.Context, set vrrp.AddressSet) error {
	eni, err := p.eni(ctx, set)
	if err != nil {
		return err
	}
	if err := p.sourceDestCheck(ctx, eni, false); err != nil {
		return err
	}
	for _, table := range p.cfg.RouteTableIDs {
		for _, dst := range destinations(set) {
			_, err := p.s.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
				RouteTableId:         sdkaws.String(table),
				DestinationCidrBlock: sdkaws.String(dst.String()),
				NetworkInterfaceId:   sdkaws.String(eni),
			})
			if code(err) == "InvalidRoute.NotFound" {
				_, err = p.s.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{
					RouteTableId:         sdkaws.String(table),
					DestinationCidrBlock: sdkaws.String(dst.String()),
					NetworkInterfaceId:   sdkaws.String(eni),
				})
				if err != nil {
					return classify("CreateRoute "+table+" "+dst.String(), err)
				}
				continue
			}
			if err != nil {
				return classify("ReplaceRoute "+table+" "+dst.String(), err)
			}
		}
	}
	return nil
}

func (p *route) Held(ctx context.Context, set vrrp.AddressSet) (bool, error) {
	eni, err := p.eni(ctx, set)
	if err != nil {
		return false, err
	}
	out, err := p.s.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: p.cfg.RouteTableIDs})
	if err != nil {
		return false, classify("DescribeRouteTables", err)
	}
	for _, dst := range destinations(set) {
		for _, table := range p.cfg.RouteTableIDs {
			found := false
			for _, rt := range out.RouteTables {
				if sdkaws.ToString(rt.RouteTableId) != table {
					continue
				}
				for _, r := range rt.Routes {
					if sdkaws.ToString(r.DestinationCidrBlock) == dst.String() && sdkaws.ToString(r.NetworkInterfaceId) == eni {
						found = true
					}
				}
			}
			if !found {
				return false, nil
			}
		}
	}
	// The check may have been turned back on behind our back.
	return true, p.sourceDestCheck(ctx, eni, true)
}

// Unclaim leaves the routes: the next master replaces them.
func (p *route) Unclaim(context.Context, vrrp.AddressSet) error { return nil }
