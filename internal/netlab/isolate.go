package netlab

// Isolate cuts the host off the bridge while its link stays up: the
// bridge port stops forwarding (port state disabled), so the host's eth0
// keeps its carrier and sees itself up and running, yet no frame passes
// between it and the other hosts. This is a partition as routers meet it
// when a switch or a cable further away fails — unlike LinkDown, where
// the host's own interface loses carrier and software on it notices.
// Frames the host sends are dropped at the bridge port and do not reach
// Capture. Rejoin undoes it.
func (h *Host) Isolate() error {
	return h.setPortState(portDisabled)
}

// Rejoin puts a host cut off by Isolate back on the bridge.
func (h *Host) Rejoin() error {
	return h.setPortState(portForwarding)
}

// Bridge port states (IEEE 802.1D, as the kernel numbers them). With STP
// off, the lab's bridge lets them be set by hand — through the bridge
// command: `ip link set ... type bridge_slave state` is accepted and
// silently ignored.
const (
	portDisabled   = "0"
	portForwarding = "3"
)

func (h *Host) setPortState(state string) error {
	_, err := run("bridge", "-n", h.lab.sw, "link", "set", "dev", h.port, "state", state)
	return err
}
