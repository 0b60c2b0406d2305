package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/store"
)

// The benchmark model. A log grows at a steady rate: BenchPerDay decisions a
// day, each counted against one limit, BenchLimit (24h window), under one of
// BenchKeys keys ("k-0" .. "k-99") in turn. The implementations' bulk
// loaders prefill N such decisions ending at BenchNow, spaced BenchSpacing
// apart, so that whatever N is, a key's 24h window holds about
// BenchPerDay/BenchKeys = 10 entries: a limit check should then cost the
// same at 10^3 and 10^6 decisions, and any growth is the index failing to
// keep the check flat. Bulk-loaded rows carry empty hashes; the benchmarks
// never Verify.
const (
	// BenchPerDay is the decision rate of the prefilled log.
	BenchPerDay = 1000
	// BenchKeys is the number of running totals the decisions rotate over.
	BenchKeys = 100
	// BenchLimit names the one limit every benchmark decision counts against.
	BenchLimit = "daily"
	// BenchSpacing is the time between two consecutive decisions.
	BenchSpacing = 24 * time.Hour / BenchPerDay
)

// BenchNow is when the prefilled log ends.
var BenchNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchUse returns the limit use of the n-th benchmark decision: BenchLimit
// under key k-(n mod BenchKeys), with a cap high enough never to reject, so
// that each check reads the whole window and then writes.
func BenchUse(n int64) store.LimitUse {
	return store.LimitUse{
		Limit:     BenchLimit,
		Key:       fmt.Sprintf("k-%d", n%BenchKeys),
		Window:    24 * time.Hour,
		Amount:    dec("1.5"),
		MaxAmount: decPtr("1000000000"),
		MaxCount:  1_000_000,
	}
}

// BenchCommit measures Commit of new APPROVE decisions without limits.
// next numbers the decisions across the benchmark's rounds (they share one
// store, and request_ids must stay unique); start it at 0.
func BenchCommit(b *testing.B, s store.Store, next *atomic.Int64) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n := next.Add(1)
		rec := NewRecord(fmt.Sprintf("bench-%d", n))
		rec.ReceivedAt = BenchNow
		if _, _, err := s.Commit(ctx, rec, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchCommitParallel is BenchCommit from GOMAXPROCS goroutines at once:
// throughput when commits queue on the store's serialization.
func BenchCommitParallel(b *testing.B, s store.Store, next *atomic.Int64) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			rec := NewRecord(fmt.Sprintf("bench-par-%d", n))
			rec.ReceivedAt = BenchNow
			if _, _, err := s.Commit(ctx, rec, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchCommitWithLimit measures Commit of APPROVE decisions that each pass
// one limit check (BenchUse) and write a ledger entry. Time moves on by
// BenchSpacing per decision, continuing the prefilled log at its own rate,
// so the windows keep their size however long the benchmark runs.
func BenchCommitWithLimit(b *testing.B, s store.Store, next *atomic.Int64) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n := next.Add(1)
		rec := NewRecord(fmt.Sprintf("bench-limit-%d", n))
		rec.ReceivedAt = BenchNow.Add(time.Duration(n) * BenchSpacing)
		got, _, err := s.Commit(ctx, rec, []store.LimitUse{BenchUse(n)})
		if err != nil {
			b.Fatal(err)
		}
		if got.Action != store.ActionApprove {
			b.Fatalf("benchmark decision rejected: %s", got.Reason)
		}
	}
}

// BenchSizes are the log sizes the limit-check benchmarks prefill.
var BenchSizes = []int{1_000, 100_000, 1_000_000}
