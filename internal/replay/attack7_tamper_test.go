package replay

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"tssgate/internal/protocol"
	"tssgate/internal/store/sqlite"
)

// TestAttack7TamperedDecisionHidesLoosening: replay checks that each
// record's request hashes to its request_hash, but not that the record is
// the one the chain holds (its hash and prev_hash). A decision column
// changed in the database (REJECT turned into APPROVE, or the type
// changed so that --type skips it) makes the replay report "no change"
// for a candidate that newly approves that request, and --fail-on loosen
// exits 0; `tssgate audit verify` would have refused the same log. A
// replay the risk officer relies on should refuse a record whose chain
// hash does not match (or check the chain as it streams).
func TestAttack7TamperedDecisionHidesLoosening(t *testing.T) {
	tests := []struct {
		name   string
		update string
		typ    string
	}{
		{"action forged to APPROVE", `UPDATE decisions SET action = 'APPROVE', rule = 'api-payouts', reason = '' WHERE request_id = 'victim'`, ""},
		{"type forged to PING, replayed with --type KEYSIGN", `UPDATE decisions SET type = 'PING' WHERE request_id = 'victim'`, "KEYSIGN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "decisions.db")
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			rejectAll := "version: 1\ndefault: reject\nrules: []\n"
			got := record(t, st, loadPolicy(t, rejectAll), []item{ethTx(t, "victim", "tx-v", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))})
			if got[0].Action != protocol.ActionReject {
				t.Fatalf("setup: %s", got[0].Action)
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(tc.update); err != nil {
				t.Fatal(err)
			}
			if rep, err := st.Verify(context.Background()); err != nil || rep.Break == nil {
				t.Fatalf("setup: the store still verifies after tampering: %+v, %v", rep, err)
			}
			r, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, countPolicy("10")), VerifyTx: verifier, Type: tc.typ})
			if err != nil {
				return // refusing the tampered log is a fix
			}
			if !r.Loosens() {
				t.Fatalf("replay of a tampered log: no loosening reported (%+v); the recorded REJECT would newly be approved", *r)
			}
		})
	}
}
