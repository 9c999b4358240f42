//go:build race

package vrrp_test

// raceEnabled: the race detector makes the simulation about ten times
// slower.
const raceEnabled = true
