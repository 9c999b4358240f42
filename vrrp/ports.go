package vrrp

import (
	"errors"
	"net/netip"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vrrpkit/vrrpkit/advert"
)

// portKey: routers on one interface, family and multicast group share a
// Transport.
type portKey struct {
	iface string
	ipv6  bool
	group netip.Addr
}

// port is the core's view of one shared Transport: the routers on it by
// VRID, and its life. The core says what it wants — the transport open
// (want), for its current Endpoint — and lists the port in output.ports
// whenever that changes; the driver then makes it so (closing a transport
// the core no longer wants, or opened for an older Endpoint, and opening
// one it wants) and reports back: portOpened, portFailed, portClosed,
// linkChanged.
type port struct {
	key     portKey
	ep      Endpoint
	routers [256]*coreRouter
	count   int

	want     bool       // the transport should be open
	open     bool       // the driver has it open
	stale    bool       // open for an older Endpoint: to reopen
	listed   bool       // in output.ports
	up       bool       // link up and running
	local    netip.Addr // the Transport's LocalAddr
	openedAt time.Time  // when it last opened, for the backoff
	backoff  time.Duration
	reopenAt time.Time // after a failure: when to try again

	unknownLog rateLimit
	failLog    rateLimit
}

// failLogPeriod is how often a transport that keeps failing is logged.
const failLogPeriod = 10 * time.Second

// opening reports whether the driver is about to open p: routers on it
// start once it has answered.
func (p *port) opening() bool { return p.want && !p.open && p.reopenAt.IsZero() }

// list puts p in the output for the driver to act on.
func (c *core) list(p *port) {
	if !p.listed {
		p.listed = true
		c.out.ports = append(c.out.ports, p)
	}
}

// portOpened: the driver opened p's Transport, whose interface is up or
// not and whose LocalAddr is local.
func (c *core) portOpened(now time.Time, p *port, up bool, local netip.Addr) {
	p.open, p.stale = true, false
	p.openedAt = now
	p.failLog = rateLimit{}
	p.up, p.local = up, local
	for _, r := range p.routers {
		if r == nil {
			continue
		}
		c.setFault(r, faultTransport, false, "", now)
		c.setFault(r, faultLink, !up, "link down on "+p.ep.Interface, now)
		c.refreshSource(r, now)
	}
	c.start(now)
}

// portClosed: the driver closed p's Transport, as the core asked.
func (c *core) portClosed(p *port) { p.open, p.stale = false, false }

// portFailed: p's Transport could not be opened, or failed (a receive
// error): its routers are in Fault until it is open again, after a
// backoff.
func (c *core) portFailed(now time.Time, p *port, err error) {
	wasOpen := p.open
	p.open = false
	c.list(p) // to close it
	if !p.want {
		return
	}
	if wasOpen && now.Sub(p.openedAt) > 30*time.Second {
		p.backoff = c.reopenMin // it worked for a while: start over
	}
	if p.backoff == 0 {
		p.backoff = c.reopenMin
	}
	op := "open "
	if wasOpen {
		op = "receive on "
	}
	wait := p.backoff
	if errors.Is(err, advert.ErrInterfaceGone) {
		// Waiting for an interface to come back (re-created, renamed
		// back): look again every advert interval, so that its routers
		// are back in service within one of it appearing.
		wait = min(wait, p.shortestInterval())
	} else {
		p.backoff = min(2*p.backoff, c.reopenMax)
	}
	// Logged once, then every failLogPeriod: an interface that is gone
	// for good is retried every advert interval.
	if ok, suppressed := p.failLog.allow(now, failLogPeriod); ok {
		c.logf(nil, zapcore.ErrorLevel, "vrrp: "+op+"transport failed; retrying",
			zap.String("interface", p.ep.Interface), zap.Bool("ipv6", p.ep.IPv6),
			zap.Duration("retry_in", wait), zap.Error(err), zap.Int("suppressed", suppressed))
	}
	p.reopenAt = now.Add(wait)
	detail := op + p.ep.Interface + ": " + err.Error()
	for _, r := range p.routers {
		if r != nil {
			c.setFault(r, faultTransport, true, detail, now)
		}
	}
	c.start(now)
}

// shortestInterval is the shortest Advertisement_Interval of p's routers.
func (p *port) shortestInterval() time.Duration {
	d := time.Duration(0)
	for _, r := range p.routers {
		if r != nil && (d == 0 || r.cfg.Interval < d) {
			d = r.cfg.Interval
		}
	}
	return max(d, 10*time.Millisecond)
}

// linkChanged: p's interface went up or down, or its LocalAddr changed.
func (c *core) linkChanged(now time.Time, p *port, up bool, local netip.Addr) {
	if !p.open {
		return
	}
	if up != p.up {
		p.up = up
		c.logf(nil, zapcore.InfoLevel, "Netlink reports "+p.ep.Interface+" "+upDown(up))
	}
	p.local = local
	for _, r := range p.routers {
		if r == nil {
			continue
		}
		c.setFault(r, faultLink, !up, "link down on "+p.ep.Interface, now)
		c.refreshSource(r, now)
	}
	c.settle(now)
}

// unknownVRID logs, rate-limited at Debug, a packet for a VRID nobody on
// p runs.
func (c *core) unknownVRID(p *port, vrid uint8, src netip.Addr, now time.Time) {
	if !c.enabled(zapcore.DebugLevel) {
		return
	}
	if ok, suppressed := p.unknownLog.allow(now, time.Second); ok {
		c.logf(nil, zapcore.DebugLevel, "Unknown VRID("+strconv.Itoa(int(vrid))+") received on interface("+p.ep.Interface+"). ignoring...",
			zap.Stringer("from", src), zap.Int("suppressed", suppressed))
	}
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}
