package replay

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/store"
)

// ethTx returns the v2 sample KEYSIGN with its transaction id replaced by
// txID (the sample's id is both its biz task id and its transaction id).
func ethTx(t testing.TB, id, txID string, at time.Time) item {
	t.Helper()
	d, e := sample(t, protocol.V2, protocol.TypeKeySign)
	const sampleTx = "7f3c2a91-5d4e-4b8a-a6c2-1e9f0d3b8c57"
	if !strings.Contains(string(d)+string(e), sampleTx) {
		t.Fatal("the sample no longer carries its transaction id")
	}
	return item{version: protocol.V2, id: id, typ: protocol.TypeKeySign, nodeKey: "node-a", at: at,
		detail: []byte(strings.ReplaceAll(string(d), sampleTx, txID)), extra: []byte(strings.ReplaceAll(string(e), sampleTx, txID))}
}

// pingFillers records n PINGs from t0 on, one millisecond apart: one
// through the pipeline, the others as clones committed concurrently (group
// commit), so that a replay passes more records than memledger keeps
// between two prunes.
func pingFillers(t testing.TB, st store.Store, t0 time.Time, n int) {
	t.Helper()
	record(t, st, loadPolicy(t, countPolicy("1")), []item{{version: protocol.V2, id: "ping-template", typ: protocol.TypePing, nodeKey: "node-a", at: t0}})
	tmpl, err := st.Get(context.Background(), "ping-template")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const workers = 32
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w + 1; i < n; i += workers {
				id := fmt.Sprintf("ping-%06d", i)
				rec := *tmpl
				rec.RequestID, rec.RequestHash = id, ""
				rec.Request = []byte(strings.Replace(string(tmpl.Request), `"ping-template"`, `"`+id+`"`, 1))
				rec.ReceivedAt = t0.Add(time.Duration(i) * time.Millisecond)
				if _, _, err := st.Commit(context.Background(), rec, nil); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// TestAttack7PruneForgetsCountedTransaction: the stores count a
// transaction (tx_key) once per limit and key forever; memledger.Prune
// forgets the transaction keys of pruned entries, so a replay longer than
// the longest window plus a day counts a re-signed transaction again. The
// extra count rejects, under a candidate that loosens the cap, a request
// serve would newly approve: the replay reports "no change" for it and
// --fail-on loosen exits 0. Serve's answer is computed independently by
// recording the same requests under the candidate through the real
// pipeline into a second SQLite store.
func TestAttack7PruneForgetsCountedTransaction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fillers int
	}{
		{"control: no prune", 10},
		{"a prune between the two signings", pruneEvery + 10},
	} {
		t.Run(tc.name, func(t *testing.T) { attack7PruneCase(t, tc.fillers) })
	}
}

func attack7PruneCase(t *testing.T, fillers int) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	original, candidate := countPolicy("1"), countPolicy("2")
	before := []item{ethTx(t, "a1", "tx-A", t0)}
	after := []item{
		// The same transaction re-signed under a new request_id: the
		// stores skip it (already counted under eth-hourly ["ETH"]).
		ethTx(t, "a2", "tx-A", t0.Add(27*time.Hour)),
		ethTx(t, "b", "tx-B", t0.Add(27*time.Hour+time.Minute)),
		// Under the original (1 an hour) c is the second in the hour;
		// under the candidate (2 an hour) serve approves it.
		ethTx(t, "c", "tx-C", t0.Add(27*time.Hour+2*time.Minute)),
	}

	st := openSQLite(t)
	record(t, st, loadPolicy(t, original), before)
	pingFillers(t, st, t0.Add(26*time.Hour), fillers)
	got := record(t, st, loadPolicy(t, original), after)
	if got[2].Action != protocol.ActionReject || got[2].Rule != "eth-hourly" {
		t.Fatalf("setup: c under the original: %s by %q, want REJECT by eth-hourly", got[2].Action, got[2].Rule)
	}

	// What serve under the candidate decides for the same requests.
	serve := record(t, openSQLite(t), loadPolicy(t, candidate), append(append([]item{}, before...), after...))
	if serve[3].Action != protocol.ActionApprove {
		t.Fatalf("setup: serve under the candidate: c %s by %q (%s), want APPROVE", serve[3].Action, serve[3].Rule, serve[3].Reason)
	}

	r, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, candidate), VerifyTx: verifier})
	if err != nil {
		t.Fatal(err)
	}
	if r.RejectToApprove != 1 || !r.Loosens() {
		t.Fatalf("replay: reject→approve %d, loosens %v, examples %+v; serve under the candidate newly approves request c",
			r.RejectToApprove, r.Loosens(), r.Examples.ApproveToReject)
	}
}
