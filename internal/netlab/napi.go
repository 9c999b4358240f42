package netlab

// A veth hands a frame to its peer inside the sender's system call: the
// peer's receive (the bridge's forwarding, the other host's IP input, a
// capture's copy) runs in the sender's context and is counted as the
// sender's CPU time. ThreadedRx moves it onto the peer's NAPI thread, as a
// NIC's driver would take it off the wire, so a daemon's measured CPU is
// its own.

// ThreadedRx makes the veths devs, in namespace ns (the switch's or a
// host's), receive on a NAPI thread of their own: GRO on (with UDP GRO
// forwarding, without which a veth keeps a raw socket's frames off its
// NAPI path) and the device's NAPI threaded. It needs ethtool.
func ThreadedRx(ns string, devs ...string) error {
	if len(devs) == 0 {
		return nil
	}
	// The device names are arguments of the script, never part of it;
	// ip netns exec mounts the namespace's own /sys.
	const script = `for d; do
	ethtool -K "$d" gro on rx-udp-gro-forwarding on || exit 1
	echo 1 > "/sys/class/net/$d/threaded" || exit 1
	[ "$(cat "/sys/class/net/$d/threaded")" = 1 ] || { echo "$d: NAPI not threaded" >&2; exit 1; }
done`
	_, err := run("ip", append([]string{"netns", "exec", ns, "sh", "-c", script, "sh"}, devs...)...)
	return err
}

// SwitchPort is the bridge-side end of the host's eth0, in the switch
// namespace.
func (h *Host) SwitchPort() string { return h.port }
