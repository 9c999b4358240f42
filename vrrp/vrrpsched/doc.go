// Package vrrpsched gives a VRRP process the scheduling keepalived offers
// for a starved CPU: real-time round-robin scheduling (SCHED_RR) bounded by
// RLIMIT_RTTIME, a nice value, and memory locked against swapping
// (mlockall). A loaded host that runs the daemon late makes a backup miss
// its master's adverts and take over while the master is alive; a
// real-time priority lets the daemon run ahead of normal work.
//
// Call Apply early in main, before the program starts goroutines that do
// much: it changes every thread the process has, and threads created
// afterwards inherit the scheduling of the thread that made them.
package vrrpsched
