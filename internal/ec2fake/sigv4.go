package ec2fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sigv4 checks an AWS Signature Version 4 "Authorization" header,
// written from the specification (canonical request, string to sign,
// derived key), not from the SDK's signer: a mismatch between the two
// fails the request. It returns the access key that signed it.
func (s *Server) sigv4(r *http.Request, body []byte, now time.Time) (string, *apiError) {
	auth := r.Header.Get("Authorization")
	const alg = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, alg) {
		return "", &apiError{http.StatusUnauthorized, "MissingAuthenticationToken", "request not signed with SigV4"}
	}
	fields := map[string]string{}
	for _, f := range strings.Split(auth[len(alg):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return "", &apiError{http.StatusBadRequest, "IncompleteSignature", "bad Credential " + fields["Credential"]}
	}
	key, day, region, service := scope[0], scope[1], scope[2], scope[3]
	if region != s.region || service != "ec2" {
		return "", &apiError{http.StatusBadRequest, "SignatureDoesNotMatch", fmt.Sprintf("scope %s/%s, want %s/ec2", region, service, s.region)}
	}
	s.mu.Lock()
	c, ok := s.creds[key]
	s.mu.Unlock()
	if !ok {
		return "", &apiError{http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials"}
	}
	if c.token != "" && r.Header.Get("X-Amz-Security-Token") != c.token {
		return "", &apiError{http.StatusUnauthorized, "AuthFailure", "session token missing or wrong"}
	}
	stamp := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", stamp)
	if err != nil || !strings.HasPrefix(stamp, day) {
		return "", &apiError{http.StatusBadRequest, "IncompleteSignature", "bad X-Amz-Date " + stamp}
	}
	if d := now.Sub(at); d > 5*time.Minute || d < -5*time.Minute {
		return "", &apiError{http.StatusBadRequest, "RequestExpired", "request time too far from the server's"}
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return "", &apiError{http.StatusBadRequest, "SignatureDoesNotMatch", "payload hash mismatch"}
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") {
		return "", &apiError{http.StatusBadRequest, "SignatureDoesNotMatch", "host and x-amz-date must be signed"}
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(canonicalPath(r.URL) + "\n")
	canon.WriteString(canonicalQuery(r.URL.Query()) + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		canon.WriteString(h + ":" + v + "\n")
	}
	canon.WriteString("\n" + fields["SignedHeaders"] + "\n" + payload)
	crSum := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + stamp + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(crSum[:])
	k := mac([]byte("AWS4"+c.secret), day)
	k = mac(k, region)
	k = mac(k, service)
	k = mac(k, "aws4_request")
	want := hex.EncodeToString(mac(k, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "", &apiError{http.StatusForbidden, "SignatureDoesNotMatch", "the request signature does not match"}
	}
	return key, nil
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func canonicalPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		for _, v := range vs {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// escape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
