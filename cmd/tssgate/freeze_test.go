package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/simulate"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
	"tssgate/internal/store/storetest"
)

var freezeIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// frozenReply reports whether r is a REJECT by the freeze with id (a new
// decision's or a retry's).
func frozenReply(r *protocol.CallbackResponse, id string) bool {
	return r.Status == 0 && r.Action == protocol.ActionReject && strings.Contains(r.Error, "frozen") && strings.Contains(r.Error, id)
}

// sample is one reply of the load, with when its request was sent.
type sample struct {
	sent  time.Time
	reply *protocol.CallbackResponse
	err   error
}

// load sends distinct KEYSIGNs to one node, one after the other, until
// stop is closed, counting replies as they come.
type load struct {
	mu      sync.Mutex
	samples []sample
}

func (l *load) run(t *testing.T, node *simulate.Node, first int, stop <-chan struct{}) {
	for i := first; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		req, err := simulate.NewRequest(protocol.V2, protocol.TypeKeySign, nil, readTxExtra(t, i))
		if err != nil {
			t.Error(err)
			return
		}
		s := sample{sent: time.Now()}
		res, err := node.Check(context.Background(), protocol.V2, req)
		if err == nil {
			s.reply = res.Response
		}
		s.err = err
		l.mu.Lock()
		l.samples = append(l.samples, s)
		l.mu.Unlock()
	}
}

// sentAfter counts the replies to requests sent after at (every reply
// when at is zero).
func (l *load) sentAfter(at time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.samples {
		if s.sent.After(at) {
			n++
		}
	}
	return n
}

