package ec2fake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const xmlns = "http://ec2.amazonaws.com/doc/2016-11-15/"

func mutates(action string) bool {
	return !strings.HasPrefix(action, "Describe")
}

func badParam(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf(format, args...)}
}

func missing(name string) *apiError {
	return &apiError{http.StatusBadRequest, "MissingParameter", "The request must contain the parameter " + name}
}

// list returns prefix.1, prefix.2, ... in order.
func list(p url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// act performs req, with s.mu held.
func (s *Server) act(req *Request) (any, *apiError) {
	p := req.Params
	switch req.Action {
	case "AssignPrivateIpAddresses":
		return s.assign(p)
	case "UnassignPrivateIpAddresses":
		return s.unassign(p)
	case "DescribeNetworkInterfaces":
		return s.describeENIs(p)
	case "AssociateAddress":
		return s.associate(p)
	case "DisassociateAddress":
		return s.disassociate(p)
	case "DescribeAddresses":
		return s.describeAddresses(p)
	case "ReplaceRoute", "CreateRoute":
		return s.route(req.Action, p)
	case "DescribeRouteTables":
		return s.describeTables(p)
	case "AttachNetworkInterface":
		return s.attach(p)
	case "DetachNetworkInterface":
		return s.detach(p)
	}
	return nil, &apiError{http.StatusBadRequest, "InvalidAction", "The action " + req.Action + " is not valid for this web service."}
}

func (s *Server) eni(id string) (*ENI, *apiError) {
	if id == "" {
		return nil, missing("NetworkInterfaceId")
	}
	e := s.enis[id]
	if e == nil {
		return nil, &apiError{http.StatusBadRequest, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '" + id + "' does not exist"}
	}
	return e, nil
}

func parseIPs(vals []string) ([]netip.Addr, *apiError) {
	var out []netip.Addr
	for _, v := range vals {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			return nil, badParam("Invalid IPv4 address %q", v)
		}
		out = append(out, a)
	}
	return out, nil
}

type simpleResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

func ok(action string) simpleResponse {
	return simpleResponse{XMLName: xml.Name{Local: action + "Response"}, Xmlns: xmlns, RequestID: "req-ok", Return: true}
}

func (s *Server) assign(p url.Values) (any, *apiError) {
	e, err := s.eni(p.Get("NetworkInterfaceId"))
	if err != nil {
		return nil, err
	}
	ips, err := parseIPs(list(p, "PrivateIpAddress"))
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, missing("PrivateIpAddress")
	}
	reassign := p.Get("AllowReassignment") == "true"
	for _, ip := range ips {
		if !e.Subnet.Contains(ip) {
			return nil, badParam("Address %s does not fall within the subnet's address range", ip)
		}
		if h := s.holderLocked(ip); h != "" && h != e.ID && !reassign {
			return nil, &apiError{http.StatusBadRequest, "PrivateIpAddressInUse", fmt.Sprintf("Address %s is in use.", ip)}
		}
		if ip == e.Primary {
			return nil, badParam("Address %s is the primary address of %s", ip, e.ID)
		}
	}
	for _, ip := range ips {
		if h := s.holderLocked(ip); h == e.ID {
			continue
		} else if h != "" {
			o := s.enis[h]
			o.Secondary = slices.DeleteFunc(o.Secondary, func(a netip.Addr) bool { return a == ip })
		}
		e.Secondary = append(e.Secondary, ip)
		s.owners[ip] = append(s.owners[ip], e.ID)
	}
	s.checkLocked()
	type item struct {
		IP string `xml:"privateIpAddress"`
	}
	resp := struct {
		XMLName   xml.Name `xml:"AssignPrivateIpAddressesResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		ENI       string   `xml:"networkInterfaceId"`
		Items     []item   `xml:"assignedPrivateIpAddressesSet>item"`
	}{Xmlns: xmlns, RequestID: "req-ok", ENI: e.ID}
	for _, ip := range ips {
		resp.Items = append(resp.Items, item{ip.String()})
	}
	return resp, nil
}

func (s *Server) unassign(p url.Values) (any, *apiError) {
	e, err := s.eni(p.Get("NetworkInterfaceId"))
	if err != nil {
		return nil, err
	}
	ips, err := parseIPs(list(p, "PrivateIpAddress"))
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		if !slices.Contains(e.Secondary, ip) {
			return nil, badParam("Some of the specified addresses are not assigned to interface %s", e.ID)
		}
	}
	for _, ip := range ips {
		e.Secondary = slices.DeleteFunc(e.Secondary, func(a netip.Addr) bool { return a == ip })
		s.owners[ip] = append(s.owners[ip], "")
	}
	return ok("UnassignPrivateIpAddresses"), nil
}

// checkLocked records a private IP found on two interfaces.
func (s *Server) checkLocked() {
	seen := map[netip.Addr]string{}
	for _, e := range s.enis {
		for _, ip := range append([]netip.Addr{e.Primary}, e.Secondary...) {
			if o, dup := seen[ip]; dup {
				s.bad = append(s.bad, fmt.Sprintf("%s on %s and %s at %s", ip, o, e.ID, time.Now().Format(time.StampMicro)))
			}
			seen[ip] = e.ID
		}
	}
}

type eniItem struct {
	ID          string      `xml:"networkInterfaceId"`
	MAC         string      `xml:"macAddress"`
	Status      string      `xml:"status"`
	PrivateIP   string      `xml:"privateIpAddress"`
	SourceDest  bool        `xml:"sourceDestCheck"`
	PrivateIPs  []ipItem    `xml:"privateIpAddressesSet>item"`
	Attachment  *attachItem `xml:"attachment,omitempty"`
	SubnetID    string      `xml:"subnetId"`
	Description string      `xml:"description"`
}

type ipItem struct {
	IP      string `xml:"privateIpAddress"`
	Primary bool   `xml:"primary"`
}

type attachItem struct {
	ID          string `xml:"attachmentId"`
	Instance    string `xml:"instanceId"`
	DeviceIndex int    `xml:"deviceIndex"`
	Status      string `xml:"status"`
}

func (s *Server) describeENIs(p url.Values) (any, *apiError) {
	ids := list(p, "NetworkInterfaceId")
	if len(ids) == 0 {
		for id := range s.enis {
			ids = append(ids, id)
		}
		slices.Sort(ids)
	}
	resp := struct {
		XMLName   xml.Name  `xml:"DescribeNetworkInterfacesResponse"`
		Xmlns     string    `xml:"xmlns,attr"`
		RequestID string    `xml:"requestId"`
		Items     []eniItem `xml:"networkInterfaceSet>item"`
	}{Xmlns: xmlns, RequestID: "req-ok"}
	for _, id := range ids {
		e, err := s.eni(id)
		if err != nil {
			return nil, err
		}
		it := eniItem{ID: e.ID, MAC: e.MAC, Status: "in-use", PrivateIP: e.Primary.String(), SourceDest: e.SourceDestCheck, SubnetID: "subnet-1"}
		it.PrivateIPs = append(it.PrivateIPs, ipItem{IP: e.Primary.String(), Primary: true})
		for _, ip := range e.Secondary {
			it.PrivateIPs = append(it.PrivateIPs, ipItem{IP: ip.String()})
		}
		if e.Instance != "" {
			it.Attachment = &attachItem{ID: e.AttachmentID, Instance: e.Instance, DeviceIndex: e.DeviceIndex, Status: e.AttachState}
		} else {
			it.Status = "available"
		}
		resp.Items = append(resp.Items, it)
	}
	return resp, nil
}

func (s *Server) associate(p url.Values) (any, *apiError) {
	a := s.addrs[p.Get("AllocationId")]
	if a == nil {
		return nil, &apiError{http.StatusBadRequest, "InvalidAllocationID.NotFound", "The allocation ID '" + p.Get("AllocationId") + "' does not exist"}
	}
	eniID := p.Get("NetworkInterfaceId")
	if eniID == "" {
		in := s.instances[p.Get("InstanceId")]
		if in == nil {
			return nil, missing("NetworkInterfaceId or InstanceId")
		}
		for _, e := range s.enis {
			if e.Instance == in.ID && e.DeviceIndex == 0 {
				eniID = e.ID
			}
		}
	}
	e, err := s.eni(eniID)
	if err != nil {
		return nil, err
	}
	private := e.Primary
	if v := p.Get("PrivateIpAddress"); v != "" {
		ip, perr := netip.ParseAddr(v)
		if perr != nil || (ip != e.Primary && !slices.Contains(e.Secondary, ip)) {
			return nil, badParam("The private IP address %s is not associated with the network interface", v)
		}
		private = ip
	}
	if a.AssociationID != "" && (a.ENI != e.ID || a.PrivateIP != private) && p.Get("AllowReassociation") != "true" {
		return nil, &apiError{http.StatusBadRequest, "Resource.AlreadyAssociated", "resource " + a.AllocationID + " is already associated"}
	}
	a.AssociationID, a.ENI, a.PrivateIP = s.nextID("eipassoc"), e.ID, private
	return struct {
		XMLName       xml.Name `xml:"AssociateAddressResponse"`
		Xmlns         string   `xml:"xmlns,attr"`
		RequestID     string   `xml:"requestId"`
		Return        bool     `xml:"return"`
		AssociationID string   `xml:"associationId"`
	}{Xmlns: xmlns, RequestID: "req-ok", Return: true, AssociationID: a.AssociationID}, nil
}

func (s *Server) disassociate(p url.Values) (any, *apiError) {
	id := p.Get("AssociationId")
	for _, a := range s.addrs {
		if a.AssociationID == id && id != "" {
			a.AssociationID, a.ENI, a.PrivateIP = "", "", netip.Addr{}
			return ok("DisassociateAddress"), nil
		}
	}
	return nil, &apiError{http.StatusBadRequest, "InvalidAssociationID.NotFound", "The association ID '" + id + "' does not exist"}
}

func (s *Server) describeAddresses(p url.Values) (any, *apiError) {
	type item struct {
		PublicIP      string `xml:"publicIp"`
		AllocationID  string `xml:"allocationId"`
		Domain        string `xml:"domain"`
		AssociationID string `xml:"associationId,omitempty"`
		ENI           string `xml:"networkInterfaceId,omitempty"`
		Instance      string `xml:"instanceId,omitempty"`
		PrivateIP     string `xml:"privateIpAddress,omitempty"`
	}
	resp := struct {
		XMLName   xml.Name `xml:"DescribeAddressesResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Items     []item   `xml:"addressesSet>item"`
	}{Xmlns: xmlns, RequestID: "req-ok"}
	for _, id := range list(p, "AllocationId") {
		a := s.addrs[id]
		if a == nil {
			return nil, &apiError{http.StatusBadRequest, "InvalidAllocationID.NotFound", "The allocation ID '" + id + "' does not exist"}
		}
		it := item{PublicIP: a.PublicIP, AllocationID: a.AllocationID, Domain: "vpc", AssociationID: a.AssociationID, ENI: a.ENI}
		if a.ENI != "" {
			it.Instance = s.enis[a.ENI].Instance
			it.PrivateIP = a.PrivateIP.String()
		}
		resp.Items = append(resp.Items, it)
	}
	return resp, nil
}

