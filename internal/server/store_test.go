package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/sqlite"
)

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// countingDecider approves KEYSIGN, counting evaluations, with an optional
// limit on every approval. With changeMind, every evaluation after the
// first rejects, so a test can tell an answer from the record from a new
// evaluation.
type countingDecider struct {
	calls      atomic.Int64
	limits     []policy.LimitUse
	changeMind bool
}

func (c *countingDecider) Decide(ctx context.Context, r *protocol.Request) (policy.Decision, error) {
	if c.calls.Add(1) > 1 && c.changeMind {
		return policy.Decision{Action: protocol.ActionReject, Rule: "changed-mind", Reason: "a new evaluation", PolicyVersion: "sha256:other"}, nil
	}
	return policy.Decision{Action: protocol.ActionApprove, Rule: "approve-all", PolicyVersion: "sha256:test", Limits: c.limits}, nil
}

func TestIdempotentRetries(t *testing.T) {
	st := openSQLite(t)
	dec := &countingDecider{changeMind: true}
	ts := newTestServer(t, func(c *Config) { c.Store = st; c.Decider = dec })
	req := sampleRequest(t, protocol.V2, protocol.TypeKeySign, "k-1")

	_, first := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req)))
	// A retry: a new token (new exp, same content) with the same request_id.
	_, retry := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req)))
	if !first.Approves() || *first != *retry {
		t.Fatalf("retry answered %+v, first %+v", retry, first)
	}
	rec, err := st.Get(context.Background(), "k-1")
	if err != nil || rec.Action != "APPROVE" || rec.Rule != "approve-all" || rec.NodeKey != "node-a" || rec.Type != "KEYSIGN" ||
		rec.TxKey == "" || rec.PolicyVersion != "sha256:test" {
		t.Fatalf("recorded %+v, %v", rec, err)
	}
	if !strings.Contains(ts.logs.String(), `"replayed":true`) {
		t.Errorf("the retry's decision line does not say it was replayed")
	}

	// The same request_id with other content is rejected, and the record
	// is untouched.
	other := req
	other.ExtraInfo = strings.Replace(other.ExtraInfo, "0.0001", "0.0002", 1)
	_, conflict := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, other)))
	if conflict.Approves() || conflict.RequestID != "k-1" || !strings.Contains(conflict.Error, "already decided for a different request") {
		t.Fatalf("reused request_id answered %+v", conflict)
	}
	if again, _ := st.Get(context.Background(), "k-1"); again.Hash != rec.Hash {
		t.Fatalf("the record changed")
	}
}

func TestLimitsEnforcedThroughTheStore(t *testing.T) {
	st := openSQLite(t)
	max := decimal.MustParse("0.00025")
	dec := &countingDecider{limits: []policy.LimitUse{{Limit: "eth-daily", Key: `["w"]`, Window: 24 * 3600e9, Amount: decimal.MustParse("0.0001"), MaxAmount: &max}}}
	ts := newTestServer(t, func(c *Config) { c.Store = st; c.Decider = dec })
	var approved, rejected int
	for i := range 4 {
		req := sampleRequest(t, protocol.V2, protocol.TypeKeySign, "k-"+string(rune('a'+i)))
		// Each is its own transaction.
		req.RequestDetail = strings.Replace(req.RequestDetail, `"biz_task_id":"`, `"biz_task_id":"`+string(rune('a'+i)), 1)
		req.ExtraInfo = strings.Replace(req.ExtraInfo, `"transaction_id":"`, `"transaction_id":"`+string(rune('a'+i)), 1)
		_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req)))
		switch {
		case resp.Approves():
			approved++
		case resp.Status == 0 && strings.Contains(resp.Error, "eth-daily"):
			rejected++
		default:
			t.Fatalf("reply %+v", resp)
		}
	}
	if approved != 2 || rejected != 2 {
		t.Fatalf("approved %d, rejected %d; want 2 and 2 under a cap of 2.5 transactions", approved, rejected)
	}
}

// A store that cannot record makes the server answer status 30: an
// approval is never signed without its record.
func TestRecordFailureFailsClosed(t *testing.T) {
	st := openSQLite(t)
	ts := newTestServer(t, func(c *Config) { c.Store = st; c.Decider = &countingDecider{} })
	st.Close() // every store call now fails
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, sampleRequest(t, protocol.V2, protocol.TypeKeySign, "k-x"))))
	if resp.Approves() || resp.Status != protocol.StatusInternalError {
		t.Fatalf("reply with a broken store: %+v", resp)
	}
}

var _ store.Store = (*sqlite.Store)(nil)

