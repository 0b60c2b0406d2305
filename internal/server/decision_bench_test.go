package server

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
	"tssgate/internal/txverify"
)

// decisionRequest builds the request of one BenchmarkDecision case; tag
// makes its request_id and transaction id unique.
type decisionRequest struct {
	name    string
	version protocol.Version
	build   func(b *testing.B, tag string) protocol.CallbackRequest
}

// The public TRON TRC-20 vector of internal/txverify/testdata (10 USDT to
// THKAcY3f…), as the node sends it: the unsigned transaction and its hash.
const (
	tronUSDTRawTx   = "0x0a024bcc220802c981bea16eca8a40f89bafa0cd325aae01081f12a9010a31747970652e676f6f676c65617069732e636f6d2f70726f746f636f6c2e54726967676572536d617274436f6e747261637412740a1541d9bfdf13be2f3d0409a7c25bf0e0d314f722ba1a121541a614f803b6fd780986a42c78ec9c7f77e6ded13c2244a9059cbb000000000000000000000000508f34bf91b6a63a6713723f4df8c74669a285630000000000000000000000000000000000000000000000000000000000989680708fcdfb9ecd329001e0c9a711"
	tronUSDTMsgHash = "0x0f6da9739ddfef69237e1e89adc3a4cbd9f11cc7e7451719bd720dba6949430c"
	tronUSDTTo      = "THKAcY3fvSyfkzbYxj2aAgxC5R6YAPMJqa"
	tronPath        = "m/44/195/0/0/0"
)

var decisionRequests = []decisionRequest{
	{"v2-eth", protocol.V2, func(b *testing.B, tag string) protocol.CallbackRequest {
		req := sampleRequest(b, protocol.V2, protocol.TypeKeySign, "decision-"+tag)
		req.ExtraInfo = strings.Replace(req.ExtraInfo, `"transaction_id":"`, `"transaction_id":"`+tag+`-`, 1)
		return req
	}},
	{"v1-tron-trc20", protocol.V1, func(b *testing.B, tag string) protocol.CallbackRequest {
		b.Helper()
		detail, extra, err := protocol.Sample(protocol.V1, protocol.TypeKeySign)
		if err != nil {
			b.Fatal(err)
		}
		var d, x map[string]any
		if err := json.Unmarshal(detail, &d); err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(extra, &x); err != nil {
			b.Fatal(err)
		}
		d["bip32_path_list"] = []any{tronPath}
		d["msg_hash_list"] = []any{tronUSDTMsgHash}
		x["cobo_id"] = "tron-" + tag
		x["coin"], x["decimal"] = "TRON_USDT", 6
		x["from_address"] = "TVtCp5JWqvaKAK5BKvHEUaJAu4hAhUAcX3"
		x["amount"], x["to_address"] = "10000000", tronUSDTTo
		x["to_address_details"] = `[{"to_address":"` + tronUSDTTo + `","amount":"10000000"}]`
		x["gas_price"], x["gas_limit"] = 0, 0
		x["raw_tx"] = []any{map[string]any{"raw_tx": tronUSDTRawTx, "derivation_path": tronPath}}
		db, err := json.Marshal(d)
		if err != nil {
			b.Fatal(err)
		}
		xb, err := json.Marshal(x)
		if err != nil {
			b.Fatal(err)
		}
		return protocol.NewCallbackRequest("decision-"+tag, protocol.TypeKeySign, db, xb)
	}},
}

// decisionPolicy approves a verified ETH or TRON USDT KEYSIGN under one velocity limit
// whose maximum the benchmark never reaches, so every decision reads the
// ledger and writes one entry.
const decisionPolicy = `
version: 1
default: reject
rules:
  - name: payouts
    when: request.type == "KEYSIGN" && tx.verified && tx.token_id in ["ETH", "TRON_USDT"]
    action: approve
limits:
  - name: eth-daily
    when: request.type == "KEYSIGN"
    key: [tx.token_id]
    window: 24h
    max_amount: "1000000000"
`

