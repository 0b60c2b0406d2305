package main

import (
	"strconv"
	"testing"
)

// appendGovernanceSerial appends a top-level "serial: N" line to the
// governance file at path (written by writeGovernance, which ends in a
// newline): a governance change needs a serial above the one in force.
func appendGovernanceSerial(t *testing.T, path string, n int) {
	t.Helper()
	writeAtomically(t, path, mustRead(t, path)+"serial: "+strconv.Itoa(n)+"\n")
}
