package aws

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/ec2fake"
	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

func TestElasticIPAssociatesWithReassociation(t *testing.T) {
	w := newWorld(t)
	w.ec2.AddAddress(ec2fake.Address{AllocationID: "eipalloc-1", PublicIP: "198.51.100.7", AssociationID: "eipassoc-old", ENI: "eni-b",
		PrivateIP: netip.MustParseAddr("10.0.0.2")})
	b, err := NewElasticIP(t.Context(), ElasticIPConfig{Client: w.client(1), AllocationID: "eipalloc-1", NetworkInterfaceID: "eni-a", Options: fast})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, b)
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(0,
		"AssociateAddress AllocationId=eipalloc-1 AllowReassociation=true NetworkInterfaceId=eni-a",
		"DescribeAddresses AllocationId.1=eipalloc-1")
	if a := w.ec2.Address("eipalloc-1"); a.ENI != "eni-a" || a.PrivateIP != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("address %+v", a)
	}
	n := len(w.ec2.Requests())
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(n) // left where it is
}

func TestElasticIPFollowsTheVIPAndDisassociatesOnlyItsOwn(t *testing.T) {
	w := newWorld(t)
	w.ec2.AddAddress(ec2fake.Address{AllocationID: "eipalloc-1", PublicIP: "198.51.100.7"})
	sec := newSecondary(t, w, SecondaryIPConfig{})
	b, err := NewElasticIP(t.Context(), ElasticIPConfig{Client: w.client(1), AllocationID: "eipalloc-1", NetworkInterfaceID: "eni-a",
		FollowVIP: true, Disassociate: true, Options: fast})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, b)
	for _, be := range []vrrp.Backend{sec, b} {
		if err := be.Acquire(t.Context(), setVIP); err != nil {
			t.Fatal(err)
		}
	}
	w.wantCalls(2,
		"AssociateAddress AllocationId=eipalloc-1 AllowReassociation=true NetworkInterfaceId=eni-a PrivateIpAddress=10.0.0.100",
		"DescribeAddresses AllocationId.1=eipalloc-1")
	assoc := w.ec2.Address("eipalloc-1").AssociationID
	n := len(w.ec2.Requests())
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(n, "DescribeAddresses AllocationId.1=eipalloc-1", "DisassociateAddress AssociationId="+assoc)
	// Now on eni-b: not ours to give up.
	w.ec2.AddAddress(ec2fake.Address{AllocationID: "eipalloc-1", PublicIP: "198.51.100.7", AssociationID: "eipassoc-b", ENI: "eni-b",
		PrivateIP: netip.MustParseAddr("10.0.0.2")})
	n = len(w.ec2.Requests())
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(n, "DescribeAddresses AllocationId.1=eipalloc-1")
	if a := w.ec2.Address("eipalloc-1"); a.ENI != "eni-b" {
		t.Errorf("address %+v", a)
	}
}

func TestElasticIPUnknownAllocationRejected(t *testing.T) {
	w := newWorld(t)
	b, err := NewElasticIP(t.Context(), ElasticIPConfig{Client: w.client(1), AllocationID: "eipalloc-none", NetworkInterfaceID: "eni-a", Options: fast})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, b)
	if err := b.Acquire(t.Context(), setVIP); !errors.Is(err, cloud.ErrRejected) || !strings.Contains(err.Error(), "InvalidAllocationID.NotFound") {
		t.Fatalf("error %v", err)
	}
}

var vipRoute = netip.MustParsePrefix("10.0.0.100/32")

func newRoute(t *testing.T, w *world, tables ...string) *cloud.Backend {
	t.Helper()
	b, err := NewRoute(t.Context(), RouteConfig{Client: w.client(1), RouteTableIDs: tables, NetworkInterfaceID: "eni-a", Options: fast})
	if err != nil {
		t.Fatal(err)
	}
	return closeAtEnd(t, b)
}

func TestRouteRefusesWhileTheSourceDestinationCheckIsOn(t *testing.T) {
	w := newWorld(t)
	w.ec2.AddRouteTable("rtb-1", nil)
	b := newRoute(t, w, "rtb-1")
	err := b.Acquire(t.Context(), setVIP)
	if !errors.Is(err, cloud.ErrRejected) || !strings.Contains(err.Error(), "source/destination check of eni-a is on") {
		t.Fatalf("error %v: want a rejection that says the check is on", err)
	}
	w.wantCalls(0, "DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a")
	if r := w.ec2.Route("rtb-1", vipRoute); r != "" {
		t.Errorf("route set to %s", r)
	}
}

