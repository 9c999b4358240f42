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
	if len(frame) < 14 {
		return Seen{}, false
	}
	var src netip.Addr
	var vrrp []byte
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case 0x0800:
		ip := frame[14:]
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 112 {
			return Seen{}, false
		}
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < ihl+4 {
			return Seen{}, false
		}
		src = netip.AddrFrom4([4]byte(ip[12:16]))
		vrrp = ip[ihl:]
	case 0x86dd:
		ip := frame[14:]
		if len(ip) < 44 || ip[6] != 112 {
			return Seen{}, false
		}
		src = netip.AddrFrom16([16]byte(ip[8:24]))
		vrrp = ip[40:]
	default:
		return Seen{}, false
	}
	return Seen{Time: t, Src: src, VRID: vrrp[1], Priority: vrrp[2]}, true
}

// Takeover works out, for every VRID in 1..n, how long after the old
// master's last advert the new master sent its first, minus the
// Master_Down_Interval the RFC makes the backup wait: the lag an
// implementation adds on top of the protocol. VRIDs the new master never
// advertised are returned in missing.
func Takeover(seen []Seen, n int, oldMaster, newMaster netip.Addr, mdi time.Duration) (lags []time.Duration, missing []int) {
	last := make([]time.Time, n+1)
	for _, s := range seen {
		if s.Src == oldMaster && int(s.VRID) <= n && s.Time.After(last[s.VRID]) {
			last[s.VRID] = s.Time
		}
	}
	first := make([]time.Time, n+1)
	for _, s := range seen {
		v := int(s.VRID)
		if s.Src != newMaster || v > n || s.Priority == 0 || last[v].IsZero() || !s.Time.After(last[v]) {
			continue
		}
		if first[v].IsZero() || s.Time.Before(first[v]) {
			first[v] = s.Time
		}
	}
	for v := 1; v <= n; v++ {
		if first[v].IsZero() || last[v].IsZero() {
			missing = append(missing, v)
			continue
		}
		lags = append(lags, first[v].Sub(last[v])-mdi)
	}
	return lags, missing
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
