// Package ec2fake is an EC2 endpoint and an instance metadata service
// (IMDSv2) for tests: it speaks the EC2 Query API (form-encoded actions,
// XML answers and errors) and checks each request's AWS Signature
// Version 4 against the credentials it knows, so that the real
// aws-sdk-go-v2 clients — their signing, retries and parsers — run
// against it unchanged through a custom endpoint.
//
// It holds the state the VIP backends move: network interfaces with
// their secondary private IPs and attachments, elastic IPs, route
// tables. It records every request (action, parameters, who signed it,
// when it arrived and when its change took effect), counts the requests
// in flight, and checks after every change that no private IP is on two
// interfaces. Faults (an error code, a delay, no answer) are injected per
// request.
package ec2fake
