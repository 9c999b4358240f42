package main

import (
	"encoding/json"
	"testing"
)

func TestParseLSN(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want lsn
	}{
		{"0/0", 0}, {"0/3000148", 0x3000148}, {"16/B374D848", 0x16B374D848}, {"FFFFFFFF/FFFFFFFF", 1<<64 - 1},
	} {
		got, err := parseLSN(tt.in)
		if err != nil || got != tt.want || got.String() != tt.in {
			t.Errorf("parseLSN(%q) = %v (%s), %v; want %v", tt.in, uint64(got), got, err, uint64(tt.want))
		}
	}
	for _, bad := range []string{"", "0", "/1", "1/", "x/1", "1/2/3", "123456789/0", "-1/0", "+1/0"} {
		if _, err := parseLSN(bad); err == nil {
			t.Errorf("parseLSN(%q): no error", bad)
		}
	}
	var v struct{ L lsn }
	if err := json.Unmarshal([]byte(`{"L":"1/2"}`), &v); err != nil || v.L != 1<<32|2 {
		t.Errorf("JSON: %v %v", v.L, err)
	}
}

func TestIsSyncStandby(t *testing.T) {
	for _, tt := range []struct {
		names, app string
		want       bool
	}{
		{"ANY 1 (pg1, pg2, pg3)", "pg2", true},
		{"ANY 1 (pg1, pg2, pg3)", "PG2", true},
		{"ANY 1 (pg1, pg3)", "pg2", false},
		{"FIRST 2 (a, \"Pg2\", c)", "pg2", true},
		{"2 (a,b)", "b", true},
		{"a, b", "a", true},
		{"*", "anything", true},
		{"", "pg1", false},
		{"ANY 1 (\"a,b\")", "a", false},
	} {
		if got := isSyncStandby(tt.names, tt.app); got != tt.want {
			t.Errorf("isSyncStandby(%q, %q) = %v, want %v", tt.names, tt.app, got, tt.want)
		}
	}
}