func TestRouteReplacesOrCreatesInEveryTable(t *testing.T) {
	w := newWorld(t)
	w.ec2.AddENI(ec2fake.ENI{ID: "eni-a", MAC: "02:00:00:00:00:0a", Subnet: netip.MustParsePrefix("10.0.0.0/24"),
		Primary: netip.MustParseAddr("10.0.0.1"), Instance: "i-a"}) // SourceDestCheck off
	w.ec2.AddRouteTable("rtb-1", map[netip.Prefix]string{vipRoute: "eni-b"})
	w.ec2.AddRouteTable("rtb-2", nil)
	b := newRoute(t, w, "rtb-1", "rtb-2")
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(0,
		"DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a",
		"ReplaceRoute DestinationCidrBlock=10.0.0.100/32 NetworkInterfaceId=eni-a RouteTableId=rtb-1",
		"ReplaceRoute DestinationCidrBlock=10.0.0.100/32 NetworkInterfaceId=eni-a RouteTableId=rtb-2",
		"CreateRoute DestinationCidrBlock=10.0.0.100/32 NetworkInterfaceId=eni-a RouteTableId=rtb-2",
		"DescribeRouteTables RouteTableId.1=rtb-1 RouteTableId.2=rtb-2",
		"DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a")
	for _, rt := range []string{"rtb-1", "rtb-2"} {
		if r := w.ec2.Route(rt, vipRoute); r != "eni-a" {
			t.Errorf("%s: route to %s", rt, r)
		}
	}
}

func TestRouteReassertionPutsBackARouteChangedBehindOurBack(t *testing.T) {
	w := newWorld(t)
	w.ec2.AddENI(ec2fake.ENI{ID: "eni-a", Subnet: netip.MustParsePrefix("10.0.0.0/24"), Primary: netip.MustParseAddr("10.0.0.1"), Instance: "i-a"})
	w.ec2.AddRouteTable("rtb-1", map[netip.Prefix]string{vipRoute: "eni-b"})
	o := fast
	o.Reassert = 100 * time.Millisecond
	b, err := NewRoute(t.Context(), RouteConfig{Client: w.client(1), RouteTableIDs: []string{"rtb-1"}, NetworkInterfaceID: "eni-a", Options: o})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, b)
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.ec2.AddRouteTable("rtb-1", map[netip.Prefix]string{vipRoute: "eni-b"}) // someone else's doing
	ctx := t.Context()
	if err := w.ec2.Wait(ctx, func([]ec2fake.Request) bool { return w.ec2.Route("rtb-1", vipRoute) == "eni-a" }); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Reclaims != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestENIMoveDetachesWaitsAndAttaches(t *testing.T) {
	w := newWorld(t)
	w.ec2.DetachDelay = 300 * time.Millisecond
	w.ec2.AttachDelay = 200 * time.Millisecond
	w.ec2.AddENI(ec2fake.ENI{ID: "eni-vip", Subnet: netip.MustParsePrefix("10.0.0.0/24"), Primary: netip.MustParseAddr("10.0.0.100"),
		Instance: "i-b", DeviceIndex: 1})
	b, err := NewENI(t.Context(), ENIConfig{Client: w.client(1), NetworkInterfaceID: "eni-vip", ForceDetach: true, Options: fast})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, b)
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	if e := w.ec2.ENI("eni-vip"); e.Instance != "i-a" || e.AttachState != "attached" || e.DeviceIndex != 1 {
		t.Errorf("ENI %+v", e)
	}
	// Its steps, in order, each once; the reads between them are the waits.
	var steps []string
	for _, c := range calls(w.ec2.Requests()) {
		if !strings.HasPrefix(c, "Describe") {
			steps = append(steps, c)
		}
	}
	want := []string{"DetachNetworkInterface AttachmentId=eni-attach-0003 Force=true",
		"AttachNetworkInterface DeviceIndex=1 InstanceId=i-a NetworkInterfaceId=eni-vip"}
	if strings.Join(steps, "|") != strings.Join(want, "|") {
		t.Errorf("steps %q, want %q", steps, want)
	}
	if s := b.Stats(); s.ProviderErrors != 0 {
		t.Errorf("waiting counted as errors: %+v", s)
	}
}

func TestENIAttachedHereIsLeftAlone(t *testing.T) {
	w := newWorld(t)
	w.ec2.AddENI(ec2fake.ENI{ID: "eni-vip", Subnet: netip.MustParsePrefix("10.0.0.0/24"), Primary: netip.MustParseAddr("10.0.0.100"),
		Instance: "i-a", DeviceIndex: 1})
	b, err := NewENI(t.Context(), ENIConfig{Client: w.client(1), NetworkInterfaceID: "eni-vip", InstanceID: "i-a", Options: fast})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, b)
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(0, "DescribeNetworkInterfaces NetworkInterfaceId.1=eni-vip", "DescribeNetworkInterfaces NetworkInterfaceId.1=eni-vip")
}
