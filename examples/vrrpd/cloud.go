package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/examples/vrrpd/kaconf"
	"github.com/vrrpkit/vrrpkit/vip"
	vipaws "github.com/vrrpkit/vrrpkit/vip/aws"
	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// cloudBuilder makes an instance's vrrpd_cloud backends and composes
// them with the interface's backend; it returns what to close when the
// instance stops. The daemon's default is withCloud; tests pass fakes.
type cloudBuilder func(ctx context.Context, in *kaconf.Instance, iface vrrp.Backend, log *zap.Logger) (vrrp.Backend, []*cloud.Backend, error)

// cloudSetup bounds how long making an instance's cloud backends may
// take (the region may come from the metadata service).
const cloudSetup = 15 * time.Second

// withCloud maps the instance's vrrpd_cloud blocks onto vip/aws backends,
// in file order after the interface's backend, aws_eni ones before it
// (their interface appears only once attached): vip.Multi.
func withCloud(ctx context.Context, in *kaconf.Instance, iface vrrp.Backend, log *zap.Logger) (vrrp.Backend, []*cloud.Backend, error) {
	if len(in.Cloud) == 0 {
		return iface, nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, cloudSetup)
	defer cancel()
	var before, after []vrrp.Backend
	var made []*cloud.Backend
	for _, c := range in.Cloud {
		b, err := newCloudBackend(ctx, in, c, log)
		if err != nil {
			for _, m := range made {
				m.Close()
			}
			return nil, nil, fmt.Errorf("%s: vrrpd_cloud %s: %w", c.Pos, c.Provider, err)
		}
		made = append(made, b)
		if c.Provider == "aws_eni" {
			before = append(before, b)
		} else {
			after = append(after, b)
		}
	}
	var all []vrrp.Backend
	all = append(all, before...)
	if iface != nil {
		all = append(all, iface)
	}
	all = append(all, after...)
	return vip.Multi(all...), made, nil
}

func newCloudBackend(ctx context.Context, in *kaconf.Instance, c kaconf.Cloud, log *zap.Logger) (*cloud.Backend, error) {
	client := vipaws.Client{Region: c.Region, Endpoint: c.Endpoint, MetadataEndpoint: c.MetadataEndpoint}
	opts := cloud.Options{AcquireTimeout: c.AcquireTimeout, CallTimeout: c.CallTimeout, Reassert: c.Reassert,
		Logger: log.With(zap.String("instance", in.Name))}
	switch c.Provider {
	case "aws_secondary_ip":
		return vipaws.NewSecondaryIP(ctx, vipaws.SecondaryIPConfig{Client: client, NetworkInterfaceID: c.NetworkInterface,
			Unassign: c.GiveUp, ConfirmWithMetadata: c.ConfirmMetadata, Options: opts})
	case "aws_elastic_ip":
		return vipaws.NewElasticIP(ctx, vipaws.ElasticIPConfig{Client: client, AllocationID: c.AllocationID,
			NetworkInterfaceID: c.NetworkInterface, PrivateIP: c.PrivateIP, FollowVIP: c.FollowVIP, Disassociate: c.GiveUp, Options: opts})
	case "aws_route":
		return vipaws.NewRoute(ctx, vipaws.RouteConfig{Client: client, RouteTableIDs: c.RouteTables,
			NetworkInterfaceID: c.NetworkInterface, Options: opts})
	case "aws_eni":
		return vipaws.NewENI(ctx, vipaws.ENIConfig{Client: client, NetworkInterfaceID: c.NetworkInterface, InstanceID: c.InstanceID,
			DeviceIndex: c.DeviceIndex, ForceDetach: c.ForceDetach, DetachOnRelease: c.GiveUp, Options: opts})
	}
	return nil, errors.New("unknown provider")
}

// closeCloud closes an instance's cloud backends (their re-assertions).
func closeCloud(bs []*cloud.Backend) {
	for _, b := range bs {
		b.Close()
	}
}
