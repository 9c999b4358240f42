// Package httpcheck is an HTTP and HTTPS health check for health.Tracker:
// keepalived's HTTP_GET and SSL_GET (keepalived.conf(5)), used as a VRRP
// tracker.
//
// It lives apart from package health so that health does not import
// net/http and crypto/tls, whose package initialisation alone adds about
// 3 MB to a program's binary and resident memory: import httpcheck only
// where an HTTP check is configured. (go.uber.org/zap, which vrrp and
// health log through, imports net/http too, so today a program that links
// zap carries that cost anyway.)
package httpcheck
