package server

import (
	"math"
	"runtime/debug"
)

// The garbage collector's settings serve runs with unless the GOGC or
// GOMEMLIMIT environment variable sets its own (README, Performance).
//
// A decision allocates about 150 KB that is garbage as soon as the reply
// is written, over a live heap of a few MB: with Go's default GOGC of 100
// the collector runs every few dozen decisions. Measured under the
// 16-sender load (README, Performance), 300 saves about 8% of the
// server's CPU per decision against 100, for a peak RSS of about 46 MB
// (57 MB in the OpenSSL build) instead of 37 (48); 200 saved less, and
// 400 no more for 2 MB more. The memory limit makes the collector work
// harder instead of growing further once the heap nears it, so a large
// live heap (big policy lists) cannot multiply into a huge process.
const (
	DefaultGCPercent   = 300
	DefaultMemoryLimit = 256 << 20
)

// TuneGC applies DefaultGCPercent unless getenv("GOGC") is set, and
// DefaultMemoryLimit unless getenv("GOMEMLIMIT") is set (the runtime has
// applied those already), and returns the settings in force: the GC
// percent (negative when the collector is off) and the memory limit in
// bytes (math.MaxInt64 when there is none).
func TuneGC(getenv func(string) string) (gcPercent int, memoryLimit int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	gcPercent = debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	return gcPercent, debug.SetMemoryLimit(-1)
}

// noMemoryLimit is what debug.SetMemoryLimit reports without a limit.
const noMemoryLimit = math.MaxInt64
