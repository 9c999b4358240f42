package aws

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/internal/ec2fake"
	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

const (
	region    = "eu-west-1"
	keyID     = "AKIAVRRPKITTEST00001"
	secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTSECRET"
)

// world is a fake EC2 endpoint and metadata service on loopback with two
// instances, i-a (eni-a) and i-b (eni-b), in subnet 10.0.0.0/24, and
// 10.0.0.100 assigned to eni-b.
type world struct {
	t    testing.TB
	ec2  *ec2fake.Server
	url  string // EC2 endpoint
	imds string // metadata endpoint
}

var vip100 = netip.MustParseAddr("10.0.0.100")

func newWorld(t testing.TB) *world {
	t.Helper()
	// The SDK's default chain reads these; the host's own must not leak in.
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_EC2", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	f := ec2fake.New(region)
	f.AddCredentials(keyID, secretKey, "")
	subnet := netip.MustParsePrefix("10.0.0.0/24")
	f.AddInstance(ec2fake.Instance{ID: "i-a", Source: netip.MustParseAddr("127.0.0.1"), Role: "vrrp"},
		ec2fake.ENI{ID: "eni-a", MAC: "02:00:00:00:00:0a", Subnet: subnet, Primary: netip.MustParseAddr("10.0.0.1"), SourceDestCheck: true})
	f.AddInstance(ec2fake.Instance{ID: "i-b", Source: netip.MustParseAddr("127.0.0.2")},
		ec2fake.ENI{ID: "eni-b", MAC: "02:00:00:00:00:0b", Subnet: subnet, Primary: netip.MustParseAddr("10.0.0.2"),
			Secondary: []netip.Addr{vip100}, SourceDestCheck: true})
	e := httptest.NewServer(f.Handler())
	t.Cleanup(e.Close)
	m := httptest.NewServer(f.IMDS())
	t.Cleanup(m.Close)
	// Any metadata client the SDK makes, configured or not, asks the fake.
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", m.URL)
	return &world{t: t, ec2: f, url: e.URL, imds: m.URL}
}

// client reaches the world's endpoints; the SDK makes one attempt per
// call unless told otherwise, so that the cloud Backend's retries show.
func (w *world) client(attempts int) Client {
	return Client{Region: region, Endpoint: w.url, MetadataEndpoint: w.imds, MaxAttempts: attempts}
}

// fast are backend options for tests: short waits, no re-assertion.
var fast = cloud.Options{AcquireTimeout: 5 * time.Second, CallTimeout: 2 * time.Second,
	RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Reassert: -1}

var setVIP = vrrp.AddressSet{Router: "VI_1", VRID: 51, Interface: "eth0", Priority: 150,
	VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}, {Prefix: netip.MustParsePrefix("fd00::100/64")}}}

func closeAtEnd(t testing.TB, b *cloud.Backend) *cloud.Backend {
	t.Cleanup(func() { b.Close() })
	return b
}

// call is a request in short: "Action k=v k=v" with the parameters
// sorted, Action and Version left out.
func call(r ec2fake.Request) string {
	var kv []string
	for k, vs := range r.Params {
		if k == "Action" || k == "Version" {
			continue
		}
		for _, v := range vs {
			kv = append(kv, k+"="+v)
		}
	}
	slices.Sort(kv)
	return strings.TrimSpace(r.Action + " " + strings.Join(kv, " "))
}

func calls(rs []ec2fake.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = call(r)
	}
	return out
}

// since returns the requests after the first n.
func (w *world) since(n int) []ec2fake.Request { return w.ec2.Requests()[n:] }

func (w *world) wantCalls(from int, want ...string) {
	w.t.Helper()
	if got := calls(w.since(from)); !slices.Equal(got, want) {
		w.t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func (w *world) noneInFlight() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.ec2.Wait(ctx, func([]ec2fake.Request) bool { return w.ec2.InFlight() == 0 }); err != nil {
		w.t.Errorf("%d requests still in flight", w.ec2.InFlight())
	}
}

// throttle answers the first n requests of action with an error.
func throttle(action string, n int, f ec2fake.Fault) func(*ec2fake.Request) ec2fake.Fault {
	seen := 0
	return func(r *ec2fake.Request) ec2fake.Fault {
		if r.Action != action || seen >= n {
			return ec2fake.Fault{}
		}
		seen++
		return f
	}
}
