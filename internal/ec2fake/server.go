package ec2fake

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Server is the fake EC2 endpoint: serve Handler (EC2 Query API) and
// IMDS (metadata) on listeners of the test's choosing.
type Server struct {
	region string

	mu        sync.Mutex
	creds     map[string]credential // access key ID → secret
	tokens    map[string]string     // IMDSv2 token → instance ID
	instances map[string]*Instance
	enis      map[string]*ENI
	addrs     map[string]*Address // by allocation ID
	tables    map[string]*RouteTable
	seq       int
	requests  []*Request
	inFlight  int
	fault     func(*Request) Fault
	owners    map[netip.Addr][]string // each secondary IP's owners in turn
	bad       []string                // invariant violations
	changed   chan struct{}           // closed and replaced at each request's end

	// AttachDelay and DetachDelay are how long an interface stays
	// "attaching" and "detaching". Set before serving.
	AttachDelay, DetachDelay time.Duration
}

type credential struct{ secret, token, instance string }

// Instance is an EC2 instance: its primary interface, the address the
// metadata service recognises it by (the source of its requests), and
// the role whose credentials the metadata service hands out.
type Instance struct {
	ID     string
	Source netip.Addr
	Role   string
}

// ENI is a network interface.
type ENI struct {
	ID, MAC   string
	Subnet    netip.Prefix
	Primary   netip.Addr
	Secondary []netip.Addr
	// Attachment: the instance it is attached to, its state ("attached",
	// "attaching", "detaching"; "" when available) and device index.
	Instance, AttachmentID, AttachState string
	DeviceIndex                         int
	SourceDestCheck                     bool
}

// Address is an elastic IP.
type Address struct {
	AllocationID, PublicIP string
	AssociationID, ENI     string
	PrivateIP              netip.Addr
}

// RouteTable maps destinations to interfaces.
type RouteTable struct {
	ID     string
	Routes map[netip.Prefix]string
}

// Request is one EC2 request as the server saw it.
type Request struct {
	Action    string
	Params    url.Values
	AccessKey string
	Instance  string     // whose role credentials signed it, if an instance's
	Source    netip.Addr // the client's address
	Arrived   time.Time  // read and signature checked
	Applied   time.Time  // its change took effect (zero if none, or failed)
	Answered  time.Time
	Error     string // the error code answered, "" on success
	Canceled  bool   // the client went away before the answer
}

// Fault is what to do to one request instead of (or before) answering
// it: wait Delay (or until the client gives up, with Hang), then answer
// Code with Status if Code is set.
type Fault struct {
	Delay   time.Duration
	Hang    bool
	Status  int
	Code    string
	Message string
}

// New returns an empty endpoint for region.
func New(region string) *Server {
	return &Server{region: region, creds: map[string]credential{}, tokens: map[string]string{}, instances: map[string]*Instance{},
		enis: map[string]*ENI{}, addrs: map[string]*Address{}, tables: map[string]*RouteTable{},
		owners: map[netip.Addr][]string{}, changed: make(chan struct{})}
}

// AddCredentials makes the server accept requests signed with this key.
func (s *Server) AddCredentials(keyID, secret, token string) {
	s.mu.Lock()
	s.creds[keyID] = credential{secret: secret, token: token}
	s.mu.Unlock()
}

// AddInstance adds an instance with its primary interface (attached at
// device index 0).
func (s *Server) AddInstance(in Instance, eni ENI) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instances[in.ID] = &in
	eni.Instance, eni.AttachState, eni.DeviceIndex = in.ID, "attached", 0
	s.addENILocked(eni)
}

// AddENI adds an interface (attached if Instance is set).
func (s *Server) AddENI(eni ENI) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if eni.Instance != "" && eni.AttachState == "" {
		eni.AttachState = "attached"
	}
	s.addENILocked(eni)
}

func (s *Server) addENILocked(eni ENI) {
	if eni.Instance != "" && eni.AttachmentID == "" {
		s.seq++
		eni.AttachmentID = fmt.Sprintf("eni-attach-%04d", s.seq)
	}
	e := eni
	e.Secondary = slices.Clone(eni.Secondary)
	s.enis[e.ID] = &e
	for _, ip := range e.Secondary {
		s.owners[ip] = append(s.owners[ip], e.ID)
	}
}

// AddAddress adds an elastic IP.
func (s *Server) AddAddress(a Address) {
	s.mu.Lock()
	s.addrs[a.AllocationID] = &a
	s.mu.Unlock()
}

