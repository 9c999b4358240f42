package netlab

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
)

// FDBHost returns the host behind the bridge port on which the bridge
// learned mac (what a switch's MAC table says), or nil if it has no entry
// for it.
func (l *Lab) FDBHost(mac net.HardwareAddr) (*Host, error) {
	out, err := run("ip", "netns", "exec", l.sw, "bridge", "-j", "fdb", "show", "br", bridgeName)
	if err != nil {
		return nil, err
	}
	var entries []struct {
		MAC    string   `json:"mac"`
		Ifname string   `json:"ifname"`
		Flags  []string `json:"flags"`
		State  string   `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		return nil, fmt.Errorf("netlab: bridge -j fdb: %w: %s", err, out)
	}
	for _, e := range entries {
		if !strings.EqualFold(e.MAC, mac.String()) || e.State == "permanent" {
			continue
		}
		for _, h := range l.hosts {
			if h.port == e.Ifname {
				return h, nil
			}
		}
	}
	return nil, nil
}
