package labbench

import (
	"os"
	"testing"
)

// TestMain removes the vrrpd binary BuildVrrpd made for the benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	RemoveVrrpdBuild()
	os.Exit(code)
}
