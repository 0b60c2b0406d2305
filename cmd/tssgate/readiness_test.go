package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the test's own connection to the served SQLite file

	"tssgate/internal/protocol"
	"tssgate/internal/server"
	"tssgate/internal/simulate"
	"tssgate/internal/store/postgres"
	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
)

// readyzBody returns GET /readyz's status code and body.
func readyzBody(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReadyz waits until /readyz answers code with a body containing want.
func waitReadyz(t *testing.T, base string, code int, want string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, body := readyzBody(t, base)
		if c == code && strings.Contains(body, want) {
			return
		}
		last = body
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz did not answer %d with %q; last body: %s", code, want, last)
}

// devNode is a simulated TSS Node for a --dev server with data directory
// dir.
func devNode(t *testing.T, dir, base string) *simulate.Node {
	t.Helper()
	nodeKey, err := token.LoadPrivateKey(filepath.Join(dir, devNodeDir, devNodePriv))
	if err != nil {
		t.Fatal(err)
	}
	serverPub, err := token.LoadPublicKey(filepath.Join(dir, token.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := token.NewKeySet(token.NamedKey{Name: "server", Key: serverPub})
	return &simulate.Node{BaseURL: base, Signer: &token.Signer{Key: nodeKey}, Server: &token.Verifier{Keys: keys}}
}

// check sends req and returns the verified reply and how long it took.
func check(t *testing.T, node *simulate.Node, req protocol.CallbackRequest) (*protocol.CallbackResponse, time.Duration) {
	t.Helper()
	start := time.Now()
	res, err := node.Check(context.Background(), protocol.V2, req)
	if err != nil {
		t.Fatalf("check %s: %v", req.RequestID, err)
	}
	return res.Response, time.Since(start)
}

func newKeysign(t *testing.T) protocol.CallbackRequest {
	t.Helper()
	req, err := simulate.NewRequest(protocol.V2, protocol.TypeKeySign, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestServeReadyzSQLiteWriteLock (issue 8, finding 10): a real serve on
// its SQLite file is not ready while another connection holds the file's
// write lock (no decision could be recorded), and ready again after.
func TestServeReadyzSQLiteWriteLock(t *testing.T) {
	dir := t.TempDir()
	base, _ := startServe(t, "--dev", "--data-dir", dir)
	waitReadyz(t, base, http.StatusOK, `"ready":true`)

	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tssgate.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	waitReadyz(t, base, http.StatusServiceUnavailable, "taking the write lock")

	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, base, http.StatusOK, `"ready":true`)
}

// TestServeStoreFaultsPostgres runs a real serve on PostgreSQL behind a
// fault-injecting proxy (issue 8, findings 9, 10 and 11):
//   - a session holding the commit lock: /readyz is not ready, a KEYSIGN
//     gets status 30 within 90% of the 5 s decision deadline with a log line
//     naming the lock, and after release decisions are approved again;
//   - the database unreachable: not ready, then ready again;
//   - the connection lost right after COMMIT with the database gone: status
//     30 with a distinct log line, the row exists (audit show), and the
//     node's retry is approved from the record.
func TestServeStoreFaultsPostgres(t *testing.T) {
	direct := storetest.PostgresSchema(t)
	proxy, proxied := storetest.ProxyPostgres(t, direct)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	lockKey := postgres.CommitLockKey(u.Query().Get("search_path"))
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, approveKeysign)
	base, _, logs := startServeLogs(t, "--dev", "--data-dir", dir, "--policy", pol, "--store", proxied)
	node := devNode(t, dir, base)
	waitReadyz(t, base, http.StatusOK, `"ready":true`)
	if r, _ := check(t, node, newKeysign(t)); !r.Approves() {
		t.Fatalf("healthy KEYSIGN answered %+v", r)
	}

	// A stuck session holds the commit lock.
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, base, http.StatusServiceUnavailable, "waiting for the commit lock timed out")
	r, took := check(t, node, newKeysign(t))
	if r.Approves() || r.Status != protocol.StatusInternalError {
		t.Errorf("KEYSIGN with the commit lock held answered %+v, want status 30", r)
	}
	if limit := 9 * server.DefaultDecideTimeout / 10; took > limit {
		t.Errorf("status 30 took %s, want under %s (90%% of the decision deadline)", took, limit)
	}
	if !strings.Contains(logs.String(), "waiting for the commit lock timed out after") {
		t.Errorf("no log line names the held commit lock; logs:\n%s", logs.String())
	}
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, base, http.StatusOK, `"ready":true`)
	if r, _ := check(t, node, newKeysign(t)); !r.Approves() {
		t.Fatalf("KEYSIGN after the lock was released answered %+v", r)
	}

	// The database is unreachable.
	proxy.SetDown(true)
	waitReadyz(t, base, http.StatusServiceUnavailable, `"store"`)
	proxy.SetDown(false)
	waitReadyz(t, base, http.StatusOK, `"ready":true`)

	// The connection breaks after COMMIT, and the database stays away
	// while tssgate tries to read the row back.
	proxy.FailNextCommit(storetest.DropAfterCommitThenDown)
	req := newKeysign(t)
	r, took = check(t, node, req)
	proxy.SetDown(false)
	if r.Approves() || r.Status != protocol.StatusInternalError || !strings.Contains(r.Error, "outcome unknown") {
		t.Fatalf("KEYSIGN with an unknown commit outcome answered %+v", r)
	}
	if limit := 9 * server.DefaultDecideTimeout / 10; took > limit {
		t.Errorf("status 30 took %s, want under %s", took, limit)
	}
	if !strings.Contains(logs.String(), "decision commit outcome unknown") {
		t.Errorf("no distinct log line for the unknown outcome; logs:\n%s", logs.String())
	}
	code, out, errOut := runCmd(t, "audit", "show", "--store", direct, req.RequestID)
	if code != 0 || !strings.Contains(out, `"action": "APPROVE"`) {
		t.Fatalf("audit show %s: exit %d\n%s%s", req.RequestID, code, out, errOut)
	}
	if r, _ := check(t, node, req); !r.Approves() {
		t.Errorf("the node's retry answered %+v, want the recorded APPROVE", r)
	}
	waitReadyz(t, base, http.StatusOK, `"ready":true`)
}
