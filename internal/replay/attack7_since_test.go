package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"tssgate/internal/protocol"
)

// TestAttack7SinceSeedReordersTheLog: the log is in commit (Seq) order,
// and a request received just before --since can commit after one
// received just after it (it took longer to decide: two requests in
// flight at once). serve's limit check for the first committed saw only
// what was committed before it; replay seeds every approval received
// before --since first, then replays the rest, so the earlier-committed
// request sees a later commit. Here that extra usage makes the candidate
// reject (by its limit) a request serve under the candidate approves: the
// replay reports a rule change, not a loosening, and --fail-on loosen
// exits 0. Without --since the same replay reports it (exact, Seq order).
func TestAttack7SinceSeedReordersTheLog(t *testing.T) {
	since := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	x := ethTx(t, "x", "tx-X", since.Add(time.Millisecond)) // received after since, committed first
	x.extra = []byte(strings.ReplaceAll(string(x.extra), `"payouts-service"`, `"other"`))
	if !strings.Contains(string(x.extra), `"other"`) {
		t.Fatal("setup: the sample has no payouts-service initiator")
	}
	y := ethTx(t, "y", "tx-Y", since.Add(-time.Millisecond)) // received before since, committed second
	items := []item{x, y}
	// The candidate also approves the "other" initiator, one ETH KEYSIGN
	// an hour.
	candidate := strings.Replace(countPolicy("1"), `tx.initiator == "payouts-service"`, `tx.initiator in ["payouts-service", "other"]`, 1)

	st := openSQLite(t)
	old := record(t, st, loadPolicy(t, countPolicy("10")), items)
	if old[0].Action != protocol.ActionReject || old[1].Action != protocol.ActionApprove {
		t.Fatalf("setup: recorded x %s, y %s; want REJECT, APPROVE", old[0].Action, old[1].Action)
	}
	serve := record(t, openSQLite(t), loadPolicy(t, candidate), items)
	if serve[0].Action != protocol.ActionApprove {
		t.Fatalf("setup: serve under the candidate: x %s by %q, want APPROVE", serve[0].Action, serve[0].Rule)
	}

	full, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, candidate), VerifyTx: verifier})
	if err != nil {
		t.Fatal(err)
	}
	if full.RejectToApprove != 1 {
		t.Fatalf("control: the replay from the start reports %d reject→approve, want 1 (x)", full.RejectToApprove)
	}
	r, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, candidate), VerifyTx: verifier, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if r.RejectToApprove != 1 || !r.Loosens() {
		t.Fatalf("--since: reject→approve %d, rule changed %d, transitions %+v; serve under the candidate newly approves x",
			r.RejectToApprove, r.RuleChanged, r.Transitions)
	}
}

// TestAttack7SinceForgetsCountedTransaction: the --since analogue of
// TestAttack7PruneForgetsCountedTransaction. The stores skip a
// transaction already counted under a (limit, key) however long ago;
// replay seeds only the approvals within the candidate's longest window
// before --since, so a transaction approved earlier and signed again
// after --since counts again, and the extra count rejects (by the
// candidate's looser cap) a request serve under the candidate approves.
func TestAttack7SinceForgetsCountedTransaction(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	original, candidate := countPolicy("1"), countPolicy("2")
	items := []item{
		ethTx(t, "a1", "tx-A", t0),
		ethTx(t, "a2", "tx-A", t0.Add(3*time.Hour)), // the same transaction: counted already
		ethTx(t, "b", "tx-B", t0.Add(3*time.Hour+time.Minute)),
		ethTx(t, "c", "tx-C", t0.Add(3*time.Hour+2*time.Minute)),
	}
	st := openSQLite(t)
	old := record(t, st, loadPolicy(t, original), items)
	if old[3].Action != protocol.ActionReject || old[3].Rule != "eth-hourly" {
		t.Fatalf("setup: c under the original: %s by %q", old[3].Action, old[3].Rule)
	}
	serve := record(t, openSQLite(t), loadPolicy(t, candidate), items)
	if serve[3].Action != protocol.ActionApprove {
		t.Fatalf("setup: serve under the candidate: c %s by %q", serve[3].Action, serve[3].Rule)
	}
	full, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, candidate), VerifyTx: verifier})
	if err != nil {
		t.Fatal(err)
	}
	if full.RejectToApprove != 1 {
		t.Fatalf("control: the replay from the start reports %d reject→approve, want 1 (c)", full.RejectToApprove)
	}
	r, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, candidate), VerifyTx: verifier, Since: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r.RejectToApprove != 1 || !r.Loosens() {
		t.Fatalf("--since: reject→approve %d, unchanged %d, transitions %+v; serve under the candidate newly approves c",
			r.RejectToApprove, r.Unchanged, r.Transitions)
	}
}
