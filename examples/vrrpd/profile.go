//go:build pprof

package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"

	"go.uber.org/zap"
)

// Profiling is built in only with -tags pprof: runtime/pprof and its
// compression would otherwise be in every daemon's memory.

func init() {
	// Finer than the default 512 KB: a router's state is a few KB.
	runtime.MemProfileRate = 4096
	optionSpecs = append(optionSpecs,
		optSpec{0, "cpuprofile", optValue, func(o *options, v string) error { o.cpuProfile = v; return nil }, ""},
		optSpec{0, "memprofile", optValue, func(o *options, v string) error { o.memProfile = v; return nil }, ""},
		optSpec{0, "trace", optValue, func(o *options, v string) error { o.traceFile = v; return nil }, ""},
	)
}

// startProfiles starts --cpuprofile and returns what stops the profiles
// and writes them, once however often it is called.
func startProfiles(opts *options, log *zap.Logger) func() {
	if opts.cpuProfile == "" && opts.memProfile == "" && opts.traceFile == "" {
		return func() {}
	}
	var tr *os.File
	if opts.traceFile != "" {
		f, err := os.Create(opts.traceFile)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			log.Error("trace", zap.Error(err))
		} else {
			tr = f
		}
	}
	var cpu *os.File
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			log.Error("cpu profile", zap.Error(err))
		} else {
			cpu = f
		}
	}
	return sync.OnceFunc(func() {
		if tr != nil {
			trace.Stop()
			tr.Close()
		}
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if opts.memProfile != "" {
			f, err := os.Create(opts.memProfile)
			if err == nil {
				runtime.GC()
				err = pprof.WriteHeapProfile(f)
				f.Close()
				// What the heap profile leaves out: stacks, the
				// runtime's own structures, memory not yet returned.
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				log.Info("memory", zap.Uint64("heap-inuse", ms.HeapInuse), zap.Uint64("heap-idle-unreleased", ms.HeapIdle-ms.HeapReleased),
					zap.Uint64("stack-inuse", ms.StackInuse), zap.Uint64("runtime-other", ms.MSpanInuse+ms.MCacheInuse+ms.BuckHashSys+ms.GCSys+ms.OtherSys),
					zap.Uint64("sys", ms.Sys), zap.Int("goroutines", runtime.NumGoroutine()))
			}
			if err != nil {
				log.Error("heap profile", zap.Error(err))
			}
		}
	})
}
