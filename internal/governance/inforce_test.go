package governance

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/sqlite"
)

// InForce reads what the real store adopted; nothing adopted is
// ErrNotFound, never an empty governance.
func TestInForce(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := InForce(ctx, st); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("InForce on a new store: %v, want ErrNotFound", err)
	}
	_, alice := keygen(t, "alice")
	g, err := Parse("gov.yaml", []byte(governanceYAML("1", [2]string{"alice", alice})))
	must(t, err)
	rec := store.Record{RequestID: "operator:governance:test", Version: "operator", Type: "GOVERNANCE", NodeKey: "operator:test",
		ReceivedAt: time.Now(), Request: []byte(`{}`), Action: store.ActionReject, Rule: "operator:governance", PolicyVersion: "operator"}
	if _, err := st.AdoptGovernance(ctx, "", store.GovernanceState{SHA256: g.SHA256, Content: g.Content}, rec); err != nil {
		t.Fatal(err)
	}
	got, err := InForce(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != g.SHA256 || got.Threshold != 1 || got.Approvers[0].Name != "alice" {
		t.Fatalf("InForce: %+v", got)
	}
}
