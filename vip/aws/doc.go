// Package aws moves a VRRP router's addresses inside an AWS VPC, where
// gratuitous ARP does not: each constructor returns a vrrp.Backend (a
// cloud.Backend: ordered, retried, bounded, re-asserted, see package
// vip/cloud) to compose with vip.Linux through vip.Multi.
//
//   - NewSecondaryIP: the VIPs are secondary private IPs of an ENI,
//     moved with AssignPrivateIpAddresses (AllowReassignment).
//   - NewElasticIP: an elastic IP follows the master (AssociateAddress
//     with AllowReassociation).
//   - NewRoute: the VIP is outside the VPC's subnets, and route tables
//     send its /32 to the master's ENI (ReplaceRoute), which works across
//     availability zones; the ENI's source/destination check must be off.
//   - NewENI: a whole ENI moves (detach from the old master, attach here).
//
// The instance's identity — its ID, the ENI behind an interface (by the
// interface's MAC address) and the region — comes from the instance
// metadata service with IMDSv2 tokens, and the credentials from the
// SDK's default chain (the instance's role, the environment, shared
// files), unless configured. Nothing this package logs or returns
// carries a credential or a token.
//
// The IAM permissions each needs: ec2:AssignPrivateIpAddresses,
// ec2:DescribeNetworkInterfaces (and ec2:UnassignPrivateIpAddresses with
// Unassign); ec2:AssociateAddress, ec2:DescribeAddresses (and
// ec2:DisassociateAddress); ec2:ReplaceRoute, ec2:CreateRoute,
// ec2:DescribeRouteTables, ec2:DescribeNetworkInterfaces;
// ec2:AttachNetworkInterface, ec2:DetachNetworkInterface,
// ec2:DescribeNetworkInterfaces.
//
// This package links aws-sdk-go-v2; the core packages (vrrp, vip, ...)
// do not, so a program that does not import it does not either.
package aws
