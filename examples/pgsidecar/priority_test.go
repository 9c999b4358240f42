package main

import (
	"testing"
	"time"
)

func TestStandbyPriorityRanksByReplicationState(t *testing.T) {
	now := time.Unix(1000, 0)
	const step = 64 << 10
	base := observation{Time: now, Role: roleStandby, SyncStandby: true, ReceiveLSN: 1 << 30, ReplayLSN: 1 << 30}
	streamed := now.Add(-time.Second)
	best := standbyPriority(200, &base, streamed, step)

	lagging := base
	lagging.ReplayLSN -= 10 * step
	paused := base
	paused.ReplayPaused = true
	async := base
	async.SyncStandby = false
	tests := []struct {
		name       string
		o          observation
		streamedAt time.Time
		want       int
	}{
		{"sync, streaming, caught up", base, streamed, 170},
		{"replay 10 steps behind", lagging, streamed, 160},
		{"replay paused", paused, streamed, 130},
		{"not synchronous", async, streamed, 150},
		{"never streamed", base, time.Time{}, 150},
		{"streamed long ago", base, now.Add(-streamedWithin - time.Second), 150},
	}
	for _, tt := range tests {
		got := standbyPriority(200, &tt.o, tt.streamedAt, step)
		if got != tt.want {
			t.Errorf("%s: priority %d, want %d", tt.name, got, tt.want)
		}
		if tt.name != "sync, streaming, caught up" && got >= best {
			t.Errorf("%s: priority %d not below the caught-up standby's %d", tt.name, got, best)
		}
	}
}

func TestStandbyPriorityStaysBelowThePrimary(t *testing.T) {
	o := observation{Role: roleStandby, SyncStandby: true}
	for _, p := range []int{2, 3, 10, 100, 200, 254} {
		got := standbyPriority(p, &o, o.Time, 1)
		if got < 1 || got >= p {
			t.Errorf("primary priority %d: standby %d, want 1..%d", p, got, p-1)
		}
	}
	worst := observation{Role: roleStandby, ReplayPaused: true, ReceiveLSN: 1 << 40}
	if got := standbyPriority(200, &worst, time.Time{}, 1); got < 1 {
		t.Errorf("worst standby: priority %d, want at least 1", got)
	}
}

func TestReadPriority(t *testing.T) {
	tests := []struct {
		o     observation
		prio  int
		fault bool
	}{
		{observation{Role: roleStandby, WALReceiver: "streaming"}, 150, false},
		{observation{Role: roleStandby, WALReceiver: "streaming", ReceiveLSN: 5 << 16}, 145, false},
		{observation{Role: roleStandby, WALReceiver: "waiting"}, 0, true},
		{observation{Role: roleStandby, WALReceiver: "streaming", ReplayPaused: true}, 0, true},
		{observation{Role: rolePrimary}, 10, false},
		{observation{Role: roleUnknown, Err: "down"}, 0, true},
	}
	for _, tt := range tests {
		p, f, why := readPriority(&tt.o, 1<<16)
		if p != tt.prio || f != tt.fault {
			t.Errorf("%+v: %d %v (%s), want %d %v", tt.o, p, f, why, tt.prio, tt.fault)
		}
	}
}
