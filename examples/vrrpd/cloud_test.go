package main

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vrrpkit/vrrpkit/internal/ec2fake"
	"github.com/vrrpkit/vrrpkit/vip"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// fakeEC2 serves the fake EC2 endpoint and metadata service on loopback
// with instance i-a (eni-a, 10.0.0.1) and 10.0.0.100 unassigned, and
// gives the SDK static credentials through the environment.
func fakeEC2(t *testing.T) (f *ec2fake.Server, ec2URL, imdsURL string) {
	t.Helper()
	f = ec2fake.New("eu-west-1")
	f.AddCredentials("AKIAVRRPDTEST0000001", "vrrpd-test-secret", "")
	f.AddInstance(ec2fake.Instance{ID: "i-a", Source: netip.MustParseAddr("127.0.0.1")},
		ec2fake.ENI{ID: "eni-a", Subnet: netip.MustParsePrefix("10.0.0.0/24"), Primary: netip.MustParseAddr("10.0.0.1")})
	f.AddENI(ec2fake.ENI{ID: "eni-vip", Subnet: netip.MustParsePrefix("10.0.0.0/24"), Primary: netip.MustParseAddr("10.0.0.200")})
	f.AddAddress(ec2fake.Address{AllocationID: "eipalloc-1", PublicIP: "198.51.100.7"})
	e := httptest.NewServer(f.Handler())
	t.Cleanup(e.Close)
	m := httptest.NewServer(f.IMDS())
	t.Cleanup(m.Close)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIAVRRPDTEST0000001", "AWS_SECRET_ACCESS_KEY": "vrrpd-test-secret",
		"AWS_SESSION_TOKEN": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_PROFILE": "",
		"AWS_REGION": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_EC2": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": m.URL} {
		t.Setenv(k, v)
	}
	return f, e.URL, m.URL
}

func cloudBlock(body, ec2URL, imdsURL string) string {
	return "  vrrpd_cloud {\n    region eu-west-1\n    endpoint " + ec2URL + "\n    metadata_endpoint " + imdsURL +
		"\n    reassert off\n    " + strings.ReplaceAll(body, "\n", "\n    ") + "\n  }\n"
}

func TestCloudBlocksComposeInFileOrderAroundTheInterface(t *testing.T) {
	f, ec2URL, imdsURL := fakeEC2(t)
	src := "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n" +
		cloudBlock("provider aws_secondary_ip\nnetwork_interface eni-a", ec2URL, imdsURL) +
		cloudBlock("provider aws_elastic_ip\nallocation_id eipalloc-1\nnetwork_interface eni-a\nprivate_ip follow_vip", ec2URL, imdsURL) +
		cloudBlock("provider aws_eni\nnetwork_interface eni-vip\ninstance_id i-a", ec2URL, imdsURL) + "}\n"
	p := mustPlan(t, src)
	var linuxAt time.Time
	iface := vip.Funcs{Label: "linux", OnAcquire: func(context.Context, vrrp.AddressSet) error {
		linuxAt = time.Now()
		return nil
	}}
	b, made, err := withCloud(t.Context(), p.routers[0].inst, iface, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer closeCloud(made)
	if got := b.(interface{ Name() string }).Name(); got != "multi(aws-eni, linux, aws-secondary-ip, aws-elastic-ip)" {
		t.Errorf("backend %s", got)
	}
	cfg := p.routers[0].cfg
	set := vrrp.AddressSet{Router: cfg.Name, VRID: cfg.VRID, Interface: cfg.Interface, Priority: cfg.Priority, VIPs: cfg.VIPs}
	if err := b.Acquire(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	// The ENI is attached before the interface's backend runs, the
	// secondary IP and the elastic IP that follows it after.
	at := map[string]ec2fake.Request{}
	for _, r := range f.Requests() {
		at[r.Action] = r
	}
	attach, assign, assoc := at["AttachNetworkInterface"], at["AssignPrivateIpAddresses"], at["AssociateAddress"]
	if !attach.Answered.Before(linuxAt) || !linuxAt.Before(assign.Arrived) || !assign.Answered.Before(assoc.Arrived) {
		t.Errorf("order: attach answered %v, linux %v, assign arrived %v, associate arrived %v",
			attach.Answered, linuxAt, assign.Arrived, assoc.Arrived)
	}
	if f.Holder(netip.MustParseAddr("10.0.0.100")) != "eni-a" || f.Address("eipalloc-1").PrivateIP != netip.MustParseAddr("10.0.0.100") ||
		f.ENI("eni-vip").Instance != "i-a" {
		t.Errorf("provider state: VIP on %s, EIP %+v, ENI %+v", f.Holder(netip.MustParseAddr("10.0.0.100")), f.Address("eipalloc-1"), f.ENI("eni-vip"))
	}
}

// TestCloudBlockMovesTheAddressAndNotifyScriptsStillRun: an instance with
// a vrrpd_cloud block and a notify_master script, alone on its LAN,
// becomes master: the address is assigned to the ENI through the API, the
// interface's backend acquires it, and the script runs as before.
func TestCloudBlockMovesTheAddressAndNotifyScriptsStillRun(t *testing.T) {
	f, ec2URL, imdsURL := fakeEC2(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "notified")
	script := writeScript(t, dir, "notify.sh", `echo "$@" >> `+out)
	src := "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  version 3\n  priority 200\n  advert_int 0.1\n" +
		"  virtual_ipaddress {\n    10.0.0.100/24\n  }\n  notify_master \"" + script + " master\"\n" +
		cloudBlock("provider aws_secondary_ip\nnetwork_interface eni-a", ec2URL, imdsURL) + "}\n"
	m := startMemDaemon(t, src)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := f.Wait(ctx, func([]ec2fake.Request) bool { return f.Holder(netip.MustParseAddr("10.0.0.100")) == "eni-a" }); err != nil {
		t.Fatalf("the address never reached eni-a: %v", err)
	}
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		b, _ := os.ReadFile(out)
		if strings.TrimSpace(string(b)) == "master" {
			break
		}
		select {
		case <-poll.C:
		case <-ctx.Done():
			t.Fatalf("notify_master did not run: %q", b)
		}
	}
	if got := m.fb.of("VI_1"); strings.Join(got, ",") != "release,acquire" {
		t.Errorf("the interface's backend: %q", got)
	}
	var assign []string
	for _, r := range f.Requests() {
		if r.Action == "AssignPrivateIpAddresses" {
			assign = append(assign, r.Params.Encode())
		}
	}
	if len(assign) != 1 || !strings.Contains(assign[0], "AllowReassignment=true") {
		t.Errorf("assignments %q", assign)
	}
	m.stop(t)
}
