package kaconf

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCloudBlocksInFileOrder(t *testing.T) {
	in := mustParse(t, instance(`
 vrrpd_cloud {
  provider aws_secondary_ip
  region eu-west-1
  endpoint https://ec2.eu-west-1.amazonaws.com
  release give_up
  confirm metadata
  acquire_timeout 20
  call_timeout 2.5
  reassert off
 }
 vrrpd_cloud {
  provider aws_elastic_ip
  allocation_id eipalloc-0123abcd
  private_ip follow_vip
 }
 vrrpd_cloud {
  provider aws_route
  route_table rtb-1 rtb-2
  route_table rtb-3
  network_interface eni-42
  reassert 5
 }
 vrrpd_cloud {
  provider aws_eni
  network_interface eni-vip
  device_index 2
  force_detach
 }
`)).Instances[0]
	want := []Cloud{
		{Provider: "aws_secondary_ip", Region: "eu-west-1", Endpoint: "https://ec2.eu-west-1.amazonaws.com", GiveUp: true,
			ConfirmMetadata: true, AcquireTimeout: 20 * time.Second, CallTimeout: 2500 * time.Millisecond, Reassert: -1},
		{Provider: "aws_elastic_ip", AllocationID: "eipalloc-0123abcd", FollowVIP: true},
		{Provider: "aws_route", RouteTables: []string{"rtb-1", "rtb-2", "rtb-3"}, NetworkInterface: "eni-42", Reassert: 5 * time.Second},
		{Provider: "aws_eni", NetworkInterface: "eni-vip", DeviceIndex: 2, ForceDetach: true},
	}
	if len(in.Cloud) != len(want) {
		t.Fatalf("%d blocks: %+v", len(in.Cloud), in.Cloud)
	}
	for i := range want {
		if !in.Cloud[i].Equal(want[i]) {
			t.Errorf("block %d:\n got %+v\nwant %+v", i, in.Cloud[i], want[i])
		}
		if in.Cloud[i].Pos.Line == 0 {
			t.Errorf("block %d has no position", i)
		}
	}
}

func TestCloudBlockMistakesAreErrorsAtTheirLine(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"provider gcp_alias", `"gcp_alias" is not one of`},
		{"region eu-west-1", "missing provider"},
		{"provider aws_elastic_ip", "needs allocation_id"},
		{"provider aws_route", "needs route_table"},
		{"provider aws_eni", "needs network_interface"},
		{"provider aws_secondary_ip\n  route_table rtb-1", "not a setting of provider aws_secondary_ip"},
		{"provider aws_secondary_ip\n  secret_key abc", "unknown vrrpd_cloud keyword"},
		{"provider aws_secondary_ip\n  network_interface eni-1;rm", "not a valid ID"},
		{"provider aws_secondary_ip\n  network_interface i-123", "not a valid ID (eni-...)"},
		{"provider aws_secondary_ip\n  endpoint http://user:pw@host", "URL without credentials"},
		{"provider aws_secondary_ip\n  endpoint file:///etc/passwd", "http:// or https://"},
		{"provider aws_secondary_ip\n  acquire_timeout 0", "out of range"},
		{"provider aws_secondary_ip\n  release forget", "not leave or give_up"},
		{"provider aws_secondary_ip\n  provider aws_route", "given twice"},
		{"provider aws_elastic_ip\n  allocation_id eipalloc-1\n  private_ip fd00::1", "IPv4"},
	} {
		src := instance(" vrrpd_cloud {\n  " + tc.body + "\n }\n")
		_, err := Parse("k.conf", []byte(src), testOpts)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "k.conf:") {
			t.Errorf("%q: error %v, want one at its line with %q", tc.body, err, tc.want)
		}
	}
}

func TestCloudBlockSurvivesFormatAndCountsForReload(t *testing.T) {
	src := instance(" vrrpd_cloud {\n  provider aws_elastic_ip\n  allocation_id eipalloc-1\n  private_ip 10.0.0.100\n  release give_up\n  reassert 10\n }\n")
	cfg := mustParse(t, src)
	again := mustParse(t, cfg.Format())
	if !reflect.DeepEqual(again.Instances[0].Cloud[0].PrivateIP, netip.MustParseAddr("10.0.0.100")) || !again.Instances[0].Equal(cfg.Instances[0]) {
		t.Errorf("after Format: %+v, want %+v\n%s", again.Instances[0].Cloud, cfg.Instances[0].Cloud, cfg.Format())
	}
	changed := mustParse(t, strings.Replace(src, "reassert 10", "reassert 20", 1))
	if cfg.Instances[0].Equal(changed.Instances[0]) {
		t.Error("a changed vrrpd_cloud block does not make the instance differ: a reload would not apply it")
	}
}
