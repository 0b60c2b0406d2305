package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/simulate"
	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
)

// metricsPolicy approves PING, verified KEYSIGNs and KEYGENs within a
// limit of one per node and hour, and rejects everything else by default.
const metricsPolicy = `version: 1
rules:
  - name: heartbeat
    when: request.type == "PING"
    action: approve
  - name: small-eth
    when: request.type == "KEYSIGN" && tx.verified && tx.amount <= decimal("1")
    action: approve
  - name: keygen
    when: request.type == "KEYGEN"
    action: approve
limits:
  - name: one-per-node
    when: request.type == "KEYGEN"
    key: [request.node_key]
    amount: decimal("1")
    window: 1h
    max_count: 1
`

var metricsRE = regexp.MustCompile(`metrics on http://([0-9.:]+)/metrics`)

// scrape returns every sample of GET /metrics by its series as exposed
// (`name{a="x",b="y"}`, labels in the order the server writes them,
// which client_golang sorts by name).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// series spells a series as the exposition writes it; labels are given as
// name, value pairs and sorted here.
func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	type kv struct{ k, v string }
	var kvs []kv
	for i := 0; i < len(labels); i += 2 {
		kvs = append(kvs, kv{labels[i], labels[i+1]})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
	parts := make([]string, len(kvs))
	for i, x := range kvs {
		parts[i] = x.k + `="` + x.v + `"`
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// delta is how much each series moved between two scrapes; a series
// missing from either is a failure (every family exists from start), but
// for a rule's decisions, which appear with its first decision.
func delta(t *testing.T, before, after map[string]float64, s string) float64 {
	t.Helper()
	b, ok1 := before[s]
	a, ok2 := after[s]
	if !ok1 && strings.HasPrefix(s, "tssgate_decisions_total{") {
		ok1 = true
	}
	if !ok1 || !ok2 {
		t.Fatalf("series %s missing (before: %v, after: %v)", s, ok1, ok2)
	}
	return a - b
}

// startMetricsServe runs serve in dev mode with the metrics policy and a
// metrics listener on a free port; it returns the check base URL, the
// metrics address, the data dir and the logs.
func startMetricsServe(t *testing.T, args ...string) (base, maddr, dir string, logs *syncBuffer) {
	t.Helper()
	dir = t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, metricsPolicy)
	base, stdout, logs := startServeLogs(t, append([]string{"--dev", "--data-dir", dir, "--policy", pol, "--metrics-listen", "127.0.0.1:0"}, args...)...)
	m := metricsRE.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no metrics address on stdout:\n%s", stdout.String())
	}
	return base, m[1], dir, logs
}

// foreignNode signs with a key tssgate does not trust.
func foreignNode(t *testing.T, known *simulate.Node) *simulate.Node {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	n := *known
	n.Signer = &token.Signer{Key: k}
	return &n
}

