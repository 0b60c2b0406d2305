// Package storetest is the conformance suite every store.Store
// implementation must pass, in the manner of testing/fstest.TestFS: the
// SQLite and PostgreSQL tests call Run with a function that opens a fresh,
// empty store, so both implementations are held to one contract.
//
// The suite assumes each store it opens is empty and private to the calling
// subtest, that the implementation's test wrapper implements Tamperer (the
// chain tests damage rows with raw SQL, as an attacker with database access
// would) and BulkLoader (the large-window tests fill one key's window with
// 10^5 entries, which Commit would take minutes to write), and that the
// decision table is called decisions with the column names of the
// migrations. It is for tests only.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
)

// Tamperer runs one raw SQL statement, without arguments, against the
// store's database. Implementations provide it from their _test.go files
// only, so no production binary carries it.
type Tamperer interface {
	Tamper(ctx context.Context, query string) error
}

// Run runs the conformance suite. open must return a fresh, empty store
// for each call and arrange (with t.Cleanup) for it to be closed and
// removed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Invalid", testInvalid},
		{"IdempotentRetry", testIdempotentRetry},
		{"ConcurrentRetry", testConcurrentRetry},
		{"Conflict", testConflict},
		{"CanceledContext", testCanceledContext},
		{"Limits", testLimits},
		{"LimitExactDecimals", testLimitExactDecimals},
		{"LimitLargeWindow", testLimitLargeWindow},
		{"LimitWindowEdges", testLimitWindowEdges},
		{"LimitLateEntry", testLimitLateEntry},
		{"LimitHugeTotals", testLimitHugeTotals},
		{"LimitConcurrency", testLimitConcurrency},
		{"ChainVerify", testChainVerify},
		{"ChainTamper", testChainTamper},
		{"List", testList},
		{"LimitUsage", testLimitUsage},
		{"Probe", testProbe},
		{"ProbeConcurrentWithCommits", testProbeConcurrent},
		{"OutpointClaims", testOutpointClaims},
		{"OutpointClaimsConcurrent", testOutpointClaimsConcurrent},
		{"Governance", testGovernance},
		{"GovernanceConcurrent", testGovernanceConcurrent},
	}
	tests = append(tests, freezeCases...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

// Base is the ReceivedAt of the suite's first records: not UTC and with
// nanoseconds, so that the store's normalization is exercised.
var Base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+5:30", 5*3600+1800))

// NewRecord returns a valid APPROVE with every field set, the given
// request_id, and a request whose content depends on the id.
func NewRecord(id string) store.Record {
	return store.Record{
		RequestID:     id,
		Version:       "v2",
		Type:          "KEYSIGN",
		NodeKey:       "node-a",
		ReceivedAt:    Base,
		Request:       []byte(fmt.Sprintf(`{"request_id":%q,"request_type":2,"extra":{"amount":"1.5"}}`, id)),
		TxKey:         "tx-" + id,
		Action:        store.ActionApprove,
		Status:        0,
		Rule:          "allow-small",
		Reason:        "matched rule allow-small",
		Shadow:        []byte(`[{"rule":"shadow-1","action":"REJECT"}]`),
		PolicyVersion: "sha256:0123abcd",
		LatencyMicros: 321,
	}
}

// Commit commits rec and fails the test on error.
func Commit(t testing.TB, s store.Store, rec store.Record, uses ...store.LimitUse) *store.Record {
	t.Helper()
	got, existed, err := s.Commit(context.Background(), rec, uses)
	if err != nil {
		t.Fatalf("Commit(%q): %v", rec.RequestID, err)
	}
	if existed {
		t.Fatalf("Commit(%q): existed = true for a new request_id", rec.RequestID)
	}
	return got
}

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

func decPtr(s string) *decimal.Decimal {
	d := dec(s)
	return &d
}

// diffRecords lists the fields in which got differs from want, comparing
// times with Equal and requiring UTC.
func diffRecords(got, want *store.Record) []string {
	var d []string
	gv, wv := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := 0; i < gv.NumField(); i++ {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if gt, ok := g.(time.Time); ok {
			wt := w.(time.Time)
			if !gt.Equal(wt) || gt.Location() != time.UTC {
				d = append(d, fmt.Sprintf("%s: got %s, want %s (UTC)", name, gt, wt))
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			d = append(d, fmt.Sprintf("%s: got %#v, want %#v", name, g, w))
		}
	}
	return d
}

func checkRecord(t *testing.T, what string, got, want *store.Record) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil record", what)
	}
	if d := diffRecords(got, want); len(d) > 0 {
		t.Errorf("%s mismatch:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// count returns the number of records List sees.
func count(t *testing.T, s store.Store) int {
	t.Helper()
	n := 0
	if err := s.List(context.Background(), store.Filter{}, func(*store.Record) error { n++; return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	return n
}

func verify(t *testing.T, s store.Store) *store.VerifyReport {
	t.Helper()
	rep, err := s.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func usage(t *testing.T, s store.Store, now time.Time, windows map[string]time.Duration) []store.Usage {
	t.Helper()
	u, err := s.LimitUsage(context.Background(), now, windows)
	if err != nil {
		t.Fatalf("LimitUsage: %v", err)
	}
	return u
}

func testRoundTrip(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()

	in := NewRecord("req-1")
	in.Seq, in.PrevHash, in.Hash = 99, "forged", "forged" // the store assigns these
	got := Commit(t, s, in)

	want := NewRecord("req-1")
	want.Seq = 1
	want.ReceivedAt = Base.UTC().Truncate(time.Microsecond)
	want.RequestHash = store.RequestHashOf(want.Request)
	want.PrevHash = ""
	want.Hash = chain.Hash(&want)
	checkRecord(t, "Commit result", got, &want)
	if want.ReceivedAt.Nanosecond()%1000 != 0 || want.ReceivedAt.Equal(Base) {
		t.Fatalf("test setup: Base must carry sub-microsecond digits")
	}

	fetched, err := s.Get(ctx, "req-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkRecord(t, "Get result", fetched, &want)

	// The second row links to the first; a nil and an empty shadow are both
	// stored as nil; a REJECT with a non-zero status round-trips.
	second := NewRecord("req-2")
	second.Shadow = []byte{}
	second.Action, second.Status, second.Rule, second.Reason = store.ActionReject, 10, "", "invalid request: bad detail"
	second.ReceivedAt = Base.Add(time.Second)
	second.RequestHash = store.RequestHashOf(second.Request)
	got2 := Commit(t, s, second)
	want2 := second
	want2.Seq, want2.PrevHash, want2.Shadow = 2, want.Hash, nil
	want2.ReceivedAt = chain.NormalizeTime(second.ReceivedAt)
	want2.Hash = chain.Hash(&want2)
	checkRecord(t, "second Commit result", got2, &want2)
	fetched2, err := s.Get(ctx, "req-2")
	if err != nil {
		t.Fatalf("Get(req-2): %v", err)
	}
	checkRecord(t, "second Get result", fetched2, &want2)

	// Text outside ASCII round-trips byte for byte.
	third := NewRecord("req-3 ünïcødé ✓")
	third.Reason = "дозволено — 許可"
	got3 := Commit(t, s, third)
	fetched3, err := s.Get(ctx, third.RequestID)
	if err != nil {
		t.Fatalf("Get(req-3): %v", err)
	}
	checkRecord(t, "unicode Get result", fetched3, got3)

	if _, err := s.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
}

func testInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	okUse := store.LimitUse{Limit: "l", Key: "k", Window: time.Hour, Amount: dec("1"), MaxAmount: decPtr("10")}
	tests := []struct {
		name string
		edit func(r *store.Record)
		uses []store.LimitUse
	}{
		{name: "empty request_id", edit: func(r *store.Record) { r.RequestID = "" }},
		{name: "unknown action", edit: func(r *store.Record) { r.Action = "WAIT" }},
		{name: "lower-case action", edit: func(r *store.Record) { r.Action = "approve" }},
		{name: "approve with non-zero status", edit: func(r *store.Record) { r.Status = 30 }},
		{name: "zero received_at", edit: func(r *store.Record) { r.ReceivedAt = time.Time{} }},
		{name: "empty request", edit: func(r *store.Record) { r.Request = nil }},
		{name: "request not JSON", edit: func(r *store.Record) { r.Request = []byte(`{"a":`) }},
		{name: "shadow not JSON", edit: func(r *store.Record) { r.Shadow = []byte(`[`) }},
		{name: "wrong request_hash", edit: func(r *store.Record) { r.RequestHash = store.RequestHashOf([]byte(`{}`)) }},
		{name: "upper-case request_hash", edit: func(r *store.Record) { r.RequestHash = strings.ToUpper(store.RequestHashOf(r.Request)) }},
		{name: "NUL in reason", edit: func(r *store.Record) { r.Reason = "a\x00b" }},
		{name: "invalid UTF-8 in request_id", edit: func(r *store.Record) { r.RequestID = "a\xffb" }},
		{name: "negative latency", edit: func(r *store.Record) { r.LatencyMicros = -1 }},
		{name: "use without name", uses: []store.LimitUse{{Key: "k", Window: time.Hour, Amount: dec("1")}}},
		{name: "use twice", uses: []store.LimitUse{okUse, okUse}},
		{name: "zero window", uses: []store.LimitUse{{Limit: "l", Window: 0, Amount: dec("1")}}},
		{name: "negative amount", uses: []store.LimitUse{{Limit: "l", Window: time.Hour, Amount: dec("-1")}}},
		{name: "negative max_amount", uses: []store.LimitUse{{Limit: "l", Window: time.Hour, Amount: dec("1"), MaxAmount: decPtr("-5")}}},
		{name: "negative max_count", uses: []store.LimitUse{{Limit: "l", Window: time.Hour, Amount: dec("1"), MaxCount: -1}}},
		{name: "amount too long to record", uses: []store.LimitUse{{Limit: "l", Window: time.Hour, Amount: decimal.FromBaseUnits(big.NewInt(1), 200)}}},
		{name: "NUL in limit key", uses: []store.LimitUse{{Limit: "l", Key: "a\x00", Window: time.Hour, Amount: dec("1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := NewRecord("invalid")
			if tt.edit != nil {
				tt.edit(&rec)
			}
			got, _, err := s.Commit(context.Background(), rec, tt.uses)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Commit error = %v, want ErrInvalid", err)
			}
			if got != nil {
				t.Errorf("Commit returned a record with an error: %+v", got)
			}
		})
	}
	if n := count(t, s); n != 0 {
		t.Errorf("after invalid commits: %d rows, want 0", n)
	}
	// A REJECT is recorded even when the caller passes nonsense uses: they
	// are ignored for a REJECT, and a REJECT must always be recordable.
	rej := NewRecord("reject-with-bad-uses")
	rej.Action = store.ActionReject
	got := Commit(t, s, rej, store.LimitUse{})
	if got.Action != store.ActionReject || got.Seq != 1 {
		t.Errorf("REJECT with bad uses: got action %s seq %d", got.Action, got.Seq)
	}
}

// limitUse is the suite's standard limit: 100 per 24h.
func limitUse(amount string) store.LimitUse {
	return store.LimitUse{Limit: "eth-daily", Key: "wallet-1|ETH", Window: 24 * time.Hour, Amount: dec(amount), MaxAmount: decPtr("100"), MaxCount: 50}
}

var dailyWindows = map[string]time.Duration{"eth-daily": 24 * time.Hour}

func testIdempotentRetry(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	first := Commit(t, s, NewRecord("req-1"), limitUse("60"))
	if first.Action != store.ActionApprove {
		t.Fatalf("first commit: action %s (%s), want APPROVE", first.Action, first.Reason)
	}

	// A retry with the same request: even if the caller's fresh evaluation
	// differs (a policy reload), the recorded decision is the answer.
	retry := NewRecord("req-1")
	retry.ReceivedAt = Base.Add(time.Minute)
	retry.Action, retry.Rule, retry.Reason = store.ActionReject, "new-rule", "policy changed"
	retry.LatencyMicros = 9
	got, existed, err := s.Commit(ctx, retry, []store.LimitUse{limitUse("60")})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !existed {
		t.Errorf("retry: existed = false, want true")
	}
	checkRecord(t, "retry result", got, first)

	if n := count(t, s); n != 1 {
		t.Errorf("rows after retry = %d, want 1", n)
	}
	u := usage(t, s, Base, dailyWindows)
	if len(u) != 1 || u[0].Count != 1 || u[0].Amount.Cmp(dec("60")) != 0 {
		t.Errorf("usage after retry = %+v, want one entry of 60 counted once", u)
	}
	// 40 more fits (60 + 40 = 100) only if the retry was not counted again.
	got = Commit(t, s, NewRecord("req-2"), limitUse("40"))
	if got.Action != store.ActionApprove {
		t.Errorf("40 more after a counted-once retry: action %s (%s), want APPROVE", got.Action, got.Reason)
	}
}

func testConcurrentRetry(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	const n = 20
	var wg sync.WaitGroup
	results := make([]*store.Record, n)
	existed := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], existed[i], errs[i] = s.Commit(context.Background(), NewRecord("same"), []store.LimitUse{limitUse("10")})
		})
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if !existed[i] {
			fresh++
		}
		checkRecord(t, fmt.Sprintf("goroutine %d result", i), results[i], results[0])
	}
	if fresh != 1 {
		t.Errorf("%d commits reported a new record, want exactly 1", fresh)
	}
	u := usage(t, s, Base, dailyWindows)
	if len(u) != 1 || u[0].Count != 1 {
		t.Errorf("usage = %+v, want counted once", u)
	}
}

func testConflict(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	first := Commit(t, s, NewRecord("req-1"), limitUse("10"))

	other := NewRecord("req-1")
	other.Request = []byte(`{"request_id":"req-1","request_type":2,"extra":{"amount":"999"}}`)
	got, existed, err := s.Commit(ctx, other, []store.LimitUse{limitUse("10")})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Commit with other content: error = %v, want ErrConflict", err)
	}
	if got != nil || existed {
		t.Errorf("conflict returned record %v, existed %v; want nil, false", got, existed)
	}
	if !strings.Contains(err.Error(), "req-1") {
		t.Errorf("conflict error %q does not name the request_id", err)
	}
	if n := count(t, s); n != 1 {
		t.Errorf("rows after conflict = %d, want 1", n)
	}
	stored, err := s.Get(ctx, "req-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkRecord(t, "record after conflict", stored, first)
	u := usage(t, s, Base, dailyWindows)
	if len(u) != 1 || u[0].Count != 1 || u[0].Amount.Cmp(dec("10")) != 0 {
		t.Errorf("usage after conflict = %+v, want only the first 10", u)
	}
}

func testCanceledContext(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, _, err := s.Commit(ctx, NewRecord("req-1"), []store.LimitUse{limitUse("1")})
	if err == nil {
		t.Fatalf("Commit with a canceled context succeeded: %+v", got)
	}
	if got != nil {
		t.Errorf("Commit returned a record with an error")
	}
	if _, err := s.Get(context.Background(), "req-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a failed commit, Get error = %v, want ErrNotFound", err)
	}
}

// testProbe: a write probe succeeds on a healthy store, again and again,
// and leaves the decision log, its chain and the ledger alone; it fails
// with a context that is already done.
func testProbe(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		wantErr bool
	}{
		{"fresh store", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 5*time.Second) }, false},
		{"again", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 5*time.Second) }, false},
		{"no deadline", func() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }, false},
		{"canceled", func() (context.Context, context.CancelFunc) {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return c, cancel
		}, true},
		{"deadline passed", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(ctx, time.Now().Add(-time.Second))
		}, true},
	}
	first := Commit(t, s, NewRecord("before-probes"), limitUse("1"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cancel := tt.ctx()
			defer cancel()
			err := s.Probe(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Probe error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
	if n := count(t, s); n != 1 {
		t.Errorf("%d decisions after probing, want 1", n)
	}
	second := Commit(t, s, NewRecord("after-probes"), limitUse("1"))
	if second.Seq != 2 || second.PrevHash != first.Hash {
		t.Errorf("commit after probes: seq %d prev %s, want 2 %s", second.Seq, second.PrevHash, first.Hash)
	}
	if rep, err := s.Verify(ctx); err != nil || rep.Break != nil || rep.Rows != 2 {
		t.Errorf("Verify after probes = %+v, %v; want 2 intact rows", rep, err)
	}
	u, err := s.LimitUsage(ctx, Base.Add(time.Minute), dailyWindows)
	if err != nil || len(u) != 1 || u[0].Count != 2 {
		t.Errorf("LimitUsage after probes = %+v, %v; want one key counting 2", u, err)
	}
}

// testProbeConcurrent: probes racing commits neither fail nor disturb
// them: they queue on the same write lock.
func testProbeConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			rec := NewRecord(fmt.Sprintf("c-%d", i))
			if _, _, err := s.Commit(context.Background(), rec, nil); err != nil {
				errs <- fmt.Errorf("commit: %w", err)
			}
		})
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Probe(ctx); err != nil {
				errs <- fmt.Errorf("probe: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if rep, err := s.Verify(context.Background()); err != nil || rep.Break != nil || rep.Rows != 20 {
		t.Errorf("Verify = %+v, %v; want 20 intact rows", rep, err)
	}
}

