package server

import (
	"runtime/debug"
	"testing"
)

// TuneGC applies the defaults only where the environment is silent, and
// reports what is in force.
func TestTuneGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(noMemoryLimit)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })
	tests := []struct {
		name         string
		env          map[string]string
		percent      int
		limit        int64
		startPercent int
		startLimit   int64
	}{
		{"defaults", nil, DefaultGCPercent, DefaultMemoryLimit, 100, noMemoryLimit},
		{"GOGC set", map[string]string{"GOGC": "50"}, 50, DefaultMemoryLimit, 50, noMemoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, DefaultGCPercent, 1 << 30, 100, 1 << 30},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, -1, 1 << 30, -1, 1 << 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// What the runtime would have applied from the environment.
			debug.SetGCPercent(tc.startPercent)
			debug.SetMemoryLimit(tc.startLimit)
			p, l := TuneGC(func(k string) string { return tc.env[k] })
			if p != tc.percent || l != tc.limit {
				t.Fatalf("TuneGC = %d, %d; want %d, %d", p, l, tc.percent, tc.limit)
			}
			if got := debug.SetGCPercent(tc.percent); got != tc.percent {
				t.Fatalf("GC percent in force %d, want %d", got, tc.percent)
			}
		})
	}
}
