package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

// openProxied opens a store in a fresh schema whose connections all go
// through a fault-injecting proxy, and returns it with the proxy and the
// direct (unproxied) DSN.
func openProxied(t *testing.T) (*Store, *storetest.Proxy, string) {
	t.Helper()
	direct := storetest.PostgresSchema(t)
	p, proxied := storetest.ProxyPostgres(t, direct)
	s, err := Open(context.Background(), proxied)
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, p, direct
}

// schemaOf returns the search_path a storetest DSN sets.
func schemaOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Query().Get("search_path") == "" {
		t.Fatalf("no search_path in %q (%v)", dsn, err)
	}
	return u.Query().Get("search_path")
}

// dailyUse is one limit use worth 1 of 100.
func dailyUse() store.LimitUse {
	max := decimal.MustParse("100")
	return store.LimitUse{Limit: "daily", Key: "k", Window: 24 * time.Hour, Amount: decimal.MustParse("1"), MaxAmount: &max}
}

func ledgerCount(t *testing.T, s *Store) int64 {
	t.Helper()
	u, err := s.LimitUsage(context.Background(), storetest.Base.Add(time.Minute), map[string]time.Duration{"daily": 24 * time.Hour})
	if err != nil {
		t.Fatalf("LimitUsage: %v", err)
	}
	if len(u) == 0 {
		return 0
	}
	return u[0].Count
}

// TestInDoubtCommit breaks the connection around COMMIT (issue 8, finding
// 9). Commit must resolve the outcome before it answers: a commit that
// happened is returned as committed (it may be signed: it is recorded); one
// that did not is an error with nothing recorded; and when even reading
// back fails, the error is ErrOutcomeUnknown, returned within 90% of the
// deadline, and the row may indeed exist.
func TestInDoubtCommit(t *testing.T) {
	const deadline = 5 * time.Second
	tests := []struct {
		name        string
		fault       storetest.CommitFault
		wantErr     error // nil: committed
		wantMsg     string
		wantRecord  bool // after the proxy is back up
		wantLedger  int64
		wantRetried bool // a retry of the request is answered from the record
	}{
		{name: "committed, reply lost", fault: storetest.DropAfterCommit, wantRecord: true, wantLedger: 1},
		{name: "never committed", fault: storetest.DropBeforeCommit, wantMsg: "not recorded", wantLedger: 0},
		{name: "read-back fails too", fault: storetest.DropAfterCommitThenDown, wantErr: store.ErrOutcomeUnknown,
			wantMsg: "tssgate audit show in-doubt", wantRecord: true, wantLedger: 1, wantRetried: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p, _ := openProxied(t)
			rec := storetest.NewRecord("in-doubt")
			p.FailNextCommit(tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			got, existed, err := s.Commit(ctx, rec, []store.LimitUse{dailyUse()})
			elapsed := time.Since(start)
			p.SetDown(false)
			if elapsed > deadline*9/10 {
				t.Errorf("Commit took %s, want under 90%% of the %s deadline", elapsed, deadline)
			}
			switch {
			case tt.wantErr == nil && tt.wantMsg == "":
				if err != nil || existed || got == nil || got.Action != store.ActionApprove {
					t.Fatalf("Commit = %+v, existed %v, %v; want the committed APPROVE", got, existed, err)
				}
			default:
				if err == nil {
					t.Fatalf("Commit succeeded (%+v), want an error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("Commit error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == nil && errors.Is(err, store.ErrOutcomeUnknown) {
					t.Errorf("Commit error = %v: the outcome was knowable", err)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("Commit error = %v, want one containing %q", err, tt.wantMsg)
				}
			}

			row, gerr := s.Get(context.Background(), rec.RequestID)
			switch {
			case tt.wantRecord && gerr != nil:
				t.Fatalf("Get after the fault: %v, want the committed row", gerr)
			case tt.wantRecord && got != nil && row.Hash != got.Hash:
				t.Errorf("Commit returned hash %s, the row has %s", got.Hash, row.Hash)
			case !tt.wantRecord && !errors.Is(gerr, store.ErrNotFound):
				t.Errorf("Get after the fault = %+v, %v; want ErrNotFound", row, gerr)
			}
			if n := ledgerCount(t, s); n != tt.wantLedger {
				t.Errorf("ledger counts %d, want %d", n, tt.wantLedger)
			}
			if tt.wantRetried {
				again, existed, err := s.Commit(context.Background(), rec, []store.LimitUse{dailyUse()})
				if err != nil || !existed || again.Hash != row.Hash {
					t.Errorf("retry = %+v, existed %v, %v; want the recorded row", again, existed, err)
				}
				if n := ledgerCount(t, s); n != 1 {
					t.Errorf("ledger counts %d after the retry, want 1", n)
				}
			}
			if rep, err := s.Verify(context.Background()); err != nil || rep.Break != nil {
				t.Errorf("Verify = %+v, %v", rep, err)
			}
		})
	}
}

// holdCommitLock takes the store's commit lock on a separate session, as
// a stuck replica or an operator would, and returns the release.
func holdCommitLock(t *testing.T, dsn string) func() {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock($1)", CommitLockKey(schemaOf(t, dsn))); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if _, err := c.Exec(ctx, "SELECT pg_advisory_unlock($1)", CommitLockKey(schemaOf(t, dsn))); err != nil {
				t.Error(err)
			}
			c.Close(ctx)
		}
	}
	t.Cleanup(release)
	return release
}

