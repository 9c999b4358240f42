package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vrrpkit/vrrpkit/advert"
)

// batchTransport records each SendBatch call's size and the VRIDs sent,
// and refuses the adverts of VRID fail.
type batchTransport struct {
	*benchTransport
	fail   uint8
	calls  []int
	vrids  []uint8
	sentAt []int // per VRID sent: the call it went out in (1-based)
}

func (t *batchTransport) SendBatch(ps []advert.Packet) (int, error) {
	t.calls = append(t.calls, len(ps))
	for i := range ps {
		if ps[i].Msg[1] == t.fail {
			return i, errors.New("no buffer space")
		}
		t.vrids = append(t.vrids, ps[i].Msg[1])
		t.sentAt = append(t.sentAt, len(t.calls))
	}
	return len(ps), nil
}

type batchNetwork struct{ t *batchTransport }

func (n batchNetwork) Open(context.Context, Endpoint) (Transport, error) { return n.t, nil }

// A step's adverts go to their transport in one SendBatch call; one that
// fails is counted and logged for its router alone, and those after it
// in the batch still go out, in order.
func TestNodeSendsAStepsAdvertsInOneBatch(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	clock := &benchClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := &batchTransport{benchTransport: newBenchTransport(), fail: 7}
	defer tr.Close()
	n, err := NewNode(NodeConfig{Clock: clock, Network: batchNetwork{tr}, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	const routers = 20
	var rs []*Router
	for vrid := 1; vrid <= routers; vrid++ {
		r, err := n.Add(Config{Name: "VI_" + string(rune('A'+vrid-1)), VRID: vrid, Interface: "eth0", Interval: 100 * time.Millisecond,
			VIPs: []VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(vrid), 1}), 32)}}})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	n.step()
	tr.calls, tr.vrids, tr.sentAt = nil, nil, nil
	clock.now = clock.now.Add(time.Second) // every router's down timer ran out
	n.fire()

	// The failure's place in the batch is the timer heap's order.
	before := slices.Index(tr.sentAt, 2) // the first VRID of the second call
	if before < 0 {
		before = len(tr.vrids)
	}
	if want := []int{routers, routers - before - 1}; !slices.Equal(tr.calls, want) {
		t.Errorf("SendBatch calls of %v packets, want %v (one batch; the rest after the failure)", tr.calls, want)
	}
	got := slices.Sorted(slices.Values(tr.vrids))
	var want []uint8
	for vrid := uint8(1); vrid <= routers; vrid++ {
		if vrid != 7 {
			want = append(want, vrid)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("sent VRIDs %v, want %v", got, want)
	}
	for i, r := range rs {
		st, wantErrs, wantSent := r.Stats(), uint64(0), uint64(1)
		if i+1 == 7 {
			wantErrs, wantSent = 1, 0
		}
		if st.SendErrors != wantErrs || st.AdvertsSent != wantSent {
			t.Errorf("VRID %d: %d send errors, %d adverts sent; want %d, %d", i+1, st.SendErrors, st.AdvertsSent, wantErrs, wantSent)
		}
	}
	failed := logs.FilterMessageSnippet("Cant send advert").All()
	if len(failed) != 1 || failed[0].Message != "(VI_G) Cant send advert to 224.0.0.18" {
		t.Errorf("send failures logged: %v, want one for VI_G", failed)
	}
}

// liarTransport breaks SendBatch's contract: an error with every packet
// counted as sent, or fewer sent and no error.
type liarTransport struct {
	*benchTransport
	short bool
}

func (t *liarTransport) SendBatch(ps []advert.Packet) (int, error) {
	if t.short {
		return len(ps) - 1, nil
	}
	return len(ps) + 3, errors.New("lying")
}

type liarNetwork struct{ t *liarTransport }

func (n liarNetwork) Open(context.Context, Endpoint) (Transport, error) { return n.t, nil }

// A transport that miscounts costs adverts (counted as send errors), never
// a panic in the loop.
func TestNodeSurvivesATransportThatMiscounts(t *testing.T) {
	for _, short := range []bool{false, true} {
		clock := &benchClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
		tr := &liarTransport{benchTransport: newBenchTransport(), short: short}
		n, err := NewNode(NodeConfig{Clock: clock, Network: liarNetwork{tr}})
		if err != nil {
			t.Fatal(err)
		}
		var rs []*Router
		for vrid := 1; vrid <= 3; vrid++ {
			r, err := n.Add(Config{VRID: vrid, Interface: "eth0", Interval: 100 * time.Millisecond,
				VIPs: []VIP{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(vrid), 1}), 32)}}})
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		n.step()
		clock.now = clock.now.Add(time.Second)
		n.fire()
		var errs uint64
		for _, r := range rs {
			errs += r.Stats().SendErrors
		}
		if errs != 1 {
			t.Errorf("short=%v: %d send errors counted, want 1", short, errs)
		}
		tr.Close()
	}
}
