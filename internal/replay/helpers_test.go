package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/gate"
	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/sqlite"
	"tssgate/internal/token"
	"tssgate/internal/txverify"
)

// verifier is serve's transaction verification with the built-in tables.
func verifier(r *protocol.Request) *protocol.Verification {
	return txverify.DefaultRegistry().Verify(r).Verification()
}

// item is one request to record.
type item struct {
	version protocol.Version
	id      string
	typ     protocol.RequestType
	detail  []byte
	extra   []byte
	nodeKey string
	at      time.Time
}

// openSQLite opens a fresh SQLite store in t.TempDir, closed at cleanup.
func openSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "decisions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// record decides items through the real pipeline (gate) with decider and
// serve's verifier into st, each at its own clock, as serve records them.
func record(t testing.TB, st store.Store, decider decision.Decider, items []item) []gate.Outcome {
	t.Helper()
	var now time.Time
	g, err := gate.New(gate.Config{Verifier: &token.Verifier{}, Decider: decider, VerifyTx: verifier, Store: st,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var out []gate.Outcome
	for _, it := range items {
		now = it.at
		raw, err := json.Marshal(protocol.NewCallbackRequest(it.id, it.typ, it.detail, it.extra))
		if err != nil {
			t.Fatal(err)
		}
		o := g.CheckVerified(context.Background(), it.version, it.nodeKey, raw)
		if o.Status != protocol.StatusOK {
			t.Fatalf("recording %s: status %d: %s (%v)", it.id, o.Status, o.Reason, o.Cause)
		}
		out = append(out, o)
	}
	return out
}

// loadPolicy writes src to a file in t.TempDir and loads it.
func loadPolicy(t testing.TB, src string) *policy.Policy {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sample returns the built-in request_detail and extra_info.
func sample(t testing.TB, v protocol.Version, typ protocol.RequestType) ([]byte, []byte) {
	t.Helper()
	d, e, err := protocol.Sample(v, typ)
	if err != nil {
		t.Fatal(err)
	}
	return d, e
}

// patched sets keys of a JSON object (top level), writing values as given
// (raw JSON), with encoding/json: an encoder independent of the decoder
// under test.
func patched(t testing.TB, doc []byte, set map[string]string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = json.RawMessage(v)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bulkRecord records n verified ETH KEYSIGN approvals into st, spacing
// apart from t0: one through the real pipeline under p (which must approve
// it), the rest that canonical request with another request_id and
// transaction_id, committed concurrently so that SQLite's group commit
// writes them in bulk. Replay checks each rebuilt request against its
// recorded hash, so a wrong spelling here fails the replay.
func bulkRecord(tb testing.TB, st store.Store, p decision.Decider, t0 time.Time, n int, spacing time.Duration) {
	tb.Helper()
	d, e := sample(tb, protocol.V2, protocol.TypeKeySign)
	const txID = "7f3c2a91-5d4e-4b8a-a6c2-1e9f0d3b8c57"
	record(tb, st, p, []item{{version: protocol.V2, id: "bulk-template", typ: protocol.TypeKeySign, detail: d, extra: e, nodeKey: "node-a", at: t0}})
	tmpl, err := st.Get(context.Background(), "bulk-template")
	if err != nil || tmpl.Action != store.ActionApprove || !strings.Contains(string(tmpl.Request), txID) {
		tb.Fatalf("template: %v %+v", err, tmpl)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const workers = 64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w + 1; i < n; i += workers {
				id := fmt.Sprintf("bulk-%06d", i)
				rec := *tmpl
				rec.RequestID, rec.RequestHash = id, ""
				rec.Request = []byte(strings.ReplaceAll(strings.Replace(string(tmpl.Request), `"bulk-template"`, `"`+id+`"`, 1), txID, "tx-"+id))
				rec.TxKey = strings.Replace(tmpl.TxKey, txID, "tx-"+id, 1)
				rec.ReceivedAt = t0.Add(time.Duration(i) * spacing)
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
		tb.Fatal(err)
	default:
	}
}

// btcPayoutsExample loads examples/btc-payouts.yaml and returns it with a
// maker of v2 KEYSIGN items from the example requests
// (examples/requests/NAME.detail.json and NAME.extra.json), asked by
// node-a at the given time.
func btcPayoutsExample(t *testing.T) (*policy.Policy, func(id, name string, at time.Time) item) {
	t.Helper()
	p, err := policy.Load(filepath.Join("..", "..", "examples", "btc-payouts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "requests", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return p, func(id, name string, at time.Time) item {
		return item{version: protocol.V2, id: id, typ: protocol.TypeKeySign, detail: read(name + ".detail.json"),
			extra: read(name + ".extra.json"), nodeKey: "node-a", at: at}
	}
}