// A PING without request_id cannot be recorded, so an approval of it that
// carries limits is not signed either.
func TestUnrecordableApprovalWithLimitsFailsClosed(t *testing.T) {
	st := openSQLite(t)
	dec := &countingDecider{limits: []policy.LimitUse{{Limit: "odd", Key: `["x"]`, Window: 3600e9, MaxCount: 5}}}
	ts := newTestServer(t, func(c *Config) { c.Store = st; c.Decider = dec })
	_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, map[string]any{"request_type": 0})))
	if resp.Approves() || resp.Status != protocol.StatusInternalError {
		t.Fatalf("reply %+v", resp)
	}
}

// A transaction id reused for other bytes is a new transaction for limits:
// only the same id with the same msg_hash_list counts once.
func TestReusedTransactionIDStillCounts(t *testing.T) {
	st := openSQLite(t)
	max := decimal.MustParse("0.00025")
	dec := &countingDecider{limits: []policy.LimitUse{{Limit: "eth-daily", Key: `["w"]`, Window: 24 * 3600e9, Amount: decimal.MustParse("0.0001"), MaxAmount: &max}}}
	ts := newTestServer(t, func(c *Config) { c.Store = st; c.Decider = dec })
	var approved int
	for i := range 4 {
		req := sampleRequest(t, protocol.V2, protocol.TypeKeySign, "r-"+string(rune('a'+i)))
		// Same transaction_id every time, different hash each time.
		req.RequestDetail = strings.Replace(req.RequestDetail, "0x1acf", "0x"+string(rune('a'+i))+"acf", 1)
		_, resp := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req)))
		if resp.Approves() {
			approved++
		}
	}
	if approved != 2 {
		t.Fatalf("approved %d, want 2: a reused transaction id must not skip the limit", approved)
	}
}

// A recorded approval is re-signed for a retry only while it is recent.
func TestOldApprovalIsNotReplayed(t *testing.T) {
	st := openSQLite(t)
	dec := &countingDecider{}
	clock := newFakeClock(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
	dec.changeMind = true
	ts := newTestServer(t, func(c *Config) {
		c.Store = st
		c.Decider = dec
		c.ReplayMaxAge = 200 * time.Millisecond
		c.Now = clock.Now
	})
	req := sampleRequest(t, protocol.V2, protocol.TypeKeySign, "k-old")
	if _, r := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req))); !r.Approves() {
		t.Fatalf("first: %+v", r)
	}
	if _, r := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req))); !r.Approves() {
		t.Fatalf("prompt retry: %+v", r)
	}
	clock.Advance(300 * time.Millisecond)
	_, r := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req)))
	if r.Approves() || !strings.Contains(r.Error, "approved") || !strings.Contains(r.Error, "ago") {
		t.Fatalf("late retry: %+v (decider ran %d times)", r, dec.calls.Load())
	}
}

// unknownOutcomeStore commits for real, then reports the outcome unknown,
// as the PostgreSQL store does when the connection broke after COMMIT and
// reading the row back failed too.
type unknownOutcomeStore struct {
	*sqlite.Store
	once atomic.Bool
}

func (s *unknownOutcomeStore) Commit(ctx context.Context, rec store.Record, uses []store.LimitUse) (*store.Record, bool, error) {
	stored, existed, err := s.Store.Commit(ctx, rec, uses)
	if err == nil && !s.once.Swap(true) {
		return nil, false, fmt.Errorf("postgres: committing decision: %w: connection lost", store.ErrOutcomeUnknown)
	}
	return stored, existed, err
}

// An unknown commit outcome is answered with status 30 and logged as what
// it is (the row may exist); the node's retry is then answered from the
// record, by idempotency.
func TestCommitOutcomeUnknown(t *testing.T) {
	st := &unknownOutcomeStore{Store: openSQLite(t)}
	dec := &countingDecider{changeMind: true}
	ts := newTestServer(t, func(c *Config) { c.Store = st; c.Decider = dec })
	req := sampleRequest(t, protocol.V2, protocol.TypeKeySign, "k-unknown")

	_, first := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req)))
	if first.Approves() || first.Status != protocol.StatusInternalError || !strings.Contains(first.Error, "outcome unknown") {
		t.Fatalf("reply with an unknown commit outcome: %+v", first)
	}
	if !strings.Contains(ts.logs.String(), "decision commit outcome unknown") {
		t.Errorf("no distinct log line for the unknown outcome; logs:\n%s", ts.logs.String())
	}
	_, retry := post(t, ts.URL+"/v2/check", form, formBody(goodToken(t, req)))
	if !retry.Approves() {
		t.Fatalf("retry answered %+v after %d evaluations; want the recorded APPROVE", retry, dec.calls.Load())
	}
}

// fakeClock is an injectable clock that moves only when told, so that a
// test of time-dependent behaviour never sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(at time.Time) *fakeClock { return &fakeClock{now: at} }

// Now reads the clock.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