// step is one commit in a limit scenario.
type step struct {
	id       string
	at       time.Duration // after Base
	txKey    string        // "" means "tx-"+id
	noTxKey  bool
	action   string // the caller's action; "" means APPROVE
	uses     []store.LimitUse
	want     string // APPROVE or REJECT
	wantRule string // for a REJECT by a limit
	reason   string // exact REJECT reason, when not ""
}

func testLimits(t *testing.T, open func(t *testing.T) store.Store) {
	day := 24 * time.Hour
	amountOnly := func(key, amount string) store.LimitUse {
		return store.LimitUse{Limit: "daily", Key: key, Window: day, Amount: dec(amount), MaxAmount: decPtr("100")}
	}
	countOnly := func(amount string) store.LimitUse {
		return store.LimitUse{Limit: "hourly-count", Key: "w", Window: time.Hour, Amount: dec(amount), MaxCount: 2}
	}
	tests := []struct {
		name      string
		steps     []step
		usageAt   time.Duration
		windows   map[string]time.Duration
		wantUsage []store.Usage
	}{
		{
			name: "amount cap reached exactly, then exceeded",
			steps: []step{
				{id: "a", uses: []store.LimitUse{amountOnly("w", "60")}, want: "APPROVE"},
				{id: "b", at: time.Minute, uses: []store.LimitUse{amountOnly("w", "40")}, want: "APPROVE"},
				{id: "c", at: 2 * time.Minute, uses: []store.LimitUse{amountOnly("w", "0.01")}, want: "REJECT", wantRule: "daily",
					reason: `limit "daily" exceeded: window 24h, used 100 of 100 (this request 0.01)`},
			},
			usageAt: 3 * time.Minute,
			windows: map[string]time.Duration{"daily": day},
			wantUsage: []store.Usage{{Limit: "daily", Key: "w", Amount: dec("100"), Count: 2,
				Oldest: chain.NormalizeTime(Base)}},
		},
		{
			name: "single request over the cap",
			steps: []step{
				{id: "a", uses: []store.LimitUse{amountOnly("w", "100.0000001")}, want: "REJECT", wantRule: "daily",
					reason: `limit "daily" exceeded: window 24h, used 0 of 100 (this request 100.0000001)`},
			},
			windows: map[string]time.Duration{"daily": day},
		},
		{
			name: "count cap",
			steps: []step{
				{id: "a", uses: []store.LimitUse{countOnly("5")}, want: "APPROVE"},
				{id: "b", at: time.Second, uses: []store.LimitUse{countOnly("5")}, want: "APPROVE"},
				{id: "c", at: 2 * time.Second, uses: []store.LimitUse{countOnly("0")}, want: "REJECT", wantRule: "hourly-count",
					reason: `limit "hourly-count" exceeded: window 1h, used 2 of 2 transactions (this request 1)`},
			},
			usageAt: 3 * time.Second,
			windows: map[string]time.Duration{"hourly-count": time.Hour},
			wantUsage: []store.Usage{{Limit: "hourly-count", Key: "w", Amount: dec("10"), Count: 2,
				Oldest: chain.NormalizeTime(Base)}},
		},
		{
			name: "window expiry is exclusive at exactly one window",
			steps: []step{
				{id: "a", uses: []store.LimitUse{amountOnly("w", "100")}, want: "APPROVE"},
				{id: "b", at: day - time.Microsecond, uses: []store.LimitUse{amountOnly("w", "1")}, want: "REJECT", wantRule: "daily",
					reason: `limit "daily" exceeded: window 24h, used 100 of 100 (this request 1)`},
				{id: "c", at: day, uses: []store.LimitUse{amountOnly("w", "100")}, want: "APPROVE"},
			},
			usageAt: day,
			windows: map[string]time.Duration{"daily": day},
			wantUsage: []store.Usage{{Limit: "daily", Key: "w", Amount: dec("100"), Count: 1,
				Oldest: chain.NormalizeTime(Base.Add(day))}},
		},
		{
			name: "a transaction counts once across request_ids",
			steps: []step{
				{id: "a", txKey: "tx-1", uses: []store.LimitUse{amountOnly("w", "60")}, want: "APPROVE"},
				// Another node of the group, or a retry under a new request_id.
				{id: "b", at: time.Second, txKey: "tx-1", uses: []store.LimitUse{amountOnly("w", "60")}, want: "APPROVE"},
				{id: "c", at: 2 * time.Second, txKey: "tx-1", uses: []store.LimitUse{amountOnly("w", "60")}, want: "APPROVE"},
				{id: "d", at: 3 * time.Second, txKey: "tx-2", uses: []store.LimitUse{amountOnly("w", "60")}, want: "REJECT", wantRule: "daily",
					reason: `limit "daily" exceeded: window 24h, used 60 of 100 (this request 60)`},
			},
			usageAt: 4 * time.Second,
			windows: map[string]time.Duration{"daily": day},
			wantUsage: []store.Usage{{Limit: "daily", Key: "w", Amount: dec("60"), Count: 1,
				Oldest: chain.NormalizeTime(Base)}},
		},
		{
			name: "an already-counted transaction passes even when the window is full",
			steps: []step{
				{id: "a", txKey: "tx-1", uses: []store.LimitUse{amountOnly("w", "50")}, want: "APPROVE"},
				{id: "b", at: time.Second, txKey: "tx-2", uses: []store.LimitUse{amountOnly("w", "50")}, want: "APPROVE"},
				{id: "c", at: 2 * time.Second, txKey: "tx-1", uses: []store.LimitUse{amountOnly("w", "50")}, want: "APPROVE"},
			},
			usageAt: 3 * time.Second,
			windows: map[string]time.Duration{"daily": day},
			wantUsage: []store.Usage{{Limit: "daily", Key: "w", Amount: dec("100"), Count: 2,
				Oldest: chain.NormalizeTime(Base)}},
		},
		{
			name: "requests without a transaction key each count",
			steps: []step{
				{id: "a", noTxKey: true, uses: []store.LimitUse{countOnly("1")}, want: "APPROVE"},
				{id: "b", noTxKey: true, uses: []store.LimitUse{countOnly("1")}, want: "APPROVE"},
				{id: "c", noTxKey: true, uses: []store.LimitUse{countOnly("1")}, want: "REJECT", wantRule: "hourly-count"},
			},
			windows: map[string]time.Duration{"hourly-count": time.Hour},
			wantUsage: []store.Usage{{Limit: "hourly-count", Key: "w", Amount: dec("2"), Count: 2,
				Oldest: chain.NormalizeTime(Base)}},
		},
		{
			name: "keys are separate running totals",
			steps: []step{
				{id: "a", uses: []store.LimitUse{amountOnly("w1", "100")}, want: "APPROVE"},
				{id: "b", uses: []store.LimitUse{amountOnly("w2", "100")}, want: "APPROVE"},
				{id: "c", uses: []store.LimitUse{amountOnly("w1", "1")}, want: "REJECT", wantRule: "daily"},
			},
			windows: map[string]time.Duration{"daily": day},
			wantUsage: []store.Usage{
				{Limit: "daily", Key: "w1", Amount: dec("100"), Count: 1, Oldest: chain.NormalizeTime(Base)},
				{Limit: "daily", Key: "w2", Amount: dec("100"), Count: 1, Oldest: chain.NormalizeTime(Base)},
			},
		},
		{
			name: "one exceeded limit rejects and writes no ledger entry for any",
			steps: []step{
				{id: "a", uses: []store.LimitUse{countOnly("1"), amountOnly("w", "90")}, want: "APPROVE"},
				{id: "b", uses: []store.LimitUse{countOnly("1"), amountOnly("w", "20")}, want: "REJECT", wantRule: "daily",
					reason: `limit "daily" exceeded: window 24h, used 90 of 100 (this request 20)`},
				{id: "c", uses: []store.LimitUse{countOnly("1"), amountOnly("w", "10")}, want: "APPROVE"},
			},
			windows: map[string]time.Duration{"daily": day, "hourly-count": time.Hour},
			wantUsage: []store.Usage{
				{Limit: "daily", Key: "w", Amount: dec("100"), Count: 2, Oldest: chain.NormalizeTime(Base)},
				{Limit: "hourly-count", Key: "w", Amount: dec("2"), Count: 2, Oldest: chain.NormalizeTime(Base)},
			},
		},
		{
			name: "the first exceeded limit in order names the REJECT",
			steps: []step{
				{id: "a", uses: []store.LimitUse{amountOnly("w", "100"), countOnly("1")}, want: "APPROVE"},
				{id: "b", uses: []store.LimitUse{countOnly("1")}, want: "APPROVE"},
				{id: "c", uses: []store.LimitUse{countOnly("1"), amountOnly("w", "1")}, want: "REJECT", wantRule: "hourly-count"},
				{id: "d", uses: []store.LimitUse{amountOnly("w", "1"), countOnly("1")}, want: "REJECT", wantRule: "daily"},
			},
			windows: map[string]time.Duration{"daily": day, "hourly-count": time.Hour},
			wantUsage: []store.Usage{
				{Limit: "daily", Key: "w", Amount: dec("100"), Count: 1, Oldest: chain.NormalizeTime(Base)},
				{Limit: "hourly-count", Key: "w", Amount: dec("2"), Count: 2, Oldest: chain.NormalizeTime(Base)},
			},
		},
		{
			name: "a REJECT consumes nothing",
			steps: []step{
				{id: "a", action: "REJECT", uses: []store.LimitUse{amountOnly("w", "100")}, want: "REJECT", wantRule: "allow-small"},
				{id: "b", uses: []store.LimitUse{amountOnly("w", "100")}, want: "APPROVE"},
			},
			windows: map[string]time.Duration{"daily": day},
			wantUsage: []store.Usage{
				{Limit: "daily", Key: "w", Amount: dec("100"), Count: 1, Oldest: chain.NormalizeTime(Base)},
			},
		},
		{
			name: "no caps: approved and counted",
			steps: []step{
				{id: "a", uses: []store.LimitUse{{Limit: "watch", Key: "k", Window: day, Amount: dec("1")}}, want: "APPROVE"},
			},
			windows: map[string]time.Duration{"watch": day},
			wantUsage: []store.Usage{
				{Limit: "watch", Key: "k", Amount: dec("1"), Count: 1, Oldest: chain.NormalizeTime(Base)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			for _, st := range tt.steps {
				rec := NewRecord(st.id)
				rec.ReceivedAt = Base.Add(st.at)
				switch {
				case st.noTxKey:
					rec.TxKey = ""
				case st.txKey != "":
					rec.TxKey = st.txKey
				}
				if st.action != "" {
					rec.Action = st.action
				}
				got := Commit(t, s, rec, st.uses...)
				if got.Action != st.want {
					t.Fatalf("step %s: action %s (rule %q, reason %q), want %s", st.id, got.Action, got.Rule, got.Reason, st.want)
				}
				if st.want == store.ActionReject && st.wantRule != "" && got.Rule != st.wantRule {
					t.Errorf("step %s: rule %q, want %q", st.id, got.Rule, st.wantRule)
				}
				if st.reason != "" && got.Reason != st.reason {
					t.Errorf("step %s: reason\n  got  %q\n  want %q", st.id, got.Reason, st.reason)
				}
				if st.want == store.ActionApprove && (got.Rule != rec.Rule || got.Reason != rec.Reason) {
					t.Errorf("step %s: APPROVE changed rule/reason to %q/%q", st.id, got.Rule, got.Reason)
				}
				stored, err := s.Get(context.Background(), st.id)
				if err != nil {
					t.Fatalf("Get(%s): %v", st.id, err)
				}
				checkRecord(t, "stored "+st.id, stored, got)
			}
			checkUsage(t, usage(t, s, Base.Add(tt.usageAt), tt.windows), tt.wantUsage)
			if rep := verify(t, s); rep.Break != nil || rep.Rows != int64(len(tt.steps)) {
				t.Errorf("Verify = %+v (break %+v), want %d intact rows", rep, rep.Break, len(tt.steps))
			}
		})
	}
}

func checkUsage(t *testing.T, got, want []store.Usage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("usage: got %d entries %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Limit != w.Limit || g.Key != w.Key || g.Count != w.Count || g.Amount.Cmp(w.Amount) != 0 ||
			!g.Oldest.Equal(w.Oldest) || g.Oldest.Location() != time.UTC {
			t.Errorf("usage[%d] = {%s %s %s %d %s}, want {%s %s %s %d %s}", i,
				g.Limit, g.Key, g.Amount, g.Count, g.Oldest, w.Limit, w.Key, w.Amount, w.Count, w.Oldest)
		}
	}
}

func testLimitExactDecimals(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	use := func(amount string) store.LimitUse {
		return store.LimitUse{Limit: "tiny", Key: "k", Window: time.Hour, Amount: dec(amount), MaxAmount: decPtr("1")}
	}
	// In float64, 0.1 added ten times is 0.9999999999999999: one more tiny
	// amount would then fit. Exact arithmetic says 1, and rejects it.
	for i := range 10 {
		got := Commit(t, s, NewRecord(fmt.Sprintf("r%d", i)), use("0.1"))
		if got.Action != store.ActionApprove {
			t.Fatalf("0.1 #%d: %s (%s)", i+1, got.Action, got.Reason)
		}
	}
	got := Commit(t, s, NewRecord("r10"), use("0.000000000000000001"))
	if got.Action != store.ActionReject {
		t.Fatalf("1e-18 after 10 x 0.1 = 1: action %s, want REJECT", got.Action)
	}
	want := `limit "tiny" exceeded: window 1h, used 1 of 1 (this request 0.000000000000000001)`
	if got.Reason != want {
		t.Errorf("reason\n  got  %q\n  want %q", got.Reason, want)
	}
	u := usage(t, s, Base, map[string]time.Duration{"tiny": time.Hour})
	checkUsage(t, u, []store.Usage{{Limit: "tiny", Key: "k", Amount: dec("1"), Count: 10, Oldest: chain.NormalizeTime(Base)}})
	if u[0].Amount.String() != "1" {
		t.Errorf("usage amount spelled %q, want %q", u[0].Amount.String(), "1")
	}

	// Amounts beyond float64 and int64 precision (a uint256 in wei) stay exact.
	big := "115792089237316195423570985008687907853269984665640564039457584007913129639935"
	bigUse := store.LimitUse{Limit: "wei", Key: "k", Window: time.Hour, Amount: dec(big), MaxAmount: decPtr(big)}
	if got := Commit(t, s, NewRecord("w1"), bigUse); got.Action != store.ActionApprove {
		t.Fatalf("uint256 max at a uint256 cap: %s (%s)", got.Action, got.Reason)
	}
	bigUse.Amount = dec("1")
	if got := Commit(t, s, NewRecord("w2"), bigUse); got.Action != store.ActionReject {
		t.Fatalf("1 wei over the uint256 cap: %s, want REJECT", got.Action)
	}
	u = usage(t, s, Base, map[string]time.Duration{"wei": time.Hour})
	if len(u) != 1 || u[0].Amount.String() != big {
		t.Errorf("uint256 usage = %+v, want %s", u, big)
	}
}

// RaceLimit runs the concurrency scenario of the issue against each store
// in stores (one or several handles on one database) and fails unless
// exactly 10 of 50 racing approvals, each worth 10% of the remaining
// headroom, stay APPROVE. Commits are spread round-robin over the stores.
func RaceLimit(t *testing.T, stores ...store.Store) {
	t.Helper()
	use := func(amount string) store.LimitUse {
		return store.LimitUse{Limit: "race", Key: "k", Window: time.Hour, Amount: dec(amount), MaxAmount: decPtr("100")}
	}
	// 40 of 100 already used: 60 of headroom, 6 per request.
	if got := Commit(t, stores[0], NewRecord("prefill"), use("40")); got.Action != store.ActionApprove {
		t.Fatalf("prefill: %s (%s)", got.Action, got.Reason)
	}
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	approved, rejected := 0, 0
	var errs []error
	for i := range n {
		s := stores[i%len(stores)]
		wg.Go(func() {
			got, _, err := s.Commit(context.Background(), NewRecord(fmt.Sprintf("racer-%02d", i)), []store.LimitUse{use("6")})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case got.Action == store.ActionApprove:
				approved++
			default:
				rejected++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d commits failed, first: %v", len(errs), errs[0])
	}
	if approved != 10 || rejected != 40 {
		t.Errorf("approved %d, rejected %d; want exactly 10 and 40", approved, rejected)
	}
	u := usage(t, stores[0], Base, map[string]time.Duration{"race": time.Hour})
	checkUsage(t, u, []store.Usage{{Limit: "race", Key: "k", Amount: dec("100"), Count: 11, Oldest: chain.NormalizeTime(Base)}})
	if rep := verify(t, stores[0]); rep.Break != nil || rep.Rows != n+1 {
		t.Errorf("Verify after the race = rows %d, break %+v; want %d intact rows", rep.Rows, rep.Break, n+1)
	}
}

func testLimitConcurrency(t *testing.T, open func(t *testing.T) store.Store) {
	RaceLimit(t, open(t))
}

func testChainVerify(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	rep := verify(t, s)
	if rep.Rows != 0 || rep.Break != nil || rep.Head != "" {
		t.Errorf("empty log: Verify = %+v, want 0 rows, no break, no head", rep)
	}
	var last *store.Record
	for i := range 5 {
		last = Commit(t, s, NewRecord(fmt.Sprintf("r%d", i)))
	}
	rep = verify(t, s)
	if rep.Rows != 5 || rep.Break != nil || rep.Head != last.Hash {
		t.Errorf("5 rows: Verify = rows %d, break %+v, head %q; want 5, nil, %q", rep.Rows, rep.Break, rep.Head, last.Hash)
	}
}

func testChainTamper(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name    string
		query   func(rows []*store.Record) string
		seq     int64
		problem string
	}{
		{
			name:    "reason edited",
			query:   func([]*store.Record) string { return "UPDATE decisions SET reason = 'looks fine' WHERE seq = 3" },
			seq:     3,
			problem: "hash does not match",
		},
		{
			name:    "REJECT flipped to APPROVE",
			query:   func([]*store.Record) string { return "UPDATE decisions SET action = 'APPROVE' WHERE seq = 2" },
			seq:     2,
			problem: "hash does not match",
		},
		{
			name: "latency edited",
			query: func([]*store.Record) string {
				return "UPDATE decisions SET latency_micros = latency_micros + 1 WHERE seq = 5"
			},
			seq:     5,
			problem: "hash does not match",
		},
		{
			name: "row edited and its hash recomputed",
			query: func(rows []*store.Record) string {
				r := *rows[2]
				r.Reason = "rewritten"
				return fmt.Sprintf("UPDATE decisions SET reason = 'rewritten', hash = '%s' WHERE seq = 3", chain.Hash(&r))
			},
			seq:     4,
			problem: "prev_hash",
		},
		{
			name:    "row deleted",
			query:   func([]*store.Record) string { return "DELETE FROM decisions WHERE seq = 3" },
			seq:     4,
			problem: "seq 4 follows seq 2",
		},
		{
			name:    "first row deleted",
			query:   func([]*store.Record) string { return "DELETE FROM decisions WHERE seq = 1" },
			seq:     2,
			problem: "seq 2 follows seq 0",
		},
		{
			name: "request_hash replaced",
			query: func([]*store.Record) string {
				return fmt.Sprintf("UPDATE decisions SET request_hash = '%s' WHERE seq = 1", store.RequestHashOf([]byte(`{}`)))
			},
			seq:     1,
			problem: "request_hash does not match",
		},
		{
			name: "prev_hash of the first row set",
			query: func(rows []*store.Record) string {
				return fmt.Sprintf("UPDATE decisions SET prev_hash = '%s' WHERE seq = 1", rows[4].Hash)
			},
			seq:     1,
			problem: "prev_hash",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			tam, ok := s.(Tamperer)
			if !ok {
				t.Fatalf("%T does not implement storetest.Tamperer: the implementation's test must wrap its store", s)
			}
			var rows []*store.Record
			for i := range 5 {
				rec := NewRecord(fmt.Sprintf("r%d", i+1))
				if i == 1 {
					rec.Action, rec.Rule, rec.Reason = store.ActionReject, "deny-large", "amount over 10 ETH"
				}
				rows = append(rows, Commit(t, s, rec))
			}
			if err := tam.Tamper(context.Background(), tt.query(rows)); err != nil {
				t.Fatalf("Tamper: %v", err)
			}
			rep := verify(t, s)
			if rep.Break == nil {
				t.Fatalf("Verify after %s: no break found (rows %d)", tt.name, rep.Rows)
			}
			if rep.Break.Seq != tt.seq || !strings.Contains(rep.Break.Problem, tt.problem) {
				t.Errorf("Break = seq %d %q, want seq %d containing %q", rep.Break.Seq, rep.Break.Problem, tt.seq, tt.problem)
			}
			if want := fmt.Sprintf("r%d", tt.seq); rep.Break.RequestID != want {
				t.Errorf("Break.RequestID = %q, want %q", rep.Break.RequestID, want)
			}
			if rep.Head != "" {
				t.Errorf("a broken chain reported head %q", rep.Head)
			}
		})
	}
}

func testList(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	// r1..r6, one minute apart, with varied type/action/rule.
	specs := []struct{ typ, action, rule string }{
		{"PING", "APPROVE", "ping"},
		{"KEYSIGN", "APPROVE", "allow-small"},
		{"KEYSIGN", "REJECT", "deny-large"},
		{"KEYGEN", "REJECT", "default-deny"},
		{"KEYSIGN", "REJECT", "deny-large"},
		{"KEYSIGN", "APPROVE", "allow-small"},
	}
	for i, sp := range specs {
		rec := NewRecord(fmt.Sprintf("r%d", i+1))
		rec.Type, rec.Action, rec.Rule = sp.typ, sp.action, sp.rule
		rec.ReceivedAt = Base.Add(time.Duration(i) * time.Minute)
		Commit(t, s, rec)
	}
	// The stored ReceivedAt of r<i>: filters compare with stored times.
	at := func(i int) time.Time { return chain.NormalizeTime(Base.Add(time.Duration(i-1) * time.Minute)) }
	seqs := map[string]int64{}
	if err := s.List(ctx, store.Filter{}, func(r *store.Record) error { seqs[r.RequestID] = r.Seq; return nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    store.Filter
		want string
	}{
		{name: "all", f: store.Filter{}, want: "r1 r2 r3 r4 r5 r6"},
		{name: "newest first", f: store.Filter{Newest: true}, want: "r6 r5 r4 r3 r2 r1"},
		{name: "limit", f: store.Filter{Limit: 2}, want: "r1 r2"},
		{name: "newest with limit", f: store.Filter{Newest: true, Limit: 2}, want: "r6 r5"},
		{name: "since is inclusive", f: store.Filter{Since: at(4)}, want: "r4 r5 r6"},
		{name: "until is exclusive", f: store.Filter{Until: at(3)}, want: "r1 r2"},
		{name: "since and until", f: store.Filter{Since: at(2), Until: at(5)}, want: "r2 r3 r4"},
		{name: "since between microseconds", f: store.Filter{Since: at(4).Add(-500 * time.Nanosecond)}, want: "r4 r5 r6"},
		{name: "until between microseconds", f: store.Filter{Until: at(3).Add(500 * time.Nanosecond)}, want: "r1 r2 r3"},
		{name: "since in another zone", f: store.Filter{Since: at(5).In(time.FixedZone("X", -7*3600))}, want: "r5 r6"},
		{name: "type", f: store.Filter{Type: "KEYSIGN"}, want: "r2 r3 r5 r6"},
		{name: "action", f: store.Filter{Action: "REJECT"}, want: "r3 r4 r5"},
		{name: "rule", f: store.Filter{Rule: "deny-large"}, want: "r3 r5"},
		{name: "combined", f: store.Filter{Type: "KEYSIGN", Action: "APPROVE", Since: at(3)}, want: "r6"},
		{name: "no match", f: store.Filter{Type: "KEYRESHARE"}, want: ""},
		{name: "after seq", f: store.Filter{AfterSeq: seqs["r3"]}, want: "r4 r5 r6"},
		{name: "after seq newest with type", f: store.Filter{AfterSeq: seqs["r2"], Type: "KEYSIGN", Newest: true}, want: "r6 r5 r3"},
		{name: "after the last seq", f: store.Filter{AfterSeq: seqs["r6"]}, want: ""},
		{name: "seq", f: store.Filter{Seq: 4}, want: "r4"},
		{name: "seq and type", f: store.Filter{Seq: 4, Type: "KEYSIGN"}, want: ""},
		{name: "seq past the head", f: store.Filter{Seq: 7}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if err := s.List(ctx, tt.f, func(r *store.Record) error {
				got = append(got, r.RequestID)
				return nil
			}); err != nil {
				t.Fatalf("List: %v", err)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("List(%+v) = %q, want %q", tt.f, g, tt.want)
			}
		})
	}

	t.Run("records are complete", func(t *testing.T) {
		err := s.List(ctx, store.Filter{}, func(r *store.Record) error {
			stored, err := s.Get(ctx, r.RequestID) // a nested read while streaming
			if err != nil {
				return err
			}
			checkRecord(t, "listed "+r.RequestID, r, stored)
			return nil
		})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
	})
	t.Run("callback error stops the walk", func(t *testing.T) {
		stop := errors.New("enough")
		n := 0
		err := s.List(ctx, store.Filter{}, func(*store.Record) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 2 {
			t.Errorf("List returned %v after %d calls, want the callback's error after 2", err, n)
		}
	})
	t.Run("invalid filter", func(t *testing.T) {
		for _, f := range []store.Filter{{Limit: -1}, {Seq: -1}, {Since: at(3), Until: at(2)}, {AfterSeq: -1}} {
			if err := s.List(ctx, f, func(*store.Record) error { return nil }); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("List(%+v) error = %v, want ErrInvalid", f, err)
			}
		}
	})
}

func testLimitUsage(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	use := func(limit, key, amount string, window time.Duration) store.LimitUse {
		return store.LimitUse{Limit: limit, Key: key, Window: window, Amount: dec(amount)}
	}
	steps := []struct {
		at   time.Duration
		uses []store.LimitUse
	}{
		{0, []store.LimitUse{use("daily", "b", "1.25", 24*time.Hour), use("hourly", "b", "1.25", time.Hour)}},
		{time.Hour, []store.LimitUse{use("daily", "a", "2", 24*time.Hour)}},
		{2 * time.Hour, []store.LimitUse{use("daily", "b", "0.75", 24*time.Hour), use("hourly", "b", "0.75", time.Hour)}},
		{2*time.Hour + time.Minute, []store.LimitUse{use("removed", "x", "5", time.Hour)}},
	}
	for i, st := range steps {
		rec := NewRecord(fmt.Sprintf("r%d", i))
		rec.ReceivedAt = Base.Add(st.at)
		Commit(t, s, rec, st.uses...)
	}
	now := Base.Add(2*time.Hour + 30*time.Minute)
	got := usage(t, s, now, map[string]time.Duration{"daily": 24 * time.Hour, "hourly": time.Hour, "weekly": 7 * 24 * time.Hour})
	checkUsage(t, got, []store.Usage{
		{Limit: "daily", Key: "a", Amount: dec("2"), Count: 1, Oldest: chain.NormalizeTime(Base.Add(time.Hour))},
		{Limit: "daily", Key: "b", Amount: dec("2"), Count: 2, Oldest: chain.NormalizeTime(Base)},
		{Limit: "hourly", Key: "b", Amount: dec("0.75"), Count: 1, Oldest: chain.NormalizeTime(Base.Add(2 * time.Hour))},
	})
	// Sorted by limit, then key, whatever the map order.
	if !sort.SliceIsSorted(got, func(i, j int) bool {
		return got[i].Limit < got[j].Limit || got[i].Limit == got[j].Limit && got[i].Key < got[j].Key
	}) {
		t.Errorf("usage not sorted: %+v", got)
	}
	if got := usage(t, s, now.Add(48*time.Hour), map[string]time.Duration{"daily": 24 * time.Hour}); len(got) != 0 {
		t.Errorf("usage two days later = %+v, want none", got)
	}
	if got := usage(t, s, now, nil); len(got) != 0 {
		t.Errorf("usage with no limits = %+v, want none", got)
	}
}
