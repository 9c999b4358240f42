package ec2fake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// IMDS serves the instance metadata service, IMDSv2 only: a PUT to
// /latest/api/token with a TTL header returns a token, and every GET
// must carry it. The instance is the one whose Source is the request's
// source address, or the only instance if there is one. Its role's
// credentials are made on first request and accepted by Handler.
func (s *Server) IMDS() http.Handler { return http.HandlerFunc(s.serveIMDS) }

func (s *Server) serveIMDS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instanceFor(r.RemoteAddr)
	if in == nil {
		http.Error(w, "no instance at this address", http.StatusNotFound)
		return
	}
	if r.URL.Path == "/latest/api/token" {
		ttl, err := strconv.Atoi(r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		if r.Method != http.MethodPut || err != nil || ttl < 1 || ttl > 21600 {
			http.Error(w, "bad token request", http.StatusBadRequest)
			return
		}
		tok := "tok-" + randomHex(16)
		s.tokens[tok] = in.ID
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", strconv.Itoa(ttl))
		w.Write([]byte(tok))
		return
	}
	if id, ok := s.tokens[r.Header.Get("X-Aws-Ec2-Metadata-Token")]; !ok || id != in.ID || r.Method != http.MethodGet {
		http.Error(w, "IMDSv2 token required", http.StatusUnauthorized)
		return
	}
	if r.URL.Path == "/latest/dynamic/instance-identity/document" {
		out, _ := json.Marshal(map[string]string{"instanceId": in.ID, "region": s.region,
			"availabilityZone": s.region + "a", "accountId": "123456789012"})
		w.Write(out)
		return
	}
	v, ok := s.metadata(in, strings.TrimPrefix(r.URL.Path, "/latest/meta-data/"))
	if !ok || !strings.HasPrefix(r.URL.Path, "/latest/meta-data/") {
		http.NotFound(w, r)
		return
	}
	w.Write([]byte(v))
}

func (s *Server) instanceFor(remote string) *Instance {
	host, _, _ := net.SplitHostPort(remote)
	src, _ := netip.ParseAddr(host)
	for _, in := range s.instances {
		if in.Source == src.Unmap() {
			return in
		}
	}
	if len(s.instances) == 1 {
		for _, in := range s.instances {
			return in
		}
	}
	return nil
}

// metadata answers one metadata path for in.
func (s *Server) metadata(in *Instance, path string) (string, bool) {
	var enis []*ENI
	for _, e := range s.enis {
		if e.Instance == in.ID && e.AttachState == "attached" {
			enis = append(enis, e)
		}
	}
	slices.SortFunc(enis, func(a, b *ENI) int { return a.DeviceIndex - b.DeviceIndex })
	switch path {
	case "instance-id":
		return in.ID, true
	case "placement/region":
		return s.region, true
	case "placement/availability-zone":
		return s.region + "a", true
	case "mac":
		if len(enis) == 0 {
			return "", false
		}
		return enis[0].MAC, true
	case "network/interfaces/macs/":
		var macs []string
		for _, e := range enis {
			macs = append(macs, e.MAC+"/")
		}
		return strings.Join(macs, "\n"), true
	case "iam/security-credentials/":
		if in.Role == "" {
			return "", false
		}
		return in.Role, true
	}
	if in.Role != "" && path == "iam/security-credentials/"+in.Role {
		key := "ASIA" + strings.ToUpper(randomHex(8))
		c := credential{secret: randomHex(20), token: "session-" + randomHex(24), instance: in.ID}
		s.creds[key] = c
		out, _ := json.Marshal(map[string]string{
			"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key, "SecretAccessKey": c.secret, "Token": c.token,
			"LastUpdated": time.Now().UTC().Format(time.RFC3339), "Expiration": time.Now().Add(6 * time.Hour).UTC().Format(time.RFC3339),
		})
		return string(out), true
	}
	if rest, ok := strings.CutPrefix(path, "network/interfaces/macs/"); ok {
		mac, field, _ := strings.Cut(rest, "/")
		for _, e := range enis {
			if e.MAC != mac {
				continue
			}
			switch field {
			case "interface-id":
				return e.ID, true
			case "device-number":
				return strconv.Itoa(e.DeviceIndex), true
			case "local-ipv4s":
				ips := []string{e.Primary.String()}
				for _, ip := range e.Secondary {
					ips = append(ips, ip.String())
				}
				return strings.Join(ips, "\n"), true
			}
		}
	}
	return "", false
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
