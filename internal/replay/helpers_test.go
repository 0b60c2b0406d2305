package replay

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