// floorCost is what one RS256 verify plus one RS256 sign costs, with the
// given number of concurrent callers: wall time and process CPU time per
// operation.
type floorCost struct{ wall, cpu time.Duration }

// floorOp returns the RSA floor's operation: one RS256 verify (of a
// request-sized message, with the node key) and one RS256 sign (with the
// server key).
func floorOp(b *testing.B) func(int) error {
	b.Helper()
	msg := []byte(strings.Repeat("x", 600))
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, nodePriv, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	return func(int) error {
		h := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(nodePub, crypto.SHA256, h[:], sig); err != nil {
			return err
		}
		_, err := rsa.SignPKCS1v15(nil, serverPriv, crypto.SHA256, h[:])
		return err
	}
}

// rsaFloor measures the RSA floor on its own with callers concurrent
// callers (BenchmarkDecisionFloor's figure).
func rsaFloor(b *testing.B, callers int) floorCost {
	b.Helper()
	const n = 320
	wall, cpu := runCallers(callers, n, floorOp(b))
	return floorCost{wall: wall / n, cpu: cpu / n}
}

// interleaved runs n operations of op and n of the RSA floor, in
// alternating blocks of block operations each (the floor's with the timer
// stopped), and returns the cost per operation of each. On a shared
// machine whose load changes by the second, a floor measured once would
// divide a decision's cost by a figure from other conditions; blocks a
// few hundred milliseconds long see the same conditions.
func interleaved(b *testing.B, callers, n, block int, op func(i int) error) (ops, floor floorCost) {
	b.Helper()
	fop := floorOp(b)
	var opWall, opCPU, fWall, fCPU time.Duration
	for start := 0; start < n; start += block {
		k := min(block, n-start)
		b.StopTimer()
		w, c := runCallers(callers, k, fop)
		fWall, fCPU = fWall+w, fCPU+c
		b.StartTimer()
		w, c = runCallers(callers, k, func(i int) error { return op(start + i) })
		opWall, opCPU = opWall+w, opCPU+c
	}
	d := time.Duration(n)
	return floorCost{opWall / d, opCPU / d}, floorCost{fWall / d, fCPU / d}
}

// runCallers runs op for i in [0, n) on callers goroutines and returns the
// wall and process CPU time it took. The first error is fatal to the
// caller's benchmark, so it panics here with it.
func runCallers(callers, n int, op func(i int) error) (wall, cpu time.Duration) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	cpu0 := processCPU()
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	wall, cpu = time.Since(start), processCPU()-cpu0
	if err, _ := firstErr.Load().(error); err != nil {
		panic(err)
	}
	return wall, cpu
}