// waitLoads waits until every load has n replies to requests sent after at.
func waitLoads(t *testing.T, loads []*load, at time.Time, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, l := range loads {
		for l.sentAfter(at) < n {
			if time.Now().After(deadline) {
				t.Fatalf("the load made fewer than %d decisions after %s", n, at.Format(time.RFC3339Nano))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func checkOne(t *testing.T, node *simulate.Node, typ protocol.RequestType, extra []byte) (*protocol.CallbackResponse, protocol.CallbackRequest) {
	t.Helper()
	req, err := simulate.NewRequest(protocol.V2, typ, nil, extra)
	if err != nil {
		t.Fatal(err)
	}
	return resend(t, node, req), req
}

func resend(t *testing.T, node *simulate.Node, req protocol.CallbackRequest) *protocol.CallbackResponse {
	t.Helper()
	res, err := node.Check(context.Background(), protocol.V2, req)
	if err != nil {
		t.Fatalf("check %s: %v", req.RequestID, err)
	}
	return res.Response
}

// TestFreezeUnderLoadEveryReplica is the end-to-end freeze: two
// serving processes on one PostgreSQL under load, `tssgate freeze` run
// against the same store, and every decision requested after the command
// returned is a REJECT on both replicas; PING approves; a retry of an
// approval is not re-signed; unfreeze lifts it for both.
func TestFreezeUnderLoadEveryReplica(t *testing.T) {
	dsn := storetest.PostgresSchema(t) // skips without TSSGATE_TEST_POSTGRES, fails if unreachable
	freezeUnderLoad(t, 2, dsn)
}

// The same with one process on its SQLite store, frozen by a second
// process (the command) writing the same file.
func TestFreezeUnderLoadSQLite(t *testing.T) {
	freezeUnderLoad(t, 1, "")
}

func freezeUnderLoad(t *testing.T, processes int, dsn string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs real processes")
	}
	bin := tssgateBinary(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, approveKeysign)
	args := []string{"--dev", "--data-dir", dir, "--policy", pol}
	storeArgs := []string{"--data-dir", dir}
	if dsn != "" {
		args = append(args, "--store", dsn)
		storeArgs = []string{"--store", dsn}
	}
	var nodes []*simulate.Node
	for range processes {
		_, url := startProcess(t, bin, args...)
		nodes = append(nodes, devNode(t, dir, url))
	}
	// An approval recorded before the freeze, retried during it.
	early, earlyReq := checkOne(t, nodes[0], protocol.TypeKeySign, readTxExtra(t, 100000))
	if !early.Approves() {
		t.Fatalf("a KEYSIGN before the freeze: %+v", early)
	}

	stop := make(chan struct{})
	loads := make([]*load, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		loads[i] = &load{}
		wg.Go(func() { loads[i].run(t, n, (i+1)*10000, stop) })
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)
	waitLoads(t, loads, time.Time{}, 5) // load running on every replica
	code, out, errOut := runCmd(t, append([]string{"freeze", "--reason", "drill: load test"}, storeArgs...)...)
	frozenAt := time.Now()
	id := strings.TrimSpace(out)
	if code != 0 || !freezeIDRE.MatchString(id) {
		t.Fatalf("freeze: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	waitLoads(t, loads, frozenAt, 5) // the load goes on while frozen
	stopLoad()
	results := make([][]sample, len(loads))
	for i, l := range loads {
		results[i] = l.samples
	}
	for i, rs := range results {
		before, after := 0, 0
		for _, s := range rs {
			if s.err != nil {
				t.Fatalf("replica %d: a request failed: %v", i, s.err)
			}
			if !s.sent.After(frozenAt) {
				before++
				continue
			}
			after++
			if !frozenReply(s.reply, id) || !strings.Contains(s.reply.Error, id) || !strings.Contains(s.reply.Error, "drill: load test") {
				t.Fatalf("replica %d: a KEYSIGN sent %s after the freeze returned: %+v", i, s.sent.Sub(frozenAt), s.reply)
			}
		}
		t.Logf("replica %d: %d decisions before the freeze, %d frozen after", i, before, after)
		if before == 0 || after == 0 {
			t.Errorf("replica %d: %d decisions before the freeze and %d after; the load did not straddle it", i, before, after)
		}
	}
	for i, n := range nodes {
		if r, _ := checkOne(t, n, protocol.TypePing, nil); !r.Approves() {
			t.Errorf("replica %d: PING while frozen: %+v", i, r)
		}
		if r := resend(t, n, earlyReq); !frozenReply(r, id) || !strings.Contains(r.Error, "not re-signed") {
			t.Errorf("replica %d: retry of an approval recorded before the freeze: %+v, want a frozen REJECT", i, r)
		}
	}
	code, out, errOut = runCmd(t, append([]string{"freeze", "--list"}, storeArgs...)...)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "drill: load test") {
		t.Errorf("freeze --list: exit %d, %q, %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, append([]string{"unfreeze", "--id", id}, storeArgs...)...)
	if code != 0 || !strings.Contains(out, "lifted freeze "+id) {
		t.Fatalf("unfreeze: exit %d, %q, %s", code, out, errOut)
	}
	for i, n := range nodes {
		if r, _ := checkOne(t, n, protocol.TypeKeySign, readTxExtra(t, 200000+i)); !r.Approves() {
			t.Errorf("replica %d: a KEYSIGN after the lift: %+v", i, r)
		}
		if r := resend(t, n, earlyReq); !r.Approves() {
			t.Errorf("replica %d: the retry after the lift: %+v, want the recorded APPROVE", i, r)
		}
	}
	code, _, errOut = runCmd(t, append([]string{"unfreeze", "--id", id}, storeArgs...)...)
	if code != 1 || !strings.Contains(errOut, "already lifted") {
		t.Errorf("a second unfreeze: exit %d, %s", code, errOut)
	}
	code, out, _ = runCmd(t, append([]string{"audit", "verify"}, storeArgs...)...)
	if code != 0 {
		t.Errorf("audit verify after freeze and lift: exit %d, %s", code, out)
	}
}

// The commands' argument checks, before any store is opened.
func TestFreezeCommandArguments(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"freeze without a reason", []string{"freeze", "--data-dir", dir}, 2, "--reason is required"},
		{"freeze with a blank reason", []string{"freeze", "--data-dir", dir, "--reason", "  "}, 2, "--reason is required"},
		{"freeze with a reason and --list", []string{"freeze", "--data-dir", dir, "--reason", "x", "--list"}, 2, "not both"},
		{"freeze with a huge reason", []string{"freeze", "--data-dir", dir, "--reason", strings.Repeat("x", 501)}, 2, "longer than 500"},
		{"freeze with no store", []string{"freeze", "--data-dir", dir, "--reason", "x"}, 1, "no decision store at"},
		{"list with no store", []string{"freeze", "--data-dir", dir, "--list"}, 1, "no decision store at"},
		{"unfreeze without an id", []string{"unfreeze", "--data-dir", dir}, 2, "--id"},
		{"unfreeze with a bad id", []string{"unfreeze", "--data-dir", dir, "--id", "XYZ"}, 2, "16 lower-case hex"},
		// Whether governance applies is known only from the store (a store
		// holding one needs the quorum whatever the configuration says).
		{"unfreeze --key with no store", []string{"unfreeze", "--data-dir", dir, "--id", "0123456789abcdef", "--key", "k"}, 1, "no decision store at"},
		{"unfreeze --key and --import", []string{"unfreeze", "--data-dir", dir, "--id", "0123456789abcdef", "--key", "k", "--import", "s"}, 2, "not both"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "tssgate.db")); !os.IsNotExist(err) {
		t.Errorf("a refused command created the store: %v", err)
	}
}

func writeToken(t *testing.T, dir string, mode os.FileMode, tok string) string {
	t.Helper()
	p := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve refuses an admin token file others can read, a token too short,
// and an admin endpoint with no metrics listener, naming the setting.
func TestAdminTokenFileRefused(t *testing.T) {
	cases := []struct {
		name string
		mode os.FileMode
		tok  string
		args []string
		want string
	}{
		{"group-readable", 0o640, strings.Repeat("a", 32), nil, "mode 0640"},
		{"world-readable", 0o644, strings.Repeat("a", 32), nil, "chmod 600"},
		{"too short", 0o600, "short", nil, "at least 16"},
		{"no metrics listener", 0o600, strings.Repeat("a", 32), []string{"--metrics-listen", ""}, "metrics_listen is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tok := writeToken(t, dir, tc.mode, tc.tok)
			args := append([]string{"serve", "--dev", "--data-dir", dir, "--listen", "127.0.0.1:0", "--admin-token-file", tok}, tc.args...)
			code, _, errOut := runCmd(t, args...)
			if code == 0 || !strings.Contains(errOut, "admin_token_file") || !strings.Contains(errOut, tc.want) {
				t.Errorf("serve: exit %d, stderr %q; want a refusal naming admin_token_file and %q", code, errOut, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		code, _, errOut := runCmd(t, "serve", "--dev", "--data-dir", dir, "--listen", "127.0.0.1:0", "--admin-token-file", filepath.Join(dir, "nope"))
		if code == 0 || !strings.Contains(errOut, "admin_token_file") {
			t.Errorf("serve: exit %d, stderr %q", code, errOut)
		}
	})
}

func adminPost(t *testing.T, maddr, method, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+maddr+"/admin/freeze", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// POST /admin/freeze: only with the bearer token, only POST, only a
// {"reason"} body; it freezes the running server's next decision, the
// gauge shows it, and the endpoint cannot lift it.
func TestAdminFreezeEndpoint(t *testing.T) {
	tokDir := t.TempDir()
	secret := "0123456789abcdef0123456789abcdef"
	tokFile := writeToken(t, tokDir, 0o600, secret)
	base, maddr, dir, _ := startMetricsServe(t, "--admin-token-file", tokFile)
	node := devNode(t, dir, base)
	if r, _ := checkOne(t, node, protocol.TypeKeySign, readTxExtra(t, 1)); !r.Approves() {
		t.Fatalf("before the freeze: %+v", r)
	}
	if got := scrape(t, maddr)["tssgate_frozen"]; got != 0 {
		t.Errorf("tssgate_frozen = %v before any freeze", got)
	}
	cases := []struct {
		name   string
		method string
		auth   string
		body   string
		code   int
	}{
		{"GET", http.MethodGet, "Bearer " + secret, "", http.StatusMethodNotAllowed},
		{"no token", http.MethodPost, "", `{"reason":"x"}`, http.StatusUnauthorized},
		{"wrong token", http.MethodPost, "Bearer " + secret[:31] + "0", `{"reason":"x"}`, http.StatusUnauthorized},
		{"token as basic auth", http.MethodPost, "Basic " + secret, `{"reason":"x"}`, http.StatusUnauthorized},
		{"bad body", http.MethodPost, "Bearer " + secret, `reason=x`, http.StatusBadRequest},
		{"unknown field", http.MethodPost, "Bearer " + secret, `{"reason":"x","lift":true}`, http.StatusBadRequest},
		{"empty reason", http.MethodPost, "Bearer " + secret, `{"reason":" "}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := adminPost(t, maddr, tc.method, tc.auth, tc.body); code != tc.code {
				t.Errorf("%s: %d %v, want %d", tc.name, code, body, tc.code)
			}
		})
	}
	if r, _ := checkOne(t, node, protocol.TypeKeySign, readTxExtra(t, 2)); !r.Approves() {
		t.Fatalf("refused admin calls froze signing: %+v", r)
	}
	code, body := adminPost(t, maddr, http.MethodPost, "Bearer "+secret, `{"reason": "pager: incident 9"}`)
	id, _ := body["freeze_id"].(string)
	if code != http.StatusOK || !freezeIDRE.MatchString(id) {
		t.Fatalf("POST /admin/freeze: %d %v", code, body)
	}
	// Frozen already: a second call is its own freeze, on the record,
	// and the reply says how many others are active.
	code, again := adminPost(t, maddr, http.MethodPost, "Bearer "+secret, `{"reason": "second page"}`)
	id2, _ := again["freeze_id"].(string)
	if code != http.StatusOK || !freezeIDRE.MatchString(id2) || id2 == id || again["other_active_freezes"] != float64(1) {
		t.Fatalf("POST /admin/freeze while frozen: %d %v", code, again)
	}
	if n := len(activeFreezes(t, dir)); n != 2 {
		t.Fatalf("%d active freezes after a second admin call, want 2", n)
	}
	if code, out, errOut := runCmd(t, "unfreeze", "--data-dir", dir, "--id", id2); code != 0 {
		t.Fatalf("unfreeze %s: %d %s %s", id2, code, out, errOut)
	}
	r, _ := checkOne(t, node, protocol.TypeKeySign, readTxExtra(t, 3))
	if !frozenReply(r, id) || !strings.Contains(r.Error, id) || !strings.Contains(r.Error, "pager: incident 9") || !strings.Contains(r.Error, "admin-endpoint") {
		t.Errorf("the next KEYSIGN: %+v, want a frozen REJECT naming %s", r, id)
	}
	if r, _ := checkOne(t, node, protocol.TypePing, nil); !r.Approves() {
		t.Errorf("PING while frozen: %+v", r)
	}
	waitFor(t, "tssgate_frozen = 1", func() bool { return scrape(t, maddr)["tssgate_frozen"] == 1 })
	if got := scrape(t, maddr)["tssgate_frozen_rejections_total"]; got != 1 {
		t.Errorf("tssgate_frozen_rejections_total = %v, want 1", got)
	}
	code, out, errOut := runCmd(t, "unfreeze", "--data-dir", dir, "--id", id)
	if code != 0 {
		t.Fatalf("unfreeze: %d %s %s", code, out, errOut)
	}
	waitFor(t, "tssgate_frozen = 0", func() bool { return scrape(t, maddr)["tssgate_frozen"] == 0 })
	if r, _ := checkOne(t, node, protocol.TypeKeySign, readTxExtra(t, 4)); !r.Approves() {
		t.Errorf("after the lift: %+v", r)
	}
}

// Without an admin token there is no admin endpoint at all.
func TestAdminEndpointOffByDefault(t *testing.T) {
	_, maddr, _, _ := startMetricsServe(t)
	if code, _ := adminPost(t, maddr, http.MethodPost, "Bearer x", `{"reason":"x"}`); code != http.StatusNotFound {
		t.Errorf("POST /admin/freeze without admin_token_file: %d, want 404", code)
	}
}

// testQuorum is a stand-in governance for the unfreeze seam: Ed25519
// approvers and a threshold, with its own signature armor ("TESTSIG name
// base64(sig)"); a key file holds "name:hex seed". It checks signatures
// for real, so the command's use of the seam is tested, not the SSHSIG
// format (internal/governance owns that).
type testQuorum struct {
	keys      map[string]ed25519.PublicKey
	threshold int
}

func (q *testQuorum) Verify(msg []byte, sigs [][]byte) ([]string, bool, error) {
	seen := map[string]bool{}
	for _, s := range sigs {
		f := strings.Fields(string(s))
		if len(f) != 3 || f[0] != "TESTSIG" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(f[2])
		if k, ok := q.keys[f[1]]; ok && err == nil && ed25519.Verify(k, msg, raw) {
			seen[f[1]] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, len(names) >= q.threshold, nil
}

func (q *testQuorum) Sign(keyFile string, msg []byte) ([]byte, error) {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	name, seedHex, _ := strings.Cut(strings.TrimSpace(string(b)), ":")
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: not a test key", keyFile)
	}
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), msg)
	return []byte("TESTSIG " + name + " " + base64.StdEncoding.EncodeToString(sig)), nil
}

// withGovernance makes unfreeze require a quorum, wired to q (nil: not
// wired), for the test.
func withGovernance(t *testing.T, q quorum) {
	t.Helper()
	oldReq, oldNew := governanceRequired, newQuorum
	t.Cleanup(func() { governanceRequired, newQuorum = oldReq, oldNew })
	governanceRequired = func(context.Context, Config, store.Store) (bool, error) { return true, nil }
	newQuorum = nil
	if q != nil {
		newQuorum = func(context.Context, Config, store.Store) (quorum, error) { return q, nil }
	}
}

// frozenStore makes a SQLite store in dir with one active freeze and
// returns its id.
func frozenStore(t *testing.T, dir string) string {
	t.Helper()
	st, err := backend.Open(context.Background(), "sqlite:"+filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, _, err := recordFreeze(context.Background(), st, "governed drill", "alice")
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func activeFreezes(t *testing.T, dir string) []store.Freeze {
	t.Helper()
	st, err := backend.OpenReadOnly(context.Background(), "sqlite:"+filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fs, err := st.ActiveFreezes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// With governance configured and no quorum wired, unfreeze refuses:
// fail closed.
func TestUnfreezeRefusedWithoutWiredQuorum(t *testing.T) {
	dir := t.TempDir()
	id := frozenStore(t, dir)
	withGovernance(t, nil)
	code, _, errOut := runCmd(t, "unfreeze", "--data-dir", dir, "--id", id)
	if code != 1 || !strings.Contains(errOut, "fail closed") {
		t.Errorf("unfreeze: exit %d, %s", code, errOut)
	}
	if len(activeFreezes(t, dir)) != 1 {
		t.Errorf("the freeze was lifted")
	}
}

// With governance (threshold 2 of alice, bob, carol): one signature does
// not lift, a repeated signer does not count twice, a signature over
// another freeze's message or by a non-approver is refused and not kept,
// and the second distinct approver lifts it, with both named in the chain.
func TestUnfreezeWithQuorum(t *testing.T) {
	dir := t.TempDir()
	id := frozenStore(t, dir)
	q := &testQuorum{keys: map[string]ed25519.PublicKey{}, threshold: 2}
	keyFile := map[string]string{}
	for i, name := range []string{"alice", "bob", "carol", "mallory"} {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 1)
		if name != "mallory" {
			q.keys[name] = ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		}
		p := filepath.Join(dir, name+".key")
		if err := os.WriteFile(p, []byte(name+":"+hex.EncodeToString(seed)), 0o600); err != nil {
			t.Fatal(err)
		}
		keyFile[name] = p
	}
	withGovernance(t, q)
	// bob's signature made for another freeze, imported here.
	oldSig, err := q.Sign(keyFile["bob"], unfreezeMessage("ffffffffffffffff"))
	if err != nil {
		t.Fatal(err)
	}
	oldSigFile := filepath.Join(dir, "old.sig")
	os.WriteFile(oldSigFile, oldSig, 0o600)
	bobSig, _ := q.Sign(keyFile["bob"], unfreezeMessage(id))
	bobSigFile := filepath.Join(dir, "bob.sig")
	os.WriteFile(bobSigFile, bobSig, 0o600)

	steps := []struct {
		name   string
		args   []string
		code   int
		want   string
		active bool
	}{
		{"no signature", nil, 1, "(none) do not meet", true},
		{"alice signs", []string{"--key", keyFile["alice"]}, 1, "(alice) do not meet", true},
		{"alice again", []string{"--key", keyFile["alice"]}, 1, "(alice) do not meet", true},
		{"a non-approver", []string{"--key", keyFile["mallory"]}, 1, "not a valid approver signature", true},
		{"an old freeze's signature", []string{"--import", oldSigFile}, 1, "not a valid approver signature", true},
		{"bob's signature imported", []string{"--import", bobSigFile}, 0, "lifted freeze " + id + " with the signatures of alice, bob", false},
		{"after the lift", []string{"--key", keyFile["carol"]}, 1, "already lifted", false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, append([]string{"unfreeze", "--data-dir", dir, "--id", id}, s.args...)...)
			if code != s.code || !strings.Contains(out+errOut, s.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d mentioning %q", code, out, errOut, s.code, s.want)
			}
			if active := len(activeFreezes(t, dir)) == 1; active != s.active {
				t.Errorf("freeze active = %v, want %v", active, s.active)
			}
		})
	}
	st, err := backend.OpenReadOnly(context.Background(), "sqlite:"+filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := st.GetFreeze(context.Background(), id)
	if err != nil || strings.Join(f.Signers, ",") != "alice,bob" {
		t.Fatalf("the lifted freeze: %+v, %v", f, err)
	}
	row, err := st.Get(context.Background(), "operator:unfreeze:"+id)
	if err != nil || row.Type != "UNFREEZE" || !strings.Contains(string(row.Request), `"signers":["alice","bob"]`) {
		t.Errorf("the UNFREEZE chain row: %+v, %v", row, err)
	}
	kept, _ := st.LiftSignatures(context.Background(), id)
	if len(kept) != 2 {
		t.Errorf("kept signatures: %+v, want alice's and bob's only", kept)
	}
}

// Without governance in the configuration or the store, --key and
// --import are usage errors and the freeze stays.
func TestUnfreezeSignaturesWithoutGovernance(t *testing.T) {
	dir := t.TempDir()
	id := frozenStore(t, dir)
	for _, flag := range []string{"--key", "--import"} {
		code, _, errOut := runCmd(t, "unfreeze", "--data-dir", dir, "--id", id, flag, "f")
		if code != 2 || !strings.Contains(errOut, "no governance is configured") {
			t.Errorf("unfreeze %s: exit %d, %s", flag, code, errOut)
		}
	}
	if n := len(activeFreezes(t, dir)); n != 1 {
		t.Fatalf("%d active freezes, want the one", n)
	}
}