func (s *Server) route(action string, p url.Values) (any, *apiError) {
	rt := s.tables[p.Get("RouteTableId")]
	if rt == nil {
		return nil, &apiError{http.StatusBadRequest, "InvalidRouteTableID.NotFound", "The routeTable ID '" + p.Get("RouteTableId") + "' does not exist"}
	}
	dst, perr := netip.ParsePrefix(p.Get("DestinationCidrBlock"))
	if perr != nil {
		return nil, badParam("Value (%s) for parameter destinationCidrBlock is invalid", p.Get("DestinationCidrBlock"))
	}
	e, err := s.eni(p.Get("NetworkInterfaceId"))
	if err != nil {
		return nil, err
	}
	_, exists := rt.Routes[dst]
	switch {
	case action == "ReplaceRoute" && !exists:
		return nil, &apiError{http.StatusBadRequest, "InvalidRoute.NotFound", "no route with destination-cidr-block " + dst.String() + " in route table " + rt.ID}
	case action == "CreateRoute" && exists:
		return nil, &apiError{http.StatusBadRequest, "RouteAlreadyExists", "The route identified by " + dst.String() + " already exists."}
	}
	rt.Routes[dst] = e.ID
	return ok(action), nil
}

func (s *Server) describeTables(p url.Values) (any, *apiError) {
	type route struct {
		Dst    string `xml:"destinationCidrBlock"`
		ENI    string `xml:"networkInterfaceId"`
		State  string `xml:"state"`
		Origin string `xml:"origin"`
	}
	type table struct {
		ID     string  `xml:"routeTableId"`
		Routes []route `xml:"routeSet>item"`
	}
	resp := struct {
		XMLName   xml.Name `xml:"DescribeRouteTablesResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Items     []table  `xml:"routeTableSet>item"`
	}{Xmlns: xmlns, RequestID: "req-ok"}
	for _, id := range list(p, "RouteTableId") {
		rt := s.tables[id]
		if rt == nil {
			return nil, &apiError{http.StatusBadRequest, "InvalidRouteTableID.NotFound", "The routeTable ID '" + id + "' does not exist"}
		}
		t := table{ID: rt.ID}
		for dst, eni := range rt.Routes {
			t.Routes = append(t.Routes, route{Dst: dst.String(), ENI: eni, State: "active", Origin: "CreateRoute"})
		}
		slices.SortFunc(t.Routes, func(a, b route) int { return strings.Compare(a.Dst, b.Dst) })
		resp.Items = append(resp.Items, t)
	}
	return resp, nil
}

func (s *Server) attach(p url.Values) (any, *apiError) {
	e, err := s.eni(p.Get("NetworkInterfaceId"))
	if err != nil {
		return nil, err
	}
	in := s.instances[p.Get("InstanceId")]
	if in == nil {
		return nil, &apiError{http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '" + p.Get("InstanceId") + "' does not exist"}
	}
	idx, perr := strconv.Atoi(p.Get("DeviceIndex"))
	if perr != nil || idx < 1 {
		return nil, badParam("Invalid DeviceIndex %q", p.Get("DeviceIndex"))
	}
	if e.Instance != "" {
		return nil, &apiError{http.StatusBadRequest, "InvalidNetworkInterface.InUse", "Interface: [" + e.ID + "] in use."}
	}
	e.Instance, e.AttachmentID, e.DeviceIndex, e.AttachState = in.ID, s.nextID("eni-attach"), idx, "attaching"
	id := e.AttachmentID
	time.AfterFunc(s.AttachDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e.AttachmentID == id && e.AttachState == "attaching" {
			e.AttachState = "attached"
		}
	})
	return struct {
		XMLName      xml.Name `xml:"AttachNetworkInterfaceResponse"`
		Xmlns        string   `xml:"xmlns,attr"`
		RequestID    string   `xml:"requestId"`
		AttachmentID string   `xml:"attachmentId"`
		Card         int      `xml:"networkCardIndex"`
	}{Xmlns: xmlns, RequestID: "req-ok", AttachmentID: id}, nil
}

func (s *Server) detach(p url.Values) (any, *apiError) {
	id := p.Get("AttachmentId")
	for _, e := range s.enis {
		if e.AttachmentID != id || id == "" || e.Instance == "" {
			continue
		}
		if e.DeviceIndex == 0 {
			return nil, &apiError{http.StatusBadRequest, "OperationNotPermitted", "The network interface at device index 0 cannot be detached."}
		}
		if e.AttachState == "detaching" {
			return ok("DetachNetworkInterface"), nil
		}
		e.AttachState = "detaching"
		time.AfterFunc(s.DetachDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if e.AttachmentID == id && e.AttachState == "detaching" {
				e.Instance, e.AttachmentID, e.AttachState, e.DeviceIndex = "", "", "", 0
			}
		})
		return ok("DetachNetworkInterface"), nil
	}
	return nil, &apiError{http.StatusBadRequest, "InvalidAttachmentID.NotFound", "The attachment ID '" + id + "' does not exist"}
}
