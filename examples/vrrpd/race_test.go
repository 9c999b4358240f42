package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// A reload rewrites the sync groups' plans while the status endpoint
// takes a snapshot of them: run with -race, the detector sees any access
// outside the daemon's lock.
func TestStatusDuringReloadIsRaceFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := memConf(map[string]int{"VI_1": 150, "VI_2": 100}) +
			"vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}\n"
		m := startMemDaemon(t, src)
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				st := m.d.status("k.conf")
				if len(st.SyncGroups) != 1 || st.SyncGroups[0].Name != "G" {
					t.Errorf("sync groups %+v", st.SyncGroups)
					return
				}
			}
		}()
		for range 50 {
			// An equal configuration: every instance and the group keep
			// running, the group with the new plan.
			m.d.reload(context.Background(), mustPlan(t, src))
		}
		stop.Store(true)
		wg.Wait()
		m.stop(t)
	})
}
