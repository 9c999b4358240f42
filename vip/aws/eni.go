package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// ENIConfig configures NewENI.
type ENIConfig struct {
	Client
	// NetworkInterfaceID is the ENI that carries the VIPs from instance to
	// instance. Required.
	NetworkInterfaceID string
	// InstanceID is this instance. Default: the metadata service's.
	InstanceID string
	// DeviceIndex is where the ENI is attached here. Default 1.
	DeviceIndex int
	// ForceDetach detaches the ENI from the other instance with Force:
	// needed when that instance is dead or hung, at the risk EC2 documents
	// (the other instance's OS is not told). Default false.
	ForceDetach bool
	// DetachOnRelease detaches the ENI from this instance on Release.
	// Default false: it stays until the next master moves it.
	DetachOnRelease bool
	// Options are the cloud Backend's. AcquireTimeout defaults to 3
	// minutes here (a detach then an attach take tens of seconds, a
	// detach from a hung instance longer), RetryMax to 2 s (how often the
	// attachment is polled, at the slowest).
	Options cloud.Options
}

// NewENI returns a backend that moves an elastic network interface to
// this instance, as the AWS keepalived recipe does with the CLI: detach
// it from the instance that has it (DetachNetworkInterface), wait until
// it is available, attach it here (AttachNetworkInterface), wait until it
// is attached. The interface appears on the host only then; compose it
// before vip.Linux: vip.Multi(eni, linux).
func NewENI(ctx context.Context, cfg ENIConfig) (*cloud.Backend, error) {
	if cfg.NetworkInterfaceID == "" {
		return nil, errors.New("aws: ENI: NetworkInterfaceID required")
	}
	if cfg.DeviceIndex == 0 {
		cfg.DeviceIndex = 1
	}
	if cfg.DeviceIndex < 0 {
		return nil, fmt.Errorf("aws: ENI: negative DeviceIndex %d", cfg.DeviceIndex)
	}
	if cfg.Options.AcquireTimeout == 0 {
		cfg.Options.AcquireTimeout = 3 * time.Minute
	}
	if cfg.Options.RetryMax == 0 {
		cfg.Options.RetryMax = 2 * time.Second
	}
	s, err := newSession(ctx, cfg.Client)
	if err != nil {
		return nil, err
	}
	s.instance = cfg.InstanceID
	return cloud.New(&eniMove{s: s, cfg: cfg}, cfg.Options)
}

type eniMove struct {
	s   *session
	cfg ENIConfig
}

func (p *eniMove) Name() string { return "aws-eni" }

// attachment is the ENI's attachment, nil when it is available.
func (p *eniMove) attachment(ctx context.Context) (*types.NetworkInterfaceAttachment, error) {
	id := p.cfg.NetworkInterfaceID
	out, err := p.s.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{id}})
	if err != nil {
		return nil, classify("DescribeNetworkInterfaces "+id, err)
	}
	if len(out.NetworkInterfaces) != 1 {
		return nil, cloud.Permanent(errors.New("DescribeNetworkInterfaces " + id + ": not found"))
	}
	a := out.NetworkInterfaces[0].Attachment
	if a == nil || a.InstanceId == nil || a.Status == types.AttachmentStatusDetached {
		return nil, nil
	}
	return a, nil
}

// inProgress is a step taken (or under way) that Claim continues later.
func inProgress(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{cloud.ErrInProgress}, args...)...)
}

// Claim takes one step towards the ENI being attached here, and says
// (cloud.ErrInProgress) when another is needed after a wait.
func (p *eniMove) Claim(ctx context.Context, set vrrp.AddressSet) error {
	self, err := p.s.instanceID(ctx)
	if err != nil {
		return err
	}
	a, err := p.attachment(ctx)
	if err != nil {
		return err
	}
	id := p.cfg.NetworkInterfaceID
	switch {
	case a != nil && sdkaws.ToString(a.InstanceId) == self && a.Status != types.AttachmentStatusDetaching:
		return nil // attached or attaching here: Held confirms
	case a != nil && a.Status == types.AttachmentStatusDetaching:
		return inProgress("%s detaching from %s", id, sdkaws.ToString(a.InstanceId))
	case a != nil:
		_, err := p.s.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{
			AttachmentId: a.AttachmentId,
			Force:        sdkaws.Bool(p.cfg.ForceDetach),
		})
		if err != nil {
			return classify("DetachNetworkInterface "+id+" from "+sdkaws.ToString(a.InstanceId), err)
		}
		return inProgress("%s detach from %s requested", id, sdkaws.ToString(a.InstanceId))
	}
	_, err = p.s.ec2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{
		NetworkInterfaceId: sdkaws.String(id),
		InstanceId:         sdkaws.String(self),
		DeviceIndex:        sdkaws.Int32(int32(p.cfg.DeviceIndex)),
	})
	return classify("AttachNetworkInterface "+id, err)
}

func (p *eniMove) Held(ctx context.Context, set vrrp.AddressSet) (bool, error) {
	self, err := p.s.instanceID(ctx)
	if err != nil {
		return false, err
	}
	a, err := p.attachment(ctx)
	if err != nil || a == nil {
		return false, err
	}
	return sdkaws.ToString(a.InstanceId) == self && a.Status == types.AttachmentStatusAttached, nil
}

func (p *eniMove) Unclaim(ctx context.Context, set vrrp.AddressSet) error {
	if !p.cfg.DetachOnRelease {
		return nil
	}
	self, err := p.s.instanceID(ctx)
	if err != nil {
		return err
	}
	a, err := p.attachment(ctx)
	if err != nil || a == nil || sdkaws.ToString(a.InstanceId) != self || a.Status == types.AttachmentStatusDetaching {
		return err
	}
	_, err = p.s.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: a.AttachmentId})
	if code(err) == "InvalidAttachmentID.NotFound" {
		return nil
	}
	return classify("DetachNetworkInterface "+p.cfg.NetworkInterfaceID, err)
}
