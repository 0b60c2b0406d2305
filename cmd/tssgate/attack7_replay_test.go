package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"tssgate/internal/store/sqlite"
)

// TestAttack7ReplaySinceInTheFuture: `--since -720h` (a sign slip for
// "720 hours ago") or an RFC 3339 time after now selects nothing: the
// replay prints "replayed 0" and exits 0, "no change", so a CI gate with
// --fail-on loosen passes whatever the candidate approves. A --since
// after the current time can only be a mistake; it should be a usage
// error (exit 2), as `--since yesterday` is.
func TestAttack7ReplaySinceInTheFuture(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	candidate := filepath.Join(dir, "candidate.yaml")
	writeAtomically(t, candidate, fmt.Sprintf(replayRules, "candidate", otherRule, 100))
	for name, since := range map[string]string{
		"negative duration": "-720h",
		"future time":       "2999-01-01T00:00:00Z",
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "policy", "replay", candidate, "--data-dir", dir, "--since", since, "--fail-on", "loosen")
			if code != 2 {
				t.Fatalf("--since %s: exit %d, want 2 (a --since after now replays nothing)\n%s%s", since, code, out, errOut)
			}
		})
	}
}
