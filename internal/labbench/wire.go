package labbench

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"time"
)

// Seen is one VRRP advert seen on the bridge.
type Seen struct {
	Time     time.Time
	Src      netip.Addr
	VRID     uint8
	Priority uint8
}

// parseAdvert picks the fields the measurements need out of an Ethernet
// frame carrying VRRP over IPv4 (protocol 112) or IPv6 (next header 112).
func parseAdvert(t time.Time, frame []byte) (Seen, bool) {
	src, vrrp, ok := vrrpPayload(frame)
	if !ok {
		return Seen{}, false
	}
	return Seen{Time: t, Src: src, VRID: vrrp[1], Priority: vrrp[2]}, true
}

// vrrpPayload finds the source address and the VRRP packet (at least 4
// bytes) in an Ethernet frame.
func vrrpPayload(frame []byte) (src netip.Addr, vrrp []byte, ok bool) {
	if len(frame) < 14 {
		return src, nil, false
	}
	eth, l2 := binary.BigEndian.Uint16(frame[12:14]), 14
	if eth == 0x8100 && len(frame) >= 18 { // an 802.1Q tag the capture kept
		eth, l2 = binary.BigEndian.Uint16(frame[16:18]), 18
	}
	switch eth {
	case 0x0800:
		ip := frame[l2:]
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 112 {
			return src, nil, false
		}
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < ihl+4 {
			return src, nil, false
		}
		return netip.AddrFrom4([4]byte(ip[12:16])), ip[ihl:], true
	case 0x86dd:
		ip := frame[l2:]
		if len(ip) < 44 || ip[6] != 112 {
			return src, nil, false
		}
		return netip.AddrFrom16([16]byte(ip[8:24])), ip[40:], true
	}
	return src, nil, false
}

// advertAddrs lists the virtual addresses an advert frame carries: Count
// IPvX Addr (byte 3) addresses of the source's family after the 8-byte
// header, the same in v2 and v3 (RFC 3768 §5.1, RFC 5798 §5.1). A list
// cut short ends where the frame does.
func advertAddrs(frame []byte) []netip.Addr {
	src, vrrp, ok := vrrpPayload(frame)
	if !ok || len(vrrp) < 8 {
		return nil
	}
	size := 4
	if src.Is6() {
		size = 16
	}
	var addrs []netip.Addr
	for i, b := 0, vrrp[8:]; i < int(vrrp[3]) && len(b) >= size; i, b = i+1, b[size:] {
		a, _ := netip.AddrFromSlice(b[:size])
		addrs = append(addrs, a)
	}
	return addrs
}

// Layout tells which router of a scenario an advert is for: each host has
// one address per interface, and adverts carry it as their source.
type Layout struct {
	PerInterface int
	// Old and New are the two hosts' addresses, one per interface (the
	// old master: h1; the new: h2).
	Old, New []netip.Addr
	// Interfaces are the scenario's interfaces, each host's by the same
	// names.
	Interfaces []string
}

// Routers is how many routers the layout holds.
func (l Layout) Routers() int { return l.PerInterface * len(l.Old) }

// router returns which host sent s (1: Old, 2: New, 0: neither) and for
// which router (1..Routers, 0 when outside the layout).
func (l Layout) router(s Seen) (host, r int) {
	v := int(s.VRID)
	if v < 1 || v > l.PerInterface {
		return 0, 0
	}
	for k := range l.Old {
		switch s.Src {
		case l.Old[k]:
			return 1, k*l.PerInterface + v
		case l.New[k]:
			return 2, k*l.PerInterface + v
		}
	}
	return 0, 0
}

// Takeover works out, for every router of l, how long after the old
// master's last advert the new master sent its first, minus the
// Master_Down_Interval the RFC makes the backup wait: the lag an
// implementation adds on top of the protocol. Routers (1-based) the new
// master never advertised are returned in missing.
func Takeover(seen []Seen, l Layout, mdi time.Duration) (lags []time.Duration, missing []int) {
	n := l.Routers()
	last, first := handover(seen, l)
	for r := 1; r <= n; r++ {
		if first[r].IsZero() || last[r].IsZero() {
			missing = append(missing, r)
			continue
		}
		lags = append(lags, first[r].Sub(last[r])-mdi)
	}
	return lags, missing
}

// handover is, per router (1-based), the time of h1's last advert and of
// h2's first advert with priority > 0 after it (zero: none).
func handover(seen []Seen, l Layout) (last, first []time.Time) {
	n := l.Routers()
	last = make([]time.Time, n+1)
	for _, s := range seen {
		if h, r := l.router(s); h == 1 && s.Time.After(last[r]) {
			last[r] = s.Time
		}
	}
	first = make([]time.Time, n+1)
	for _, s := range seen {
		h, r := l.router(s)
		if h != 2 || s.Priority == 0 || last[r].IsZero() || !s.Time.After(last[r]) {
			continue
		}
		if first[r].IsZero() || s.Time.Before(first[r]) {
			first[r] = s.Time
		}
	}
	return last, first
}

// Flaps counts, among adverts seen in [from, to) while the old master was
// alive, the new (lower-priority) host's false takeovers: runs of its
// adverts with priority > 0 for one router, a run ending where the host
// was silent for that router for more than gap. A run is also a dual
// master when the old master advertised the router (priority > 0) between
// the run's first and last advert: both kept advertising, rather than the
// backup yielding to the first higher-priority advert it heard.
func Flaps(seen []Seen, l Layout, from, to time.Time, gap time.Duration) (falses, duals int) {
	n := l.Routers()
	times := [3][][]time.Time{nil, make([][]time.Time, n+1), make([][]time.Time, n+1)}
	for _, s := range seen {
		h, r := l.router(s)
		if h == 0 || s.Priority == 0 || s.Time.Before(from) || !s.Time.Before(to) {
			continue
		}
		times[h][r] = append(times[h][r], s.Time)
	}
	for r := 1; r <= n; r++ {
		old, nw := times[1][r], times[2][r]
		slices.SortFunc(old, time.Time.Compare)
		slices.SortFunc(nw, time.Time.Compare)
		for i := 0; i < len(nw); {
			j := i + 1
			for j < len(nw) && nw[j].Sub(nw[j-1]) <= gap {
				j++
			}
			falses++
			first, last := nw[i], nw[j-1]
			k, _ := slices.BinarySearchFunc(old, first, time.Time.Compare)
			for k < len(old) && !old[k].After(first) {
				k++
			}
			if k < len(old) && old[k].Before(last) {
				duals++
			}
			i = j
		}
	}
	return falses, duals
}

// Percentile returns the p-th percentile (0..100, nearest rank) of ds.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
