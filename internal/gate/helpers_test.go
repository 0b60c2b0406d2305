package gate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/sqlite"
	"tssgate/internal/token"
)

var (
	keysOnce          sync.Once
	nodeKey, rogueKey *rsa.PrivateKey
	keysErr           error
)

// testKeys returns the TSS Node key the gate trusts and one it does not,
// generated once per test binary.
func testKeys(t testing.TB) (node, rogue *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		if nodeKey, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		rogueKey, keysErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	if keysErr != nil {
		t.Fatalf("generating test keys: %v", keysErr)
	}
	return nodeKey, rogueKey
}

// signToken is a small RS256 encoder independent of package token: the
// JWS compact form of claims, signed with key.
func signToken(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// nodeToken is a token as the TSS Node sends it: package_data is the
// request JSON, base64 (StdEncoding), expiring in two minutes.
func nodeToken(t testing.TB, key *rsa.PrivateKey, packageData []byte, exp time.Time) string {
	t.Helper()
	return signToken(t, key, map[string]any{
		"package_data": base64.StdEncoding.EncodeToString(packageData),
		"iss":          "tss-node",
		"exp":          exp.Unix(),
	})
}

// requestJSON encodes a CallbackRequest by hand from a sample detail and
// extra (or none, for PING).
func requestJSON(t testing.TB, v protocol.Version, typ protocol.RequestType, id string) []byte {
	t.Helper()
	m := map[string]any{"request_id": id, "request_type": int(typ)}
	if typ != protocol.TypePing {
		detail, extra, err := protocol.Sample(v, typ)
		if err != nil {
			t.Fatal(err)
		}
		m["request_detail"], m["extra_info"] = string(detail), string(extra)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeClock moves only when told, so no test sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// deciderFunc adapts a function to decision.Decider.
type deciderFunc func(context.Context, *protocol.Request) (decision.Decision, error)

func (f deciderFunc) Decide(ctx context.Context, r *protocol.Request) (decision.Decision, error) {
	return f(ctx, r)
}

// countingDecider approves everything, counting evaluations, with limits
// on every approval, and remembers the last decision time it saw. With
// changeMind, every evaluation after the first fails, so a test can tell
// an answer from the record from a new evaluation.
type countingDecider struct {
	calls      atomic.Int64
	limits     []decision.LimitUse
	changeMind bool
	mu         sync.Mutex
	sawAt      time.Time
}

func (c *countingDecider) Decide(_ context.Context, r *protocol.Request) (decision.Decision, error) {
	n := c.calls.Add(1)
	c.mu.Lock()
	c.sawAt = r.ReceivedAt
	c.mu.Unlock()
	if c.changeMind && n > 1 {
		return decision.Decision{}, errors.New("the policy cannot decide any more")
	}
	return decision.Decision{Action: protocol.ActionApprove, Rule: "approve-all", PolicyVersion: "sha256:test", Limits: c.limits}, nil
}

func (c *countingDecider) lastAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sawAt
}

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// faultyStore is a real store whose Get or Commit fails on demand.
type faultyStore struct {
	store.Store
	getErr, commitErr, claimErr, freezeErr error
	// commitThenErr commits for real and then reports commitErr.
	commitThenErr bool
}

func (f *faultyStore) Get(ctx context.Context, id string) (*store.Record, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	return f.Store.Get(ctx, id)
}

func (f *faultyStore) ActiveFreezes(ctx context.Context) ([]store.Freeze, error) {
	if f.freezeErr != nil {
		return nil, f.freezeErr
	}
	return f.Store.ActiveFreezes(ctx)
}

func (f *faultyStore) ClaimOutpoints(ctx context.Context, claims []store.OutpointClaim) ([]store.OutpointConflict, error) {
	if f.claimErr != nil {
		return nil, f.claimErr
	}
	return f.Store.ClaimOutpoints(ctx, claims)
}

func (f *faultyStore) Commit(ctx context.Context, rec store.Record, uses []store.LimitUse) (*store.Record, bool, error) {
	if f.commitErr == nil {
		return f.Store.Commit(ctx, rec, uses)
	}
	if f.commitThenErr {
		if _, _, err := f.Store.Commit(ctx, rec, uses); err != nil {
			return nil, false, err
		}
	}
	return nil, false, f.commitErr
}

// newGate returns a Gate trusting the test node key as "node-a", with a
// log buffer; mod adjusts the config.
func newGate(t *testing.T, mod func(*Config)) (*Gate, *bytes.Buffer) {
	t.Helper()
	node, _ := testKeys(t)
	keys, err := token.NewKeySet(token.NamedKey{Name: "node-a", Key: &node.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cfg := Config{
		Verifier: &token.Verifier{Keys: keys, Leeway: 30 * time.Second},
		Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, logs
}
