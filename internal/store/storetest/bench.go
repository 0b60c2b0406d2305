package storetest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/store"
)

// The benchmark model: the worst case for a limit check, every prefilled
// ledger entry in ONE key's window (a desk paying out from one wallet all
// day). The implementations prefill N entries through BulkLoader under
// (BenchLimit, BenchKey), ending at BenchNow and BenchSpacing apart, so that
// even 10^6 of them span about 17 minutes of a BenchWindow window. The
// check and the commit must cost the same at 10^3 and 10^6 entries.
const (
	// BenchLimit names the one limit every benchmark decision counts against.
	BenchLimit = "daily"
	// BenchKey is the one running total every benchmark decision counts under.
	BenchKey = "hot-wallet"
	// BenchWindow is the limit's window: longer than any benchmark runs.
	BenchWindow = 30 * 24 * time.Hour
	// BenchSpacing is the time between two consecutive decisions.
	BenchSpacing = time.Millisecond
)

// BenchNow is when the prefilled log ends.
var BenchNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchSizes are the numbers of entries the limit benchmarks prefill into
// the one key's window.
var BenchSizes = []int{1_000, 100_000, 1_000_000}

// BenchKinds are the limit shapes the benchmarks run: a cap on the amount
// and a cap on the count.
var BenchKinds = []string{"amount", "count"}

// BenchUse returns the benchmark's limit use of the given kind ("amount" or
// "count"), with a cap high enough never to reject, so that each check reads
// the window's usage and then writes.
func BenchUse(kind string) store.LimitUse {
	u := store.LimitUse{Limit: BenchLimit, Key: BenchKey, Window: BenchWindow, Amount: dec(BulkAmount)}
	switch kind {
	case "amount":
		u.MaxAmount = decPtr("1000000000000")
	case "count":
		u.MaxCount = 1 << 40
	default:
		panic("storetest: unknown benchmark limit kind " + kind)
	}
	return u
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

// BenchCommitConcurrent is BenchCommit from callers goroutines at once (at
// least GOMAXPROCS): what a server with that many decisions in flight asks
// of the store, where group commit (SQLite) and a short lock hold
// (PostgreSQL) pay off.
func BenchCommitConcurrent(b *testing.B, s store.Store, next *atomic.Int64, callers int) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(max(1, (callers+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			rec := NewRecord(fmt.Sprintf("bench-conc-%d", n))
			rec.ReceivedAt = BenchNow
			if _, _, err := s.Commit(ctx, rec, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchCommitWithLimit measures Commit of APPROVE decisions that each pass
// one limit check (BenchUse(kind)) and write a ledger entry into the same
// key's window. Time moves on by BenchSpacing per decision, so every entry
// stays in the window and the window only grows.
func BenchCommitWithLimit(b *testing.B, s store.Store, next *atomic.Int64, kind string) {
	b.Helper()
	ctx := context.Background()
	use := BenchUse(kind)
	b.ReportAllocs()
	for b.Loop() {
		n := next.Add(1)
		rec := NewRecord(fmt.Sprintf("bench-limit-%d", n))
		rec.ReceivedAt = BenchNow.Add(time.Duration(n) * BenchSpacing)
		got, _, err := s.Commit(ctx, rec, []store.LimitUse{use})
		if err != nil {
			b.Fatal(err)
		}
		if got.Action != store.ActionApprove {
			b.Fatalf("benchmark decision rejected: %s", got.Reason)
		}
	}
}

// rsaFloor is the RSA floor of this benchmark binary, measured once.
var rsaFloor struct {
	once sync.Once
	ns   float64
	err  error
}

// rsaKey is the floor's 2048-bit key, generated once per binary.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// BenchRSAFloor measures the floor every decision pays: one RS256
// (PKCS#1 v1.5, SHA-256) sign plus one verify with a 2048-bit key, as
// tssgate signs each reply and verifies each request.
func BenchRSAFloor(b *testing.B) {
	b.Helper()
	key, err := rsaKey()
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("tssgate benchmark: the RSA floor"))
	b.ReportAllocs()
	for b.Loop() {
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// RSAFloor returns the RSA floor (what BenchRSAFloor measures) in
// nanoseconds per operation, measured the first time it is called in this
// binary, so that every benchmark of the run is reported against the same
// floor. It times the loop itself (the best of three rounds of at least
// 300 ms): testing.Benchmark cannot run inside a running benchmark.
func RSAFloor(tb testing.TB) float64 {
	tb.Helper()
	rsaFloor.once.Do(func() {
		key, err := rsaKey()
		if err != nil {
			rsaFloor.err = err
			return
		}
		digest := sha256.Sum256([]byte("tssgate benchmark: the RSA floor"))
		for range 3 {
			start, n := time.Now(), 0
			for time.Since(start) < 300*time.Millisecond {
				sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
				if err == nil {
					err = rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig)
				}
				if err != nil {
					rsaFloor.err = err
					return
				}
				n++
			}
			ns := float64(time.Since(start).Nanoseconds()) / float64(n)
			if rsaFloor.ns == 0 || ns < rsaFloor.ns {
				rsaFloor.ns = ns
			}
		}
	})
	if rsaFloor.err != nil {
		tb.Fatal(rsaFloor.err)
	}
	return rsaFloor.ns
}

// Scale reports a benchmark's cost against the RSA floor ("x-rsa-floor")
// and, for a size above the smallest, against the same series at the
// smallest size ("x-smallest"): the figure the target (at most 1.5 at 10^6
// entries) is about. A zero Scale is ready to use; use one per benchmark
// function, and run the sizes smallest first.
type Scale struct {
	mu       sync.Mutex
	smallest map[string]float64
}

// Report adds the metrics to b, which has just finished its loop; series
// names the curve ("check/amount") and n the size b ran at.
func (sc *Scale) Report(b *testing.B, series string, n int) {
	b.Helper()
	if b.N == 0 {
		return
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns/RSAFloor(b), "x-rsa-floor")
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.smallest == nil {
		sc.smallest = map[string]float64{}
	}
	if n == BenchSizes[0] {
		sc.smallest[series] = ns
		return
	}
	if base, ok := sc.smallest[series]; ok && base > 0 {
		b.ReportMetric(ns/base, "x-smallest")
	}
}