// TestServeMetrics (issue 13): a scrape of a running server sees every
// family from start, and the counters move for an approval, a policy
// rejection, a limit rejection, a status-10 request, status-20 tokens
// (unknown key; expired from a known key) and the TSS Node key's
// last-verified time; /readyz reports that time too.
func TestServeMetrics(t *testing.T) {
	base, maddr, dir, _ := startMetricsServe(t)
	node := devNode(t, dir, base)
	before := scrape(t, maddr)

	// Families that must exist before any request.
	for _, s := range []string{
		series("tssgate_tss_node_key_last_verified_timestamp_seconds", "key", devNodeKeyName),
		series("tssgate_limit_rejections_total", "limit", "one-per-node"),
		series("tssgate_reloads_total", "subject", "policy", "result", "failure"),
		series("tssgate_reloads_total", "subject", "tss_node_keys", "result", "success"),
		series("tssgate_token_failures_total", "key", "none", "reason", "bad_signature"),
		series("tssgate_token_failures_total", "key", devNodeKeyName, "reason", "expired"),
		series("tssgate_store_errors_total", "op", "commit"),
		series("tssgate_ready"),
		"tssgate_decision_duration_seconds_count",
		"tssgate_store_commit_duration_seconds_count",
		"tssgate_store_group_commit_size_count",
		series("tssgate_tx_verification_failures_total", "chain", "none", "field", "destination"),
	} {
		if _, ok := before[s]; !ok {
			t.Errorf("series %s missing at start", s)
		}
	}
	if before[series("tssgate_tss_node_key_last_verified_timestamp_seconds", "key", devNodeKeyName)] != 0 {
		t.Error("last-verified is set before any request")
	}
	if before["tssgate_ready"] != 1 {
		t.Errorf("tssgate_ready = %v at start", before["tssgate_ready"])
	}

	ks := newKeysign(t)
	if r, _ := check(t, node, ks); !r.Approves() {
		t.Fatalf("KEYSIGN answered %+v", r)
	}
	if r, _ := check(t, node, ks); !r.Approves() {
		t.Fatalf("retry of the KEYSIGN answered %+v", r)
	}
	sample := func(typ protocol.RequestType) protocol.CallbackRequest {
		req, err := simulate.NewRequest(protocol.V2, typ, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	if r, _ := check(t, node, sample(protocol.TypeKeyGen)); !r.Approves() {
		t.Fatalf("first KEYGEN answered %+v", r)
	}
	if r, _ := check(t, node, sample(protocol.TypeKeyGen)); r.Approves() || r.Status != 0 {
		t.Fatalf("second KEYGEN (over the limit) answered %+v", r)
	}
	if r, _ := check(t, node, sample(protocol.TypeKeyReshare)); r.Approves() || r.Status != 0 {
		t.Fatalf("KEYRESHARE answered %+v", r)
	}
	if res, err := foreignNode(t, node).Check(context.Background(), protocol.V2, newKeysign(t)); err != nil || res.Response.Status != protocol.StatusInvalidToken {
		t.Fatalf("unknown key: %v %+v", err, res)
	}
	expired := *node
	expired.Signer = &token.Signer{Key: node.Signer.Key, Now: func() time.Time { return time.Now().Add(-time.Hour) }}
	if res, err := expired.Check(context.Background(), protocol.V2, newKeysign(t)); err != nil || res.Response.Status != protocol.StatusInvalidToken {
		t.Fatalf("expired token: %v %+v", err, res)
	}
	resp, err := http.Post(base+protocol.PathV1, "application/x-www-form-urlencoded", strings.NewReader("x=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	after := scrape(t, maddr)
	for _, tc := range []struct {
		series string
		want   float64
	}{
		{series("tssgate_replies_total", "version", "v2", "type", "KEYSIGN", "action", "APPROVE", "status", "0"), 2},
		{series("tssgate_replies_total", "version", "v2", "type", "KEYGEN", "action", "APPROVE", "status", "0"), 1},
		{series("tssgate_replies_total", "version", "v2", "type", "KEYGEN", "action", "REJECT", "status", "0"), 1},
		{series("tssgate_replies_total", "version", "v2", "type", "KEYRESHARE", "action", "REJECT", "status", "0"), 1},
		{series("tssgate_replies_total", "version", "v2", "type", "none", "action", "REJECT", "status", "20"), 2},
		{series("tssgate_replies_total", "version", "v1", "type", "none", "action", "REJECT", "status", "10"), 1},
		{series("tssgate_decisions_total", "rule", "small-eth", "action", "APPROVE"), 1},
		{series("tssgate_decisions_total", "rule", "keygen", "action", "APPROVE"), 1},
		{series("tssgate_decisions_total", "rule", "one-per-node", "action", "REJECT"), 1},
		{series("tssgate_decisions_total", "rule", "default", "action", "REJECT"), 1},
		{series("tssgate_limit_rejections_total", "limit", "one-per-node"), 1},
		{series("tssgate_token_failures_total", "key", "none", "reason", "bad_signature"), 1},
		{series("tssgate_token_failures_total", "key", devNodeKeyName, "reason", "expired"), 1},
		{"tssgate_decision_duration_seconds_count", 8},
		// Four new decisions, and the retry, whose commit finds its record
		// (and writes nothing).
		{"tssgate_store_commit_duration_seconds_count", 5},
		{series("tssgate_store_errors_total", "op", "commit"), 0},
	} {
		if got := delta(t, before, after, tc.series); got != tc.want {
			t.Errorf("%s moved by %v, want %v", tc.series, got, tc.want)
		}
	}
	if got := delta(t, before, after, "tssgate_store_group_commit_size_sum"); got != 5 {
		t.Errorf("group commits took %v decisions, want 5 (four new, one retry)", got)
	}
	last := after[series("tssgate_tss_node_key_last_verified_timestamp_seconds", "key", devNodeKeyName)]
	if age := float64(time.Now().UnixNano())/1e9 - last; age < 0 || age > 60 {
		t.Errorf("last-verified is %v s old", age)
	}
	_, body := readyzBody(t, base)
	if !regexp.MustCompile(`"tss_node_keys_last_verified":\{"` + devNodeKeyName + `":"20\d\d-`).MatchString(body) {
		t.Errorf("/readyz does not report the key's last verification: %s", body)
	}
	// The check port serves no metrics.
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the check port: %s", resp.Status)
	}
}

// TestServeMetricsStoreFailure (issue 13): on PostgreSQL behind a proxy
// that goes down, a KEYSIGN is a status 30 and the scrape shows it: the
// status-30 reply, a store error, and readiness 0.
func TestServeMetricsStoreFailure(t *testing.T) {
	direct := storetest.PostgresSchema(t)
	proxy, proxied := storetest.ProxyPostgres(t, direct)
	base, maddr, dir, _ := startMetricsServe(t, "--store", proxied)
	node := devNode(t, dir, base)
	waitReadyz(t, base, http.StatusOK, `"ready":true`)
	before := scrape(t, maddr)
	proxy.SetDown(true)
	r, _ := check(t, node, newKeysign(t))
	if r.Status != protocol.StatusInternalError {
		t.Fatalf("KEYSIGN with the store down answered %+v", r)
	}
	waitReadyz(t, base, http.StatusServiceUnavailable, `"store"`)
	after := scrape(t, maddr)
	proxy.SetDown(false)
	if got := delta(t, before, after, series("tssgate_replies_total", "version", "v2", "type", "KEYSIGN", "action", "REJECT", "status", "30")); got != 1 {
		t.Errorf("status-30 replies moved by %v, want 1", got)
	}
	errs := delta(t, before, after, series("tssgate_store_errors_total", "op", "get")) +
		delta(t, before, after, series("tssgate_store_errors_total", "op", "commit")) +
		delta(t, before, after, series("tssgate_store_errors_total", "op", "probe"))
	if errs < 1 {
		t.Errorf("store errors moved by %v, want at least 1", errs)
	}
	if after["tssgate_ready"] != 0 {
		t.Errorf("tssgate_ready = %v with the store down", after["tssgate_ready"])
	}
	waitReadyz(t, base, http.StatusOK, `"ready":true`)
}

// TestServeMetricsBusyPort: a busy metrics address stops start-up with an
// error naming it, as a busy check port does.
func TestServeMetricsBusyPort(t *testing.T) {
	_, maddr, _, _ := startMetricsServe(t)
	code, _, errOut := runCmd(t, "serve", "--dev", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--metrics-listen", maddr)
	if code != 1 || !strings.Contains(errOut, "metrics listen ("+maddr) {
		t.Fatalf("serve on a busy metrics port: exit %d, stderr %s", code, errOut)
	}
}

var metricNameRE = regexp.MustCompile(`\b(?:tssgate|process)_[a-z0-9_]+\b`)

// TestMonitoringExamplesUseExportedMetrics: every metric the example alert
// rules and dashboard name is one a running server exports.
func TestMonitoringExamplesUseExportedMetrics(t *testing.T) {
	_, maddr, _, _ := startMetricsServe(t)
	got := scrape(t, maddr)
	exported := map[string]bool{}
	for s := range got {
		name, _, _ := strings.Cut(s, "{")
		exported[name] = true
	}
	for _, f := range []string{"alerts.yaml", "dashboard.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "monitoring", f))
		if err != nil {
			t.Fatal(err)
		}
		names := metricNameRE.FindAllString(string(b), -1)
		if len(names) == 0 {
			t.Errorf("%s names no metric", f)
		}
		for _, n := range names {
			if !exported[n] && !exported[n+"_bucket"] {
				t.Errorf("%s uses %s, which the server does not export", f, n)
			}
		}
	}
}
