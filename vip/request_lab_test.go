//go:build linux

package vip

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vrrpkit/vrrpkit/internal/netlab"
)

func TestRequesterReturnsTheKernelsAnswer(t *testing.T) {
	h := netlab.New(t, 1).Host(1)
	if err := h.Do(func() error {
		q, err := newRequester()
		if err != nil {
			return err
		}
		defer q.Close()
		ifi, err := net.InterfaceByName(h.Ifname)
		if err != nil {
			return err
		}
		r := addrRequest{prefix: vipA, ifindex: ifi.Index}
		if err := addAddress(q, r, false); err != nil {
			t.Errorf("first add: %v", err)
		}
		if err := addAddress(q, r, false); !errors.Is(err, unix.EEXIST) {
			t.Errorf("exclusive add of an address that is there: %v, want EEXIST", err)
		}
		if err := addAddress(q, r, true); err != nil {
			t.Errorf("replacing add: %v", err)
		}
		if err := delAddress(q, r); err != nil {
			t.Errorf("delete: %v", err)
		}
		if err := addrDo(q, unix.RTM_DELADDR, "RTM_DELADDR", 0, r); !errors.Is(err, unix.EADDRNOTAVAIL) {
			t.Errorf("deleting an address that is gone: %v, want EADDRNOTAVAIL", err)
		}
		if err := delAddress(q, r); err != nil {
			t.Errorf("delAddress of an address that is gone: %v, want nil", err)
		}
		q.Close()
		if err := addAddress(q, r, true); err == nil {
			t.Error("add on a closed requester: no error")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err := h.Run("ip", "-4", "addr", "show", "dev", h.Ifname)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, " "+vipA.String()+" ") {
		t.Errorf("%s still on %s after the delete:\n%s", vipA, h.Ifname, out)
	}
}

func TestRequesterAckSkipsOtherAnswers(t *testing.T) {
	ne := binary.NativeEndian
	msg := func(typ uint16, seq uint32, errno int32) []byte {
		b := ne.AppendUint32(nil, unix.NLMSG_HDRLEN+4)
		b = ne.AppendUint16(b, typ)
		b = ne.AppendUint16(b, 0)
		b = ne.AppendUint32(b, seq)
		b = ne.AppendUint32(b, 0)
		return ne.AppendUint32(b, uint32(-errno))
	}
	q := &requester{seq: 7}
	for _, c := range []struct {
		name string
		b    []byte
		done bool
		err  error
	}{
		{"an earlier request's answer", msg(unix.NLMSG_ERROR, 6, int32(unix.EEXIST)), false, nil},
		{"the ack", msg(unix.NLMSG_ERROR, 7, 0), true, nil},
		{"the error", msg(unix.NLMSG_ERROR, 7, int32(unix.ENODEV)), true, unix.ENODEV},
		{"a stale answer, then the ack", append(msg(unix.NLMSG_ERROR, 3, 0), msg(unix.NLMSG_ERROR, 7, 0)...), true, nil},
		{"not an error message", msg(unix.NLMSG_DONE, 7, 0), false, nil},
	} {
		done, err := q.ack(c.b)
		if done != c.done || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%s: done %v, err %v; want %v, %v", c.name, done, err, c.done, c.err)
		}
	}
	bad := msg(unix.NLMSG_ERROR, 7, 0)
	ne.PutUint32(bad, 200) // longer than the datagram
	if done, err := q.ack(bad); !done || err == nil {
		t.Errorf("malformed length: done %v, err %v; want an error", done, err)
	}
	short := msg(unix.NLMSG_ERROR, 7, 0)[:unix.NLMSG_HDRLEN]
	ne.PutUint32(short, unix.NLMSG_HDRLEN)
	if done, err := q.ack(short); !done || err == nil {
		t.Errorf("truncated ack: done %v, err %v; want an error", done, err)
	}
}
