package kaconf

import (
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Cloud is a vrrpd_cloud block inside a vrrp_instance: a backend that
// moves the instance's addresses through a cloud provider's API, in
// process, besides putting them on the interface. It is a vrrpd
// extension keepalived does not have (keepalived users call the cloud's
// CLI from notify scripts, which keep working as well):
//
//	vrrpd_cloud {
//	    provider aws_secondary_ip   # aws_secondary_ip, aws_elastic_ip, aws_route, aws_eni
//	    region eu-west-1            # default: AWS_REGION, else the metadata service's
//	    endpoint URL                # EC2 endpoint (a VPC endpoint); default the region's
//	    metadata_endpoint URL       # default http://169.254.169.254
//	    network_interface eni-ID    # default: the ENI of the address's interface
//	    instance_id i-ID            # aws_eni; default: the metadata service's
//	    allocation_id eipalloc-ID   # aws_elastic_ip, required
//	    private_ip ADDRESS          # aws_elastic_ip: ADDRESS, or follow_vip
//	    route_table rtb-ID ...      # aws_route, required
//	    device_index N              # aws_eni; default 1
//	    force_detach                # aws_eni
//	    release leave               # or give_up: unassign / disassociate / detach
//	    confirm api                 # aws_secondary_ip: or metadata
//	    acquire_timeout SECONDS     # default 30 (aws_eni 180)
//	    call_timeout SECONDS        # default 10
//	    reassert SECONDS            # default 30; off: never
//	}
//
// Several blocks are several backends (a secondary IP, then the elastic IP
// that follows it), run in file order after the interface's addresses —
// except aws_eni, whose interface must be attached first, which runs
// before them. Credentials come from the SDK's default chain (the
// instance's role, the environment): never from this file. keepalived
// 2.2.7 takes the block's closing brace for the instance's: last in the
// instance, it costs keepalived only warnings.
type Cloud struct {
	Pos      Pos
	Provider string
	// Region, Endpoint and MetadataEndpoint say where the API is; empty:
	// the SDK's defaults.
	Region, Endpoint, MetadataEndpoint string
	NetworkInterface                   string
	InstanceID                         string
	AllocationID                       string
	// PrivateIP (or FollowVIP: the instance's first IPv4 VIP) is the
	// private address an elastic IP maps to; zero: the ENI's primary.
	PrivateIP   netip.Addr
	FollowVIP   bool
	RouteTables []string
	DeviceIndex int // 0: the default
	ForceDetach bool
	// GiveUp releases the address at the provider on release (release
	// give_up); default false (release leave).
	GiveUp bool
	// ConfirmMetadata waits for a secondary IP in the metadata service
	// rather than the EC2 API (confirm metadata).
	ConfirmMetadata bool
	// AcquireTimeout and CallTimeout: 0 is the default. Reassert: 0 is
	// the default, negative is off.
	AcquireTimeout, CallTimeout, Reassert time.Duration
}

// Cloud providers, and the keywords each takes besides the common ones.
var cloudProviders = map[string]map[string]bool{
	"aws_secondary_ip": words("network_interface release confirm"),
	"aws_elastic_ip":   words("network_interface allocation_id private_ip release"),
	"aws_route":        words("network_interface route_table"),
	"aws_eni":          words("network_interface instance_id device_index force_detach release"),
}

var cloudCommon = words("provider region endpoint metadata_endpoint acquire_timeout call_timeout reassert")

// Equal reports whether two blocks configure the same backend (Pos
// aside).
func (c Cloud) Equal(o Cloud) bool {
	c.Pos, o.Pos = Pos{}, Pos{}
	if !slices.Equal(c.RouteTables, o.RouteTables) {
		return false
	}
	c.RouteTables, o.RouteTables = nil, nil
	return reflect.DeepEqual(c, o)
}

func (p *parser) cloud(d *instDraft, n *node) {
	if !p.block(n) || !p.count(n, 0, 0) {
		return
	}
	c := Cloud{Pos: n.pos}
	ok := true
	seen := map[string]Pos{}
	for _, k := range n.block {
		kw := k.keyword()
		if !cloudCommon[kw] && !cloudProviders["aws_secondary_ip"][kw] && !cloudProviders["aws_elastic_ip"][kw] &&
			!cloudProviders["aws_route"][kw] && !cloudProviders["aws_eni"][kw] {
			p.d.errorf(k.pos, kw, "unknown vrrpd_cloud keyword")
			ok = false
			continue
		}
		if prev, dup := seen[kw]; dup && kw != "route_table" {
			p.d.errorf(k.pos, kw, "given twice (first at %s)", prev)
			ok = false
			continue
		}
		seen[kw] = k.pos
		if !p.cloudKeyword(&c, k) {
			ok = false
		}
	}
	if !ok {
		return
	}
	extra, known := cloudProviders[c.Provider]
	if !known {
		if c.Provider == "" {
			p.d.errorf(n.pos, "vrrpd_cloud", "missing provider (one of aws_secondary_ip, aws_elastic_ip, aws_route, aws_eni)")
		}
		return
	}
	for kw, pos := range seen {
		if !cloudCommon[kw] && !extra[kw] {
			p.d.errorf(pos, kw, "not a setting of provider %s", c.Provider)
			ok = false
		}
	}
	switch {
	case c.Provider == "aws_elastic_ip" && c.AllocationID == "":
		p.d.errorf(n.pos, "vrrpd_cloud", "provider aws_elastic_ip needs allocation_id")
		ok = false
	case c.Provider == "aws_route" && len(c.RouteTables) == 0:
		p.d.errorf(n.pos, "vrrpd_cloud", "provider aws_route needs route_table")
		ok = false
	case c.Provider == "aws_eni" && c.NetworkInterface == "":
		p.d.errorf(n.pos, "vrrpd_cloud", "provider aws_eni needs network_interface (the interface that moves)")
		ok = false
	}
	if ok {
		d.in.Cloud = append(d.in.Cloud, c)
	}
}

// cloudKeyword reads one line of a vrrpd_cloud block into c.
func (p *parser) cloudKeyword(c *Cloud, n *node) bool {
	kw := n.keyword()
	switch kw {
	case "provider":
		if !p.args(n, 1, 1) {
			return false
		}
		if _, ok := cloudProviders[n.words[1]]; !ok {
			p.d.errorf(n.pos, kw, "%q is not one of aws_secondary_ip, aws_elastic_ip, aws_route, aws_eni", n.words[1])
			return false
		}
		c.Provider = n.words[1]
	case "region":
		return p.cloudID(n, &c.Region, "")
	case "endpoint", "metadata_endpoint":
		if !p.args(n, 1, 1) {
			return false
		}
		u, err := url.Parse(n.words[1])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			p.d.errorf(n.pos, kw, "%q is not an http:// or https:// URL without credentials", n.words[1])
			return false
		}
		if kw == "endpoint" {
			c.Endpoint = n.words[1]
		} else {
			c.MetadataEndpoint = n.words[1]
		}
	case "network_interface":
		return p.cloudID(n, &c.NetworkInterface, "eni-")
	case "instance_id":
		return p.cloudID(n, &c.InstanceID, "i-")
	case "allocation_id":
		return p.cloudID(n, &c.AllocationID, "eipalloc-")
	case "route_table":
		if !p.args(n, 1, -1) {
			return false
		}
		for _, w := range n.words[1:] {
			if !validID(w, "rtb-") {
				p.d.errorf(n.pos, kw, "%q is not a route table ID (rtb-...)", w)
				return false
			}
			c.RouteTables = append(c.RouteTables, w)
		}
	case "private_ip":
		if !p.args(n, 1, 1) {
			return false
		}
		if n.words[1] == "follow_vip" {
			c.FollowVIP = true
			return true
		}
		a, ok := p.addrValue(n, kw, n.words[1])
		if ok && !a.Is4() {
			p.d.errorf(n.pos, kw, "%s: an elastic IP maps to an IPv4 address", a)
			return false
		}
		c.PrivateIP = a
		return ok
	case "device_index":
		v, ok := p.intKeyword(n, 1, 31)
		c.DeviceIndex = v
		return ok
	case "force_detach":
		v, ok := p.boolKeyword(n)
		c.ForceDetach = v
		return ok
	case "release":
		if !p.args(n, 1, 1) {
			return false
		}
		switch n.words[1] {
		case "leave":
		case "give_up":
			c.GiveUp = true
		default:
			p.d.errorf(n.pos, kw, "%q is not leave or give_up", n.words[1])
			return false
		}
	case "confirm":
		if !p.args(n, 1, 1) {
			return false
		}
		switch n.words[1] {
		case "api":
		case "metadata":
			c.ConfirmMetadata = true
		default:
			p.d.errorf(n.pos, kw, "%q is not api or metadata", n.words[1])
			return false
		}
	case "acquire_timeout", "call_timeout":
		v, ok := p.secondsKeyword(n, time.Second, time.Hour)
		if kw == "acquire_timeout" {
			c.AcquireTimeout = v
		} else {
			c.CallTimeout = v
		}
		return ok
	case "reassert":
		if len(n.words) == 2 && n.words[1] == "off" {
			c.Reassert = -1
			return p.args(n, 1, 1)
		}
		v, ok := p.secondsKeyword(n, time.Second, 24*time.Hour)
		c.Reassert = v
		return ok
	}
	return true
}

