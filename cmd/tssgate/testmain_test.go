package main

import (
	"os"
	"testing"
)

// TestMain gives every serve the tests start (in-process and child
// processes alike) a metrics listener on a free port: the default,
// 127.0.0.1:9120, would be busy for the second of two servers, as it is
// for two instances on one host. Tests that care set --metrics-listen.
func TestMain(m *testing.M) {
	if _, set := os.LookupEnv("TSSGATE_METRICS_LISTEN"); !set {
		os.Setenv("TSSGATE_METRICS_LISTEN", "127.0.0.1:0")
	}
	os.Exit(m.Run())
}
