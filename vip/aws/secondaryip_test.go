package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vrrpkit/vrrpkit/internal/ec2fake"
	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

func newSecondary(t *testing.T, w *world, cfg SecondaryIPConfig) *cloud.Backend {
	t.Helper()
	if cfg.Client == (Client{}) {
		cfg.Client = w.client(1)
	}
	if cfg.NetworkInterfaceID == "" {
		cfg.NetworkInterfaceID = "eni-a"
	}
	if cfg.Options == (cloud.Options{}) {
		cfg.Options = fast
	}
	b, err := NewSecondaryIP(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return closeAtEnd(t, b)
}

func TestSecondaryIPAcquireAssignsWithReassignmentAndConfirms(t *testing.T) {
	w := newWorld(t)
	b := newSecondary(t, w, SecondaryIPConfig{})
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	// The IPv6 VIP is not EC2's to move.
	w.wantCalls(0,
		"AssignPrivateIpAddresses AllowReassignment=true NetworkInterfaceId=eni-a PrivateIpAddress.1=10.0.0.100",
		"DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a")
	if h := w.ec2.Holder(vip100); h != "eni-a" {
		t.Errorf("10.0.0.100 on %q", h)
	}
	if o := w.ec2.Owners(vip100); !slices.Equal(o, []string{"eni-b", "eni-a"}) {
		t.Errorf("owners %v", o)
	}
	for _, r := range w.ec2.Requests() {
		if r.AccessKey != keyID || r.Error != "" {
			t.Errorf("%s: signed by %q, error %q", r.Action, r.AccessKey, r.Error)
		}
	}
	// Again: idempotent, the same two calls, the same state.
	n := len(w.ec2.Requests())
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(n,
		"AssignPrivateIpAddresses AllowReassignment=true NetworkInterfaceId=eni-a PrivateIpAddress.1=10.0.0.100",
		"DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a")
	if v := w.ec2.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}
}

func TestSecondaryIPGroupsAddressesByInterface(t *testing.T) {
	w := newWorld(t)
	b := newSecondary(t, w, SecondaryIPConfig{})
	set := setVIP
	set.VIPs = []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}, {Prefix: netip.MustParsePrefix("10.0.0.101/24"), Excluded: true}}
	if err := b.Acquire(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(0,
		"AssignPrivateIpAddresses AllowReassignment=true NetworkInterfaceId=eni-a PrivateIpAddress.1=10.0.0.100 PrivateIpAddress.2=10.0.0.101",
		"DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a")
}

func TestSecondaryIPReleaseLeavesTheAddressByDefault(t *testing.T) {
	w := newWorld(t)
	b := newSecondary(t, w, SecondaryIPConfig{})
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	n := len(w.ec2.Requests())
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(n)
	if h := w.ec2.Holder(vip100); h != "eni-a" {
		t.Errorf("10.0.0.100 on %q", h)
	}
}

func TestSecondaryIPReleaseUnassignsOnlyWhatIsStillHere(t *testing.T) {
	w := newWorld(t)
	b := newSecondary(t, w, SecondaryIPConfig{Unassign: true})
	// Not ours (eni-b has it): a look, nothing else; then the preflight
	// check of a router that starts as a backup.
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	if err := w.ec2.Wait(t.Context(), func(rs []ec2fake.Request) bool { return len(rs) == 2 && w.ec2.InFlight() == 0 }); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(0, "DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a", "DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a")
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	n := len(w.ec2.Requests())
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(n, "DescribeNetworkInterfaces NetworkInterfaceId.1=eni-a",
		"UnassignPrivateIpAddresses NetworkInterfaceId=eni-a PrivateIpAddress.1=10.0.0.100")
	if h := w.ec2.Holder(vip100); h != "" {
		t.Errorf("10.0.0.100 still on %q", h)
	}
}

