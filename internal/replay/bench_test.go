package replay

import (
	"context"
	"testing"
	"time"

	"tssgate/internal/store/storetest"
)

// benchPolicy approves verified ETH payouts under one limit, keyed on the
// token: every benchmark decision counts under the same key, with a cap
// high enough that all of them fit (each check reads the window's usage,
// then records).
const benchPolicy = `version: 1
default: reject
rules:
  - name: api-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "payouts-service"'
    action: approve
limits:
  - {name: eth-daily, when: 'request.type == "KEYSIGN" && tx.token_id == "ETH"', key: [tx.token_id], window: 24h, max_count: 1000000}
`

// benchDecisions is how many recorded KEYSIGNs BenchmarkReplay replays.
const benchDecisions = 100_000

// BenchmarkReplay replays 10^5 recorded, verified ETH KEYSIGN approvals
// (each its own transaction, 100 ms apart, all under one limit key) from
// a SQLite store under a policy with a limit: reading the log, rebuilding
// and decoding each request, verifying its transaction, the policy, and
// the simulated limit. It reports decisions/s and, per decision, the
// ratio to the RSA floor (one RS256 sign + verify) measured in the same
// run. Run it with -benchtime 1x: one iteration is the whole log.
//
// The store is built in setup, not timed: one decision is recorded through
// the real pipeline, and the rest are that canonical request with another
// request_id and transaction_id, committed concurrently so that SQLite's
// group commit writes them in bulk. The replay checks each rebuilt request
// against its recorded hash, so a wrong spelling fails the benchmark.
func BenchmarkReplay(b *testing.B) {
	st := openSQLite(b)
	p := loadPolicy(b, benchPolicy)
	start := time.Now()
	bulkRecord(b, st, p, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), benchDecisions, 100*time.Millisecond)
	b.Logf("setup: %d decisions recorded in %s", benchDecisions, time.Since(start).Round(time.Millisecond))
	floor := storetest.RSAFloor(b)

	b.ResetTimer()
	var elapsed time.Duration
	for b.Loop() {
		began := time.Now()
		r, err := Run(context.Background(), Config{Store: st, Candidate: p, VerifyTx: verifier})
		elapsed += time.Since(began)
		if err != nil {
			b.Fatal(err)
		}
		if r.Replayed != benchDecisions || r.Unchanged != benchDecisions {
			b.Fatalf("replayed %d, unchanged %d, want %d each (%+v)", r.Replayed, r.Unchanged, benchDecisions, r)
		}
	}
	perDecision := float64(elapsed.Nanoseconds()) / float64(b.N) / benchDecisions
	b.ReportMetric(1e9/perDecision, "decisions/s")
	b.ReportMetric(perDecision/floor, "x-rsa-floor")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/1e9, "s/replay")
}

// BenchmarkReplaySince is BenchmarkReplay with --since at the middle of
// the log: the first half is read as seeds (chain-checked, decoded,
// verified, counted toward the limits as recorded), the second half
// replayed and reported. A replay with --since reads the log from its
// start, so it costs about as much as one without.
func BenchmarkReplaySince(b *testing.B) {
	st := openSQLite(b)
	p := loadPolicy(b, benchPolicy)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	bulkRecord(b, st, p, t0, benchDecisions, 100*time.Millisecond)
	since := t0.Add(benchDecisions / 2 * 100 * time.Millisecond)

	b.ResetTimer()
	var elapsed time.Duration
	for b.Loop() {
		began := time.Now()
		r, err := Run(context.Background(), Config{Store: st, Candidate: p, VerifyTx: verifier, Since: since})
		elapsed += time.Since(began)
		if err != nil {
			b.Fatal(err)
		}
		// The concurrent bulk commits put a few records on the other
		// side of since than their index says.
		if r.Replayed < benchDecisions/2-100 || r.Replayed > benchDecisions/2+100 || r.Unchanged != r.Replayed || r.Seeded == 0 {
			b.Fatalf("replayed %d, unchanged %d, seeded %d (%+v)", r.Replayed, r.Unchanged, r.Seeded, r)
		}
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/1e9, "s/replay")
	b.ReportMetric(float64(benchDecisions)*float64(b.N)/elapsed.Seconds(), "records-read/s")
}