// cloudID reads "KEYWORD ID", ID starting with prefix.
func (p *parser) cloudID(n *node, dst *string, prefix string) bool {
	if !p.args(n, 1, 1) {
		return false
	}
	if !validID(n.words[1], prefix) {
		p.d.errorf(n.pos, n.keyword(), "%q is not a valid ID%s", n.words[1], map[bool]string{true: " (" + prefix + "...)", false: ""}[prefix != ""])
		return false
	}
	*dst = n.words[1]
	return true
}

// validID: a provider's identifier — letters, digits and '-', with its
// prefix, at most 64 bytes; nothing a URL, a shell or a log would read
// otherwise.
func validID(s, prefix string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) == len(prefix) || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// formatCloud writes an instance's vrrpd_cloud blocks.
func formatCloud(w *writer, in *Instance) {
	for _, c := range in.Cloud {
		w.line(1, "vrrpd_cloud {")
		w.line(2, "provider %s", c.Provider)
		for _, kv := range [][2]string{{"region", c.Region}, {"endpoint", quoteWord(c.Endpoint)},
			{"metadata_endpoint", quoteWord(c.MetadataEndpoint)}, {"network_interface", c.NetworkInterface},
			{"instance_id", c.InstanceID}, {"allocation_id", c.AllocationID}} {
			if kv[1] != "" && kv[1] != `""` {
				w.line(2, "%s %s", kv[0], kv[1])
			}
		}
		switch {
		case c.FollowVIP:
			w.line(2, "private_ip follow_vip")
		case c.PrivateIP.IsValid():
			w.line(2, "private_ip %s", c.PrivateIP)
		}
		if len(c.RouteTables) > 0 {
			w.line(2, "route_table %s", strings.Join(c.RouteTables, " "))
		}
		if c.DeviceIndex != 0 {
			w.line(2, "device_index %d", c.DeviceIndex)
		}
		if c.ForceDetach {
			w.line(2, "force_detach")
		}
		if c.GiveUp {
			w.line(2, "release give_up")
		}
		if c.ConfirmMetadata {
			w.line(2, "confirm metadata")
		}
		if c.AcquireTimeout != 0 {
			w.line(2, "acquire_timeout %s", seconds(c.AcquireTimeout))
		}
		if c.CallTimeout != 0 {
			w.line(2, "call_timeout %s", seconds(c.CallTimeout))
		}
		switch {
		case c.Reassert < 0:
			w.line(2, "reassert off")
		case c.Reassert > 0:
			w.line(2, "reassert %s", seconds(c.Reassert))
		}
		w.line(1, "}")
	}
}