// AddRouteTable adds a route table.
func (s *Server) AddRouteTable(id string, routes map[netip.Prefix]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := &RouteTable{ID: id, Routes: map[netip.Prefix]string{}}
	for p, e := range routes {
		rt.Routes[p] = e
	}
	s.tables[id] = rt
}

// SetFault decides, per request, what goes wrong (nil: nothing).
func (s *Server) SetFault(f func(*Request) Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// ENI returns a copy of an interface's state.
func (s *Server) ENI(id string) ENI {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := *s.enis[id]
	e.Secondary = slices.Clone(e.Secondary)
	return e
}

// Address returns a copy of an elastic IP's state.
func (s *Server) Address(allocationID string) Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addrs[allocationID]
}

// Route returns the interface a route table sends dst to ("" for none).
func (s *Server) Route(table string, dst netip.Prefix) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tables[table].Routes[dst]
}

// Holder is the interface that holds a secondary IP ("" for none).
func (s *Server) Holder(ip netip.Addr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holderLocked(ip)
}

func (s *Server) holderLocked(ip netip.Addr) string {
	for _, e := range s.enis {
		if slices.Contains(e.Secondary, ip) {
			return e.ID
		}
	}
	return ""
}

// Owners lists the interfaces that held ip, in turn ("" while none did).
func (s *Server) Owners(ip netip.Addr) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.owners[ip])
}

// Secrets lists every secret the server knows or handed out: secret
// keys, session tokens, metadata tokens; a test checks that none leaks.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.creds {
		out = append(out, c.secret)
		if c.token != "" {
			out = append(out, c.token)
		}
	}
	for tok := range s.tokens {
		out = append(out, tok)
	}
	return out
}

// Violations lists the moments a private IP was on two interfaces.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bad)
}

// Requests returns what was received so far, in order of arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

// InFlight is the number of requests not yet answered.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// Wait waits until cond (called with the requests so far) holds, checking
// it at each request's arrival and end, or ctx ends.
func (s *Server) Wait(ctx context.Context, cond func([]Request) bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond(s.Requests()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apiError is an EC2 error answer.
type apiError struct {
	status        int
	code, message string
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%04d", prefix, s.seq)
}

// Handler serves the EC2 Query API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveEC2) }

func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	req := &Request{Arrived: time.Now()}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		req.Source, _ = netip.ParseAddr(host)
		req.Source = req.Source.Unmap()
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.inFlight++
	fault := s.fault
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		req.Answered = time.Now()
		s.inFlight--
		s.notifyLocked()
		s.mu.Unlock()
	}()

	key, aerr := s.sigv4(r, body, req.Arrived)
	params, perr := url.ParseQuery(string(body))
	s.mu.Lock()
	req.AccessKey = key
	req.Instance = s.creds[key].instance
	req.Params = params
	req.Action = params.Get("Action")
	s.notifyLocked()
	s.mu.Unlock()
	if aerr == nil && perr != nil {
		aerr = &apiError{http.StatusBadRequest, "MalformedQueryString", perr.Error()}
	}
	if aerr == nil && r.Method != http.MethodPost {
		aerr = &apiError{http.StatusBadRequest, "InvalidAction", "POST only"}
	}
	if aerr == nil && fault != nil {
		s.mu.Lock()
		f := fault(req)
		s.mu.Unlock()
		if f.Delay > 0 || f.Hang {
			var t <-chan time.Time
			if !f.Hang {
				tm := time.NewTimer(f.Delay)
				defer tm.Stop()
				t = tm.C
			}
			select {
			case <-t:
			case <-r.Context().Done():
				s.mu.Lock()
				req.Canceled = true
				s.mu.Unlock()
				return
			}
		}
		if f.Code != "" {
			aerr = &apiError{f.Status, f.Code, f.Message}
		}
	}
	var resp any
	if aerr == nil {
		s.mu.Lock()
		resp, aerr = s.act(req)
		if aerr == nil && mutates(req.Action) {
			req.Applied = time.Now()
		}
		s.mu.Unlock()
	}
	if aerr != nil {
		s.mu.Lock()
		req.Error = aerr.code
		s.mu.Unlock()
		writeXML(w, aerr.status, errorResponse{Code: aerr.code, Message: aerr.message, RequestID: "req-error"})
		return
	}
	writeXML(w, http.StatusOK, resp)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(out)
}

type errorResponse struct {
	XMLName   xml.Name `xml:"Response"`
	Code      string   `xml:"Errors>Error>Code"`
	Message   string   `xml:"Errors>Error>Message"`
	RequestID string   `xml:"RequestID"`
}
