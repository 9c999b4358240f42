package advert

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

// TestLinkNotificationsAreOnlyTheInterfaces: a monitor's socket gets the
// notifications of its own interface and none of another's, though the
// other's come first: a link brought up and 50 addresses added there,
// then one address on the monitored interface.
func TestLinkNotificationsAreOnlyTheInterfaces(t *testing.T) {
	lab := netlab.New(t, 1)
	h := lab.Host(1)
	var sub *netlink.Conn
	var eth0 *net.Interface
	if err := h.Do(func() (err error) {
		if eth0, err = net.InterfaceByName("eth0"); err != nil {
			return err
		}
		sub, err = dialLinkNotifications(eth0.Index, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	cmds := []string{"ip link add ot0 type veth peer name ot1", "ip link set ot0 up", "ip link set ot1 up"}
	for i := range 50 {
		cmds = append(cmds, fmt.Sprintf("ip addr add 192.168.77.%d/32 dev ot0", i+1))
	}
	cmds = append(cmds, "ip addr add 10.0.0.222/32 dev eth0")
	for _, c := range cmds {
		if out, err := h.Run("sh", "-c", c); err != nil {
			t.Fatalf("%s: %v: %s", c, err, out)
		}
	}

	if err := sub.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	for {
		msgs, err := sub.Receive()
		if err != nil {
			t.Fatalf("no RTM_NEWADDR for eth0 before: %v", err)
		}
		for _, m := range msgs {
			// ifinfomsg and ifaddrmsg alike: the index follows 4 bytes.
			if len(m.Data) < 8 {
				t.Fatalf("message %d of %d bytes", m.Header.Type, len(m.Data))
			}
			if idx := int(binary.NativeEndian.Uint32(m.Data[4:8])); idx != eth0.Index {
				t.Fatalf("message %d for interface %d reached eth0's (%d) monitor", m.Header.Type, idx, eth0.Index)
			}
			if m.Header.Type == unix.RTM_NEWADDR {
				return
			}
		}
	}
}
