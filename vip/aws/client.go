package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vrrpkit/vrrpkit/vip/cloud"
	"github.com/vrrpkit/vrrpkit/vrrp"
)

// Client says how to reach EC2 and the instance metadata service. The
// zero value uses the SDK's defaults: credentials from its default chain
// (environment, shared files, web identity, the instance's role through
// IMDSv2), the region from the environment or else from the metadata
// service.
type Client struct {
	// Region is the EC2 region. Default: AWS_REGION / the shared config,
	// else the metadata service's.
	Region string
	// Endpoint replaces EC2's endpoint URL (a VPC interface endpoint, or a
	// test server). Default: the region's.
	Endpoint string
	// MetadataEndpoint replaces the metadata service's URL (default
	// http://169.254.169.254, or AWS_EC2_METADATA_SERVICE_ENDPOINT).
	MetadataEndpoint string
	// MaxAttempts is how many times the SDK sends one request (its
	// standard retryer: throttling, 5xx and connection errors), within
	// cloud.Options.CallTimeout; the cloud Backend retries beyond that.
	// Default 3.
	MaxAttempts int
	// Config, when set, is used instead of the SDK's default chain: its
	// credentials, region, HTTP client and retryer as they are.
	Config *sdkaws.Config
}

// session is one backend's EC2 and metadata clients, and what it has
// learnt about the instance it runs on.
type session struct {
	ec2  *ec2.Client
	imds *imds.Client

	mu       sync.Mutex
	instance string            // this instance's ID
	enis     map[string]string // interface name → its ENI's ID
}

func newSession(ctx context.Context, c Client) (*session, error) {
	var cfg sdkaws.Config
	if c.Config != nil {
		cfg = c.Config.Copy()
	} else {
		attempts := c.MaxAttempts
		if attempts == 0 {
			attempts = 3
		}
		if attempts < 0 {
			return nil, fmt.Errorf("aws: negative MaxAttempts %d", attempts)
		}
		opts := []func(*config.LoadOptions) error{
			config.WithRetryer(func() sdkaws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = attempts
					o.MaxBackoff = time.Second
					// The cloud Backend paces retries across calls; a
					// drained retry quota would turn them into instant
					// failures.
					o.RateLimiter = ratelimit.None
				})
			}),
		}
		if c.Region != "" {
			opts = append(opts, config.WithRegion(c.Region))
		} else {
			opts = append(opts, config.WithEC2IMDSRegion(func(o *config.UseEC2IMDSRegion) {
				o.Client = imds.New(imds.Options{Endpoint: c.MetadataEndpoint})
			}))
		}
		if c.MetadataEndpoint != "" {
			opts = append(opts, config.WithEC2IMDSEndpoint(c.MetadataEndpoint))
		}
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
			return nil, fmt.Errorf("aws: load configuration: %w", err)
		}
	}
	if cfg.Region == "" {
		return nil, errors.New("aws: no region: set Region, AWS_REGION, or run where the metadata service answers")
	}
	s := &session{enis: map[string]string{}}
	s.ec2 = ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = sdkaws.String(c.Endpoint)
		}
	})
	s.imds = imds.NewFromConfig(cfg, func(o *imds.Options) {
		if c.MetadataEndpoint != "" {
			o.Endpoint = c.MetadataEndpoint
		}
	})
	return s, nil
}

// metadata reads one path of the metadata service.
func (s *session) metadata(ctx context.Context, path string) (string, error) {
	out, err := s.imds.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 64<<10))
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// instanceID is this instance's ID: configured, else from the metadata
// service (once).
func (s *session) instanceID(ctx context.Context) (string, error) {
	s.mu.Lock()
	id := s.instance
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := s.metadata(ctx, "instance-id")
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.instance = id
	s.mu.Unlock()
	return id, nil
}

// eniOf is the ID of the ENI behind a local interface: the metadata
// service's for the interface's MAC address (once per interface).
func (s *session) eniOf(ctx context.Context, ifname string) (string, error) {
	s.mu.Lock()
	id := s.enis[ifname]
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	mac, err := s.macOf(ifname)
	if err != nil {
		return "", err
	}
	id, err = s.metadata(ctx, "network/interfaces/macs/"+mac+"/interface-id")
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.enis[ifname] = id
	s.mu.Unlock()
	return id, nil
}

func (s *session) macOf(ifname string) (string, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return "", cloud.Permanent(fmt.Errorf("interface %s: %w", ifname, err))
	}
	if len(ifi.HardwareAddr) == 0 {
		return "", cloud.Permanent(fmt.Errorf("interface %s has no MAC address to find its ENI by", ifname))
	}
	return ifi.HardwareAddr.String(), nil
}

// Error codes that retrying can fix although EC2 answers them with a 4xx
// status: throttling, an interface between two states, a clock off by
// more than the signature allows (the SDK corrects its skew).
var retryable = map[string]bool{
	"RequestLimitExceeded":          true,
	"Throttling":                    true,
	"ThrottlingException":           true,
	"EC2ThrottledException":         true,
	"IncorrectState":                true,
	"IncorrectInstanceState":        true,
	"InvalidNetworkInterface.InUse": true,
	"RequestExpired":                true,
	"RequestTimeout":                true,
	"PriorRequestNotComplete":       true,
	"ConcurrentTagAccess":           true,
	"RouteAlreadyExists":            true,
}

// classify marks what retrying cannot fix as permanent: any other 4xx
// answer (a missing permission, a wrong ID, a bad parameter). 5xx,
// timeouts and connection errors stay retryable.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", op, err)
	var re *smithyhttp.ResponseError
	var ae smithy.APIError
	if !errors.As(err, &re) || !errors.As(err, &ae) {
		return err
	}
	st := re.HTTPStatusCode()
	if st >= 400 && st < 500 && st != 429 && !retryable[ae.ErrorCode()] {
		return cloud.Permanent(err)
	}
	return err
}

// code is the EC2 error code of err, or "".
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// ipv4VIPs groups the set's IPv4 addresses by the interface they go on.
func ipv4VIPs(set vrrp.AddressSet) (ifnames []string, byIf map[string][]netip.Addr) {
	byIf = map[string][]netip.Addr{}
	for _, v := range set.VIPs {
		a := v.Prefix.Addr()
		if !a.Is4() {
			continue
		}
		ifname := v.Interface
		if ifname == "" {
			ifname = set.Interface
		}
		if _, ok := byIf[ifname]; !ok {
			ifnames = append(ifnames, ifname)
		}
		byIf[ifname] = append(byIf[ifname], a)
	}
	return ifnames, byIf
}

func strs(addrs []netip.Addr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}
