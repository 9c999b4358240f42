package vip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vrrpkit/vrrpkit/vrrp"
)

// journal records calls to fake backends, in order.
type journal struct{ calls []string }

// fake is a backend that records its calls and fails where told.
func (j *journal) fake(name string, failAcquire, failRelease error) Funcs {
	rec := func(op string, fail error) func(context.Context, vrrp.AddressSet) error {
		return func(_ context.Context, set vrrp.AddressSet) error {
			j.calls = append(j.calls, name+"."+op)
			return fail
		}
	}
	return Funcs{Label: name, OnAcquire: rec("acquire", failAcquire), OnRelease: rec("release", failRelease), OnAnnounce: rec("announce", nil)}
}

func TestMultiOrder(t *testing.T) {
	j := &journal{}
	m := Multi(j.fake("linux", nil, nil), j.fake("cloud", nil, nil), j.fake("notify", nil, nil))
	ctx := context.Background()
	set := vrrp.AddressSet{Router: "VI_1"}
	if err := m.Acquire(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := m.Announce(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := m.Release(ctx, set); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"linux.acquire", "cloud.acquire", "notify.acquire",
		"linux.announce", "cloud.announce", "notify.announce",
		"notify.release", "cloud.release", "linux.release",
	}
	if !slices.Equal(j.calls, want) {
		t.Errorf("calls %v\nwant  %v", j.calls, want)
	}
	if got := m.(interface{ Name() string }).Name(); got != "multi(linux, cloud, notify)" {
		t.Errorf("name %q", got)
	}
}

func TestMultiAcquireFailureUndoesWhatWasDone(t *testing.T) {
	j := &journal{}
	boom := errors.New("API said no")
	m := Multi(j.fake("linux", nil, nil), j.fake("cloud", boom, nil), j.fake("notify", nil, nil))
	err := m.Acquire(context.Background(), vrrp.AddressSet{Router: "VI_1"})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the failure", err)
	}
	if want := "vip: acquire VI_1: cloud: API said no (undone: released cloud, linux)"; err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
	// The failing backend is released too (it may have done half its
	// work), then the ones before it in reverse; the ones after it never
	// ran.
	want := []string{"linux.acquire", "cloud.acquire", "cloud.release", "linux.release"}
	if !slices.Equal(j.calls, want) {
		t.Errorf("calls %v\nwant  %v", j.calls, want)
	}
}

func TestMultiReportsAFailedUndo(t *testing.T) {
	j := &journal{}
	stuck := errors.New("address busy")
	m := Multi(j.fake("linux", nil, stuck), j.fake("cloud", errors.New("API said no"), nil))
	err := m.Acquire(context.Background(), vrrp.AddressSet{Router: "VI_1"})
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, stuck) {
		t.Errorf("error %v does not report the failed undo", err)
	}
	if !strings.Contains(err.Error(), "vip: undoing acquire VI_1: release linux: address busy") {
		t.Errorf("error %q does not name the backend left applied", err)
	}
}

func TestMultiUndoesEvenWhenTheContextIsDone(t *testing.T) {
	var released bool
	m := Multi(
		Funcs{Label: "a", OnRelease: func(ctx context.Context, _ vrrp.AddressSet) error {
			released = ctx.Err() == nil
			return nil
		}},
		Funcs{Label: "b", OnAcquire: func(ctx context.Context, _ vrrp.AddressSet) error { return ctx.Err() }},
	)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Acquire(ctx, vrrp.AddressSet{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	if !released {
		t.Error("backend a not released with a live context")
	}
}

func TestMultiReleaseAndAnnounceRunEveryBackend(t *testing.T) {
	j := &journal{}
	m := Multi(j.fake("linux", nil, errors.New("one")), j.fake("cloud", nil, errors.New("two")))
	err := m.Release(context.Background(), vrrp.AddressSet{Router: "VI_1"})
	if want := []string{"cloud.release", "linux.release"}; !slices.Equal(j.calls, want) {
		t.Errorf("calls %v, want %v", j.calls, want)
	}
	for _, want := range []string{"vip: release VI_1: cloud: two", "vip: release VI_1: linux: one"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

type unnamed struct{ Funcs }

func (unnamed) Name() {} // not a Name() string: Multi falls back to position and type

func TestMultiNamesUnnamedBackendsByPosition(t *testing.T) {
	m := Multi(Funcs{}, unnamed{Funcs{OnAcquire: func(context.Context, vrrp.AddressSet) error { return errors.New("x") }}})
	err := m.Acquire(context.Background(), vrrp.AddressSet{Router: "R"})
	if want := fmt.Sprintf("vip: acquire R: backend 1 (%T): x", unnamed{}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want prefix %q", err, want)
	}
}

func TestFuncsNilDoNothing(t *testing.T) {
	var f Funcs
	ctx := context.Background()
	if f.Acquire(ctx, vrrp.AddressSet{}) != nil || f.Release(ctx, vrrp.AddressSet{}) != nil || f.Announce(ctx, vrrp.AddressSet{}) != nil {
		t.Error("nil funcs failed")
	}
	if f.Name() != "func" {
		t.Errorf("name %q", f.Name())
	}
}
