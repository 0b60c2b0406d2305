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
// the collector runs every few dozen decisions, and 200 saves about 5-10%
// of the server's CPU per decision under load (README, Performance) for
// a peak RSS under the 16-sender load of about 40 MB (52 MB in the OpenSSL
// build) instead of 37 (47); 300 and 400 saved no more on a quiet machine
// and cost more memory. The memory limit makes the collector work harder
// instead of growing further once the heap nears it, so a large live heap
// (big policy lists) cannot multiply into a huge process.
const (
	DefaultGCPercent   = 200
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