// BenchmarkDecision is the whole decision for a v2 ETH KEYSIGN and for a v1
// TRON TRC-20 (USDT) KEYSIGN, in process
// and without the network: body and form, RS256 token verification,
// decoding, transaction verification (the real EVM verifier), the policy
// with one velocity limit, the store commit (the ledger read, the row and
// its ledger entry, durable before the reply) and the reply signature.
// Every iteration is a new request_id and a new transaction, all signed
// before timing. It runs on SQLite and, with TSSGATE_TEST_POSTGRES set, on
// PostgreSQL, with 1 and with 16 concurrent callers, under the garbage
// collector's settings serve runs with (TuneGC).
//
// Besides ns/op (wall time per decision; with 16 callers, the throughput's
// inverse) it reports cpu-ns/op, this process's CPU time per decision
// (user+system, all threads; PostgreSQL's own backends are not in it), and
// both as ratios to the RSA floor (one RS256 verify plus one RS256 sign)
// measured in the same run with as many callers, in blocks interleaved
// with the decisions' (interleaved): x-floor-cpu is the figure the
// README's target is stated in.
func BenchmarkDecision(b *testing.B) {
	loadKeys(b)
	serveGC(b)
	pol, err := policy.Parse("decision.yaml", []byte(decisionPolicy), "")
	if err != nil {
		b.Fatal(err)
	}
	reg := txverify.DefaultRegistry()
	verify := func(r *protocol.Request) *protocol.Verification { return reg.Verify(r).Verification() }
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			st, err := backend.Open(context.Background(), "sqlite:"+b.TempDir()+"/tssgate.db")
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B) store.Store {
			if os.Getenv(storetest.EnvPostgres) == "" {
				b.Skip("set " + storetest.EnvPostgres)
			}
			st, err := backend.Open(context.Background(), storetest.PostgresSchema(b))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	var run atomic.Int64 // request ids stay unique across b.N rounds
	for _, sc := range stores {
		for _, rq := range decisionRequests {
			for _, callers := range []int{1, 16} {
				b.Run(fmt.Sprintf("%s/%s/callers=%d", sc.name, rq.name, callers), func(b *testing.B) {
					st := sc.open(b)
					b.Cleanup(func() { st.Close() })
					keys, err := token.NewKeySet(token.NamedKey{Name: "node-a", Key: nodePub})
					if err != nil {
						b.Fatal(err)
					}
					s, err := New(Config{
						Verifier: &token.Verifier{Keys: keys},
						Signer:   &token.Signer{Key: serverPriv},
						Decider:  pol,
						VerifyTx: verify,
						Store:    st,
						Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
					})
					if err != nil {
						b.Fatal(err)
					}
					round := run.Add(1)
					bodies := make([]string, b.N)
					for i := range bodies {
						bodies[i] = formBody(goodToken(b, rq.build(b, fmt.Sprintf("%d-%d", round, i))))
					}
					b.ReportAllocs()
					b.ResetTimer()
					cost, floor := interleaved(b, callers, b.N, max(32, 4*callers), func(i int) error {
						r := httptest.NewRequest(http.MethodPost, rq.version.Path(), strings.NewReader(bodies[i]))
						r.Header.Set("Content-Type", form)
						w := httptest.NewRecorder()
						s.ServeHTTP(w, r)
						if w.Code != http.StatusOK {
							return fmt.Errorf("HTTP %d", w.Code)
						}
						return nil
					})
					b.StopTimer()
					approved := 0
					err = st.List(context.Background(), store.Filter{Action: store.ActionApprove}, func(*store.Record) error {
						approved++
						return nil
					})
					if err != nil || approved != b.N {
						b.Fatalf("%d of %d decisions approved (%v): the benchmark must measure approvals", approved, b.N, err)
					}
					b.ReportMetric(float64(cost.cpu), "cpu-ns/op")
					if floor.cpu > 0 {
						b.ReportMetric(float64(cost.cpu)/float64(floor.cpu), "x-floor-cpu")
					}
					b.ReportMetric(float64(cost.wall)/float64(floor.wall), "x-floor")
				})
			}
		}
	}
}

// BenchmarkDecisionFloor reports the RSA floor BenchmarkDecision divides
// by, as its own line, for 1 and 16 callers.
func BenchmarkDecisionFloor(b *testing.B) {
	loadKeys(b)
	for _, callers := range []int{1, 16} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			f := rsaFloor(b, callers)
			for b.Loop() {
			}
			b.ReportMetric(float64(f.wall), "floor-ns/op")
			b.ReportMetric(float64(f.cpu), "floor-cpu-ns/op")
		})
	}
}

// serveGC runs the benchmark under the garbage collector's settings serve
// applies (TuneGC: GOGC and GOMEMLIMIT from the environment, else the
// defaults), so that its CPU per decision is the server's; it restores
// the test binary's afterwards.
func serveGC(b *testing.B) {
	b.Helper()
	oldPercent := debug.SetGCPercent(100)
	debug.SetGCPercent(oldPercent)
	oldLimit := debug.SetMemoryLimit(-1)
	TuneGC(os.Getenv)
	b.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })
}
