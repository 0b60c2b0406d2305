package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

// holdCommits takes the commit semaphore, as a running group commit would,
// and returns the function that releases it.
func holdCommits(t *testing.T, s *Store) (release func()) {
	t.Helper()
	s.commitSem <- struct{}{}
	var once sync.Once
	release = func() { once.Do(func() { <-s.commitSem }) }
	t.Cleanup(release)
	return release
}

// waitQueued waits until n Commits wait in the group-commit queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.queue)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Commits queued after 10s, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type result struct {
	rec     *store.Record
	existed bool
	err     error
}

// commitAll starts one Commit per record, waits until all are queued behind
// the held semaphore, releases it, and returns the outcomes in order.
func commitAll(t *testing.T, s *Store, recs []store.Record, uses []store.LimitUse) []result {
	t.Helper()
	release := holdCommits(t, s)
	out := make([]result, len(recs))
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Go(func() {
			r, existed, err := s.Commit(context.Background(), rec, uses)
			out[i] = result{r, existed, err}
		})
	}
	waitQueued(t, s, len(recs))
	release()
	wg.Wait()
	return out
}

// TestGroupCommitSharesOneTransaction: decisions that arrive while a commit
// runs share the next one; each member's limit check sees the members
// before it, so exactly the headroom is approved.
func TestGroupCommitSharesOneTransaction(t *testing.T) {
	s, _ := openTest(t)
	max := decimal.MustParse("30")
	use := store.LimitUse{Limit: "group", Key: "k", Window: time.Hour, Amount: decimal.MustParse("6"), MaxAmount: &max}
	var recs []store.Record
	for i := range 20 {
		recs = append(recs, storetest.NewRecord(fmt.Sprintf("member-%02d", i)))
	}
	before := s.batches.Load()
	out := commitAll(t, s, recs, []store.LimitUse{use})
	if got := s.batches.Load() - before; got != 1 {
		t.Errorf("%d group commits for 20 queued decisions, want 1", got)
	}
	approved := 0
	for i, r := range out {
		if r.err != nil {
			t.Fatalf("member %d: %v", i, r.err)
		}
		if r.rec.Action == store.ActionApprove {
			approved++
		}
	}
	if approved != 5 {
		t.Errorf("%d approved, want exactly 5 (30 of headroom, 6 each)", approved)
	}
	rep, err := s.Verify(context.Background())
	if err != nil || rep.Break != nil || rep.Rows != 20 {
		t.Errorf("Verify = %+v, %v; want 20 intact rows", rep, err)
	}
}

// TestGroupCommitFailureFailsEveryMember: when one member's write fails,
// the batch's transaction is rolled back and every member gets an error:
// none is approved, nothing is recorded, and the store keeps working.
func TestGroupCommitFailureFailsEveryMember(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `CREATE TRIGGER poison BEFORE INSERT ON decisions WHEN NEW.request_id = 'poison'
		BEGIN SELECT RAISE(ABORT, 'poisoned'); END`); err != nil {
		t.Fatal(err)
	}
	use := storetest.BenchUse("count")
	var recs []store.Record
	for i := range 10 {
		recs = append(recs, storetest.NewRecord(fmt.Sprintf("member-%02d", i)))
	}
	recs = append(recs, storetest.NewRecord("poison"))
	for i, r := range commitAll(t, s, recs, []store.LimitUse{use}) {
		if r.err == nil {
			t.Errorf("member %d (%s): %s, want an error", i, recs[i].RequestID, r.rec.Action)
		}
	}
	var rows, ledger int
	if err := s.db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM decisions), (SELECT COUNT(*) FROM limit_ledger)").Scan(&rows, &ledger); err != nil {
		t.Fatal(err)
	}
	if rows != 0 || ledger != 0 {
		t.Errorf("after the failed batch: %d decisions, %d ledger entries; want none", rows, ledger)
	}
	got := storetest.Commit(t, s, storetest.NewRecord("after"), use)
	if got.Action != store.ActionApprove || got.Seq != 1 {
		t.Errorf("commit after the failed batch: %s seq %d, want APPROVE seq 1", got.Action, got.Seq)
	}
}

// TestGroupCommitDuplicatesInOneBatch: a retry in the same batch is answered
// from the first member's row; another request under the same request_id
// is a conflict for that member only.
func TestGroupCommitDuplicatesInOneBatch(t *testing.T) {
	s, _ := openTest(t)
	first := storetest.NewRecord("dup")
	other := storetest.NewRecord("dup")
	other.Request = []byte(`{"other":true}`)
	out := commitAll(t, s, []store.Record{first, first, other}, []store.LimitUse{storetest.BenchUse("count")})
	var created, existed, conflicts int
	var seqs []int64
	for _, r := range out {
		switch {
		case errors.Is(r.err, store.ErrConflict):
			conflicts++
			continue
		case r.err != nil:
			t.Fatalf("unexpected error: %v", r.err)
		case r.existed:
			existed++
		default:
			created++
		}
		seqs = append(seqs, r.rec.Seq)
	}
	// Queue order decides which of the three comes first; whichever does,
	// one row is written and the other spelling conflicts or is answered
	// from it.
	if created != 1 || created+existed+conflicts != 3 {
		t.Errorf("created %d, existed %d, conflicts %d; want one created", created, existed, conflicts)
	}
	for _, q := range seqs {
		if q != 1 {
			t.Errorf("seq %d, want every answer from row 1", q)
		}
	}
	u, err := s.LimitUsage(context.Background(), storetest.BenchNow, map[string]time.Duration{storetest.BenchLimit: storetest.BenchWindow})
	if err != nil {
		t.Fatal(err)
	}
	if len(u) > 1 || (len(u) == 1 && u[0].Count != 1) {
		t.Errorf("usage %+v, want the decision counted once", u)
	}
}

// TestGroupCommitCanceledWhileQueued: a Commit whose context ends while it
// waits for the next group commit leaves the queue and records nothing.
func TestGroupCommitCanceledWhileQueued(t *testing.T) {
	s, _ := openTest(t)
	release := holdCommits(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.Commit(ctx, storetest.NewRecord("gone"), nil)
		errc <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit = %v, want context.Canceled", err)
	}
	waitQueued(t, s, 0)
	release()
	if _, err := s.Get(context.Background(), "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(gone) = %v, want ErrNotFound", err)
	}
}
