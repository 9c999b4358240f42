package aws

import (
	"context"
	"errors"
	"net/netip"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// ElasticIPConfig configures NewElasticIP.
type ElasticIPConfig struct {
	Client
	// AllocationID is the elastic IP's allocation ID (eipalloc-...).
	// Required.
	AllocationID string
	// NetworkInterfaceID is the ENI to associate it with. Default: the ENI
	// of the router's interface (found by its MAC address in the metadata
	// service).
	NetworkInterfaceID string
	// PrivateIP is the ENI's private address the elastic IP maps to.
	// Default: the ENI's primary address, or with FollowVIP the router's
	// first IPv4 VIP (moved by NewSecondaryIP before this backend runs).
	PrivateIP netip.Addr
	FollowVIP bool
	// Disassociate gives the elastic IP up on Release (DisassociateAddress)
	// when it is still associated here. Default false: it stays until the
	// next master's association moves it.
	Disassociate bool
	// Options are the cloud Backend's.
	Options cloud.Options
}

// NewElasticIP returns a backend that points an elastic IP at this
// instance: AssociateAddress with AllowReassociation.
func NewElasticIP(ctx context.Context, cfg ElasticIPConfig) (*cloud.Backend, error) {
	if cfg.AllocationID == "" {
		return nil, errors.New("aws: elastic IP: AllocationID required")
	}
	if cfg.PrivateIP.IsValid() && cfg.FollowVIP {
		return nil, errors.New("aws: elastic IP: PrivateIP and FollowVIP exclude each other")
	}
	s, err := newSession(ctx, cfg.Client)
	if err != nil {
		return nil, err
	}
	return cloud.New(&elasticIP{s: s, cfg: cfg}, cfg.Options)
}

type elasticIP struct {
	s   *session
	cfg ElasticIPConfig
}

func (p *elasticIP) Name() string { return "aws-elastic-ip" }

// where is the ENI and private address (zero: the primary) to associate
// the elastic IP with.
func (p *elasticIP) where(ctx context.Context, set vrrp.AddressSet) (string, netip.Addr, error) {
	private := p.cfg.PrivateIP
	if p.cfg.FollowVIP {
		ifnames, byIf := ipv4VIPs(set)
		if len(ifnames) == 0 {
			return "", private, cloud.Permanent(errors.New("FollowVIP: the router has no IPv4 VIP"))
		}
		private = byIf[ifnames[0]][0]
	}
	if p.cfg.NetworkInterfaceID != "" {
		return p.cfg.NetworkInterfaceID, private, nil
	}
	eni, err := p.s.eniOf(ctx, set.Interface)
	return eni, private, err
}

func (p *elasticIP) Claim(ctx context.Context, set vrrp.AddressSet) error {
	eni, private, err := p.where(ctx, set)
	if err != nil {
		return err
	}
	in := &ec2.AssociateAddressInput{
		AllocationId:       sdkaws.String(p.cfg.AllocationID),
		NetworkInterfaceId: sdkaws.String(eni),
		AllowReassociation: sdkaws.Bool(true),
	}
	if private.IsValid() {
		in.PrivateIpAddress = sdkaws.String(private.String())
	}
	_, err = p.s.ec2.AssociateAddress(ctx, in)
	return classify("AssociateAddress "+p.cfg.AllocationID, err)
}

// association is the elastic IP's current association: its ID, ENI and
// private address.
func (p *elasticIP) association(ctx context.Context) (id, eni, private string, err error) {
	out, err := p.s.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{p.cfg.AllocationID}})
	if err != nil {
		return "", "", "", classify("DescribeAddresses "+p.cfg.AllocationID, err)
	}
	if len(out.Addresses) != 1 {
		return "", "", "", cloud.Permanent(errors.New("DescribeAddresses " + p.cfg.AllocationID + ": not found"))
	}
	a := out.Addresses[0]
	return sdkaws.ToString(a.AssociationId), sdkaws.ToString(a.NetworkInterfaceId), sdkaws.ToString(a.PrivateIpAddress), nil
}

func (p *elasticIP) Held(ctx context.Context, set vrrp.AddressSet) (bool, error) {
	want, private, err := p.where(ctx, set)
	if err != nil {
		return false, err
	}
	_, eni, have, err := p.association(ctx)
	if err != nil {
		return false, err
	}
	return eni == want && (!private.IsValid() || have == private.String()), nil
}

func (p *elasticIP) Unclaim(ctx context.Context, set vrrp.AddressSet) error {
	if !p.cfg.Disassociate {
		return nil
	}
	want, _, err := p.where(ctx, set)
	if err != nil {
		return err
	}
	id, eni, _, err := p.association(ctx)
	if err != nil || eni != want || id == "" {
		return err
	}
	// By association ID: if another instance associated it since we
	// looked, the ID is gone and its association stays.
	_, err = p.s.ec2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: sdkaws.String(id)})
	if code(err) == "InvalidAssociationID.NotFound" {
		return nil
	}
	return classify("DisassociateAddress "+id, err)
}