// TestHeldCommitLock (issue 8, finding 11): a session holding the commit
// lock makes Commit and Probe fail within 90% of their deadline, naming
// the cause, and commits succeed again once it lets go.
func TestHeldCommitLock(t *testing.T) {
	s, dsn := openTest(t)
	release := holdCommitLock(t, dsn)
	tests := []struct {
		name     string
		deadline time.Duration
		run      func(ctx context.Context) error
	}{
		{"commit", 5 * time.Second, func(ctx context.Context) error {
			_, _, err := s.Commit(ctx, storetest.NewRecord("blocked"), []store.LimitUse{dailyUse()})
			return err
		}},
		{"probe", time.Second, s.Probe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			start := time.Now()
			err := tt.run(ctx)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("succeeded while another session holds the commit lock")
			}
			if !strings.Contains(err.Error(), "waiting for the commit lock timed out after") {
				t.Errorf("error = %v, want one naming the commit lock", err)
			}
			if elapsed > tt.deadline*9/10 {
				t.Errorf("failed after %s, want under 90%% of the %s deadline", elapsed, tt.deadline)
			}
		})
	}
	if _, err := s.Get(context.Background(), "blocked"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(blocked) = %v, want ErrNotFound", err)
	}
	release()
	storetest.Commit(t, s, storetest.NewRecord("after-release"), dailyUse())
	if err := s.Probe(context.Background()); err != nil {
		t.Errorf("Probe after release: %v", err)
	}
}

// TestFrozenSessionIsCutOff: a tssgate session that stops in the middle of
// a transaction holding the commit lock (a frozen replica) is ended by
// idle_in_transaction_session_timeout, so the other replicas' commits
// recover within seconds instead of waiting for it forever.
func TestFrozenSessionIsCutOff(t *testing.T) {
	s, dsn := openTest(t)
	frozen, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer frozen.Close()
	ctx := context.Background()
	tx, err := frozen.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", frozen.commitLock); err != nil {
		t.Fatal(err)
	}
	// Idle in transaction from here on. Within the timeout plus a commit's
	// lock wait, commits go through again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, _, err := s.Commit(cctx, storetest.NewRecord("after-freeze"), nil)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("commits still fail 10 s after a session froze holding the lock: %v", err)
		}
	}
}

// TestSessionSettings checks the bounded-wait settings each connection
// gets, and that the DSN overrides them.
func TestSessionSettings(t *testing.T) {
	base := storetest.PostgresSchema(t)
	tests := []struct {
		name string
		dsn  string
		want map[string]string
	}{
		{"defaults", base, map[string]string{"idle_in_transaction_session_timeout": "2s", "tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"}},
		{"dsn wins", base + "&idle_in_transaction_session_timeout=10000", map[string]string{"idle_in_transaction_session_timeout": "10s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for k, want := range tt.want {
				var got string
				if err := s.pool.QueryRow(context.Background(), "SELECT current_setting($1)", k).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		})
	}
}

// TestProbeUnreachable: with the database unreachable the write probe
// fails within its deadline, and succeeds again once it is back.
func TestProbeUnreachable(t *testing.T) {
	s, p, _ := openProxied(t)
	if err := s.Probe(context.Background()); err != nil {
		t.Fatalf("Probe, healthy: %v", err)
	}
	p.SetDown(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	start := time.Now()
	err := s.Probe(ctx)
	cancel()
	if err == nil {
		t.Fatal("Probe succeeded with the database unreachable")
	}
	if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
		t.Errorf("Probe failed after %s, want within 90%% of its 1 s deadline", elapsed)
	}
	p.SetDown(false)
	// The pool may hand out a connection the outage killed once more
	// before it notices; a probe a second later must pass.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.Probe(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Probe still fails 5 s after the database came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
