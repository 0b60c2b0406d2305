package replay

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"tssgate/internal/protocol"
	"tssgate/internal/store/sqlite"
)

// TestReplayRefusesABrokenChain: every row replay reads must continue the
// hash chain from Seq 1, whether it is reported or not (before --since,
// after --until, another --type): a changed column, a deleted row or a
// rewritten hash stops the replay with ErrChainBroken naming the row.
func TestReplayRefusesABrokenChain(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		update  string
		cfg     func(*Config)
		wantSeq string
	}{
		{"a rule rewritten in a seeded row", `UPDATE decisions SET rule = 'x' WHERE request_id = 'a'`,
			func(c *Config) { c.Since = t0.Add(time.Hour) }, "seq 1 (a)"},
		{"a row deleted", `DELETE FROM decisions WHERE request_id = 'b'`, func(*Config) {}, "seq 3 (c)"},
		{"an action rewritten after --until", `UPDATE decisions SET action = 'REJECT' WHERE request_id = 'c'`,
			func(c *Config) { c.Until = t0.Add(time.Minute) }, "seq 3 (c)"},
		{"a type rewritten, another type reported", `UPDATE decisions SET type = 'KEYGEN' WHERE request_id = 'b'`,
			func(c *Config) { c.Type = "PING" }, "seq 2 (b)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "decisions.db")
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			p := loadPolicy(t, countPolicy("10"))
			record(t, st, p, []item{
				ethTx(t, "a", "tx-a", t0),
				ethTx(t, "b", "tx-b", t0.Add(time.Second)),
				ethTx(t, "c", "tx-c", t0.Add(2*time.Hour)),
			})
			cfg := Config{Store: st, Candidate: p, VerifyTx: verifier}
			tc.cfg(&cfg)
			if _, err := Run(context.Background(), cfg); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(tc.update); err != nil {
				t.Fatal(err)
			}
			_, err = Run(context.Background(), cfg)
			if !errors.Is(err, ErrChainBroken) || !strings.Contains(err.Error(), tc.wantSeq) {
				t.Fatalf("Run: %v, want ErrChainBroken at %s", err, tc.wantSeq)
			}
		})
	}
}

// TestReplayRefusesATypeNotTheRequests: a row whose type column is not
// its request's request_type (written so by a writer that chained it
// consistently) is refused: --type and the report select by the column,
// the pipeline decides the request.
func TestReplayRefusesATypeNotTheRequests(t *testing.T) {
	st := openSQLite(t)
	p := loadPolicy(t, countPolicy("10"))
	record(t, st, p, []item{ethTx(t, "k", "tx-k", T0)})
	k, err := st.Get(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	forged := *k
	forged.RequestID, forged.RequestHash, forged.Type = "k2", "", "PING"
	forged.Request = []byte(strings.Replace(string(k.Request), `"k"`, `"k2"`, 1))
	forged.ReceivedAt = T0.Add(time.Minute)
	if _, _, err := st.Commit(context.Background(), forged, nil); err != nil {
		t.Fatal(err)
	}
	if rep, err := st.Verify(context.Background()); err != nil || rep.Break != nil {
		t.Fatalf("setup: the chain should be intact: %+v, %v", rep, err)
	}
	_, err = Run(context.Background(), Config{Store: st, Candidate: p, VerifyTx: verifier})
	if err == nil || !strings.Contains(err.Error(), `is not the record's type "PING"`) {
		t.Fatalf("Run: %v, want the type mismatch named", err)
	}
}

// TestReplayUntilStillCountsLaterCommits: a request received after
// --until but committed before one received before it counted toward
// that one's limits in serve; the replay decides it (unreported) so the
// reported decision is exact. Here the candidate is the recorded policy:
// nothing may change.
func TestReplayUntilStillCountsLaterCommits(t *testing.T) {
	until := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	st := openSQLite(t)
	p := loadPolicy(t, countPolicy("1"))
	got := record(t, st, p, []item{
		ethTx(t, "late", "tx-late", until.Add(time.Millisecond)), // committed first
		ethTx(t, "early", "tx-early", until.Add(-time.Millisecond)),
	})
	if got[0].Action != protocol.ActionApprove || got[1].Action != protocol.ActionReject || got[1].Rule != "eth-hourly" {
		t.Fatalf("setup: late %s, early %s by %q", got[0].Action, got[1].Action, got[1].Rule)
	}
	r, err := Run(context.Background(), Config{Store: st, Candidate: p, VerifyTx: verifier, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if r.Replayed != 1 || r.Unchanged != 1 || r.Changed() {
		t.Fatalf("--until: %+v (transitions %+v), want the one reported record unchanged", *r, r.Transitions)
	}
}

// TestReplaySinceSeedsFromTheStart: with --since far after the candidate's
// longest window, approvals long before it still make their transactions
// count once (the stores never forget that), and they add nothing to the
// windows.
func TestReplaySinceSeedsFromTheStart(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	st := openSQLite(t)
	p := loadPolicy(t, countPolicy("1"))
	got := record(t, st, p, []item{
		ethTx(t, "old", "tx-A", t0),
		ethTx(t, "again", "tx-A", t0.Add(30*24*time.Hour)), // counted 30 days ago: skipped
		ethTx(t, "new", "tx-B", t0.Add(30*24*time.Hour+time.Minute)),
	})
	for i, o := range got {
		if o.Action != protocol.ActionApprove {
			t.Fatalf("setup: item %d %s by %q", i, o.Action, o.Rule)
		}
	}
	r, err := Run(context.Background(), Config{Store: st, Candidate: p, VerifyTx: verifier, Since: t0.Add(29 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Replayed != 2 || r.Unchanged != 2 || r.Seeded != 0 {
		t.Fatalf("--since: %+v (transitions %+v), want 2 unchanged and nothing seeded within the window", *r, r.Transitions)
	}
}