func TestSecondaryIPThrottlingRetriedBySDKThenByBackend(t *testing.T) {
	for _, tc := range []struct {
		attempts       int
		providerErrors uint64
	}{{3, 0}, {1, 2}} {
		w := newWorld(t)
		w.ec2.SetFault(throttle("AssignPrivateIpAddresses", 2, ec2fake.Fault{Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}))
		b := newSecondary(t, w, SecondaryIPConfig{Client: w.client(tc.attempts)})
		if err := b.Acquire(t.Context(), setVIP); err != nil {
			t.Fatalf("attempts %d: %v", tc.attempts, err)
		}
		var assigns []string
		for _, r := range w.ec2.Requests() {
			if r.Action == "AssignPrivateIpAddresses" {
				assigns = append(assigns, r.Error)
			}
		}
		if !slices.Equal(assigns, []string{"RequestLimitExceeded", "RequestLimitExceeded", ""}) {
			t.Errorf("attempts %d: assignments answered %q", tc.attempts, assigns)
		}
		if s := b.Stats(); s.ProviderErrors != tc.providerErrors || w.ec2.Holder(vip100) != "eni-a" {
			t.Errorf("attempts %d: %d provider errors, want %d; holder %s", tc.attempts, s.ProviderErrors, tc.providerErrors, w.ec2.Holder(vip100))
		}
	}
}

func TestSecondaryIPInvalidParameterValueRejectedAtOnce(t *testing.T) {
	w := newWorld(t)
	b := newSecondary(t, w, SecondaryIPConfig{Client: w.client(3)})
	set := setVIP
	set.VIPs = []vrrp.VIP{{Prefix: netip.MustParsePrefix("192.0.2.100/32")}} // outside the subnet
	err := b.Acquire(t.Context(), set)
	if !errors.Is(err, cloud.ErrRejected) || !strings.Contains(err.Error(), "InvalidParameterValue") {
		t.Fatalf("error %v: want ErrRejected with InvalidParameterValue", err)
	}
	w.wantCalls(0, "AssignPrivateIpAddresses AllowReassignment=true NetworkInterfaceId=eni-a PrivateIpAddress.1=192.0.2.100")
}

func TestSecondaryIPNoSuchInterfaceRejected(t *testing.T) {
	w := newWorld(t)
	b := newSecondary(t, w, SecondaryIPConfig{NetworkInterfaceID: "eni-gone"})
	err := b.Acquire(t.Context(), setVIP)
	if !errors.Is(err, cloud.ErrRejected) || !strings.Contains(err.Error(), "InvalidNetworkInterfaceID.NotFound") {
		t.Fatalf("error %v", err)
	}
}

func TestSecondaryIPServerErrorsUntilAcquireTimeout(t *testing.T) {
	w := newWorld(t)
	w.ec2.SetFault(func(r *ec2fake.Request) ec2fake.Fault {
		return ec2fake.Fault{Status: 500, Code: "InternalError", Message: "An internal error has occurred"}
	})
	o := fast
	o.AcquireTimeout = 500 * time.Millisecond
	b := newSecondary(t, w, SecondaryIPConfig{Options: o})
	start := time.Now()
	err := b.Acquire(t.Context(), setVIP)
	if !errors.Is(err, cloud.ErrAcquireTimeout) || !strings.Contains(err.Error(), "InternalError") {
		t.Fatalf("error %v: want ErrAcquireTimeout with the last error", err)
	}
	if took := time.Since(start); took < o.AcquireTimeout {
		t.Errorf("gave up after %v", took)
	}
	if n := len(w.ec2.Requests()); n < 3 {
		t.Errorf("%d attempts: not retried", n)
	}
	w.noneInFlight()
	n := len(w.ec2.Requests())
	// Nothing goes on in the background: the next request is ours.
	w.ec2.SetFault(nil)
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.wantCalls(n)
}

