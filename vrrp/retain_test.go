package vrrp

import "testing"

func TestReuseLetsOutgrownStorageGo(t *testing.T) {
	var r retainer
	s := make([]int, 1000) // a burst's use
	s = reuse(&r, s, len(s))
	if cap(s) != 1000 {
		t.Fatalf("cap after a full use = %d, want 1000 kept", cap(s))
	}
	for i := 1; i < retainIdle; i++ {
		s = append(s, 1, 2, 3)
		if s = reuse(&r, s, len(s)); cap(s) != 1000 {
			t.Fatalf("let go after %d idle resets, want %d", i, retainIdle)
		}
	}
	s = append(s, 7)
	if s = reuse(&r, s, len(s)); s != nil {
		t.Fatalf("kept cap %d after %d idle resets", cap(s), retainIdle)
	}
	// Steady use of more than a quarter keeps the storage however long.
	s = make([]int, 0, 1000)
	for range 2 * retainIdle {
		s = append(s, make([]int, 300)...)
		if s = reuse(&r, s, len(s)); cap(s) != 1000 {
			t.Fatal("let go storage that steady use fills over a quarter")
		}
	}
	// Small storage is always kept.
	s = make([]int, 0, retainMin)
	for range 2 * retainIdle {
		if s = reuse(&r, s, 0); cap(s) != retainMin {
			t.Fatal("let go storage of retainMin")
		}
	}
}

func TestReuseClearsWhatWasUsed(t *testing.T) {
	var r retainer
	p := new(int)
	s := []*int{p, p}
	s = reuse(&r, s, len(s))
	if s[:2][0] != nil || s[:2][1] != nil {
		t.Error("reuse kept pointers alive")
	}
}