func TestSecondaryIPHungRequestTimesOutAndIsRetried(t *testing.T) {
	w := newWorld(t)
	w.ec2.SetFault(throttle("AssignPrivateIpAddresses", 1, ec2fake.Fault{Hang: true}))
	o := fast
	o.CallTimeout = 200 * time.Millisecond
	b := newSecondary(t, w, SecondaryIPConfig{Options: o})
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	rs := w.ec2.Requests()
	if len(rs) != 3 || !rs[0].Canceled || rs[1].Canceled || w.ec2.Holder(vip100) != "eni-a" {
		t.Errorf("requests %v (first canceled %v)", calls(rs), len(rs) > 0 && rs[0].Canceled)
	}
	if s := b.Stats(); s.ProviderErrors != 1 || !strings.Contains(s.LastError, "no answer within 200ms") {
		t.Errorf("stats %+v", s)
	}
	w.noneInFlight()
}

func TestSecondaryIPReleaseCancelsAHungAcquire(t *testing.T) {
	w := newWorld(t)
	w.ec2.SetFault(func(r *ec2fake.Request) ec2fake.Fault { return ec2fake.Fault{Hang: true} })
	b := newSecondary(t, w, SecondaryIPConfig{})
	done := make(chan error)
	go func() { done <- b.Acquire(context.Background(), setVIP) }()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := w.ec2.Wait(ctx, func([]ec2fake.Request) bool { return w.ec2.InFlight() == 1 }); err != nil {
		t.Fatal("the assignment never arrived")
	}
	if err := b.Release(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, cloud.ErrSuperseded) {
		t.Fatalf("acquire: %v", err)
	}
	w.noneInFlight()
	if rs := w.ec2.Requests(); len(rs) != 1 || !rs[0].Canceled {
		t.Errorf("requests %v", calls(rs))
	}
}

func TestSecondaryIPCredentialsFromTheInstanceRoleOverIMDSv2(t *testing.T) {
	w := newWorld(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	// No region either: the metadata service's.
	b := newSecondary(t, w, SecondaryIPConfig{Client: Client{Endpoint: w.url, MetadataEndpoint: w.imds, MaxAttempts: 1}})
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	for _, r := range w.ec2.Requests() {
		if !strings.HasPrefix(r.AccessKey, "ASIA") || r.Instance != "i-a" {
			t.Errorf("%s signed by %q (instance %q), want i-a's role credentials", r.Action, r.AccessKey, r.Instance)
		}
	}
}

func TestSecondaryIPWrongSecretRejected(t *testing.T) {
	w := newWorld(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	b := newSecondary(t, w, SecondaryIPConfig{})
	err := b.Acquire(t.Context(), setVIP)
	if !errors.Is(err, cloud.ErrRejected) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("error %v: the endpoint must check signatures", err)
	}
}

func TestSecondaryIPNeverLogsOrReturnsSecrets(t *testing.T) {
	w := newWorld(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	core, logs := observer.New(zap.DebugLevel)
	o := fast
	o.Logger = zap.New(core)
	o.AcquireTimeout = 300 * time.Millisecond
	b := newSecondary(t, w, SecondaryIPConfig{Client: Client{Endpoint: w.url, MetadataEndpoint: w.imds, MaxAttempts: 1}, Options: o})
	if err := b.Acquire(t.Context(), setVIP); err != nil {
		t.Fatal(err)
	}
	w.ec2.SetFault(func(*ec2fake.Request) ec2fake.Fault {
		return ec2fake.Fault{Status: 403, Code: "UnauthorizedOperation", Message: "not allowed"}
	})
	err := b.Acquire(t.Context(), setVIP)
	if err == nil {
		t.Fatal("no error")
	}
	var text []string
	text = append(text, err.Error(), b.Stats().LastError)
	for _, e := range logs.All() {
		text = append(text, e.Message)
		for k, v := range e.ContextMap() {
			text = append(text, k+"="+strings.TrimSpace(fmt.Sprint(v)))
		}
	}
	all := strings.Join(text, "\n")
	secrets := w.ec2.Secrets()
	if len(secrets) < 3 {
		t.Fatalf("the fake handed out %d secrets", len(secrets))
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("a secret (%.6s…) appears in the logs or errors", s)
		}
	}
}
