// Package metrics is tssgate's Prometheus instrumentation: it owns every
// metric family the server exports, their names, labels and buckets, and
// the HTTP handler that serves them (on a listener of its own, never the
// check endpoint's).
//
// It observes through seams the other packages offer and imports nothing
// they would need back: server.Observer (every reply), a wrapping
// store.Store (commit latency and errors), the SQLite store's batch
// observer, the policy Holder's reload observer, and a TxVerifier wrapper.
// Only cmd/tssgate wires it.
//
// Labels are bounded: versions, types, actions and statuses are mapped to
// fixed sets; rule and limit names come from the policy file; key names
// from the configuration; token failure reasons from token.FailureReasons.
// No request id, address, amount or other request-chosen text is a label.
//
// Every family exists from the first scrape, with a series for each
// configured TSS Node key, limit and reload result, so that an alert on
// "no verified request for an hour" or "a reload failed" never waits for a
// first event. The per-reply cost is a few atomic adds on counters
// resolved at start (no allocation, no label hashing) for the common
// path; rule names are resolved once and cached.
package metrics

import (
	"errors"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tssgate/internal/gate"
	"tssgate/internal/protocol"
	"tssgate/internal/token"
)

// Namespace prefixes every family name.
const Namespace = "tssgate"

// Label values for what a reply carries outside the fixed sets.
const (
	// None is the label of an absent value: a reply before its type was
	// decoded, a token failure before any key verified it.
	None = "none"
	// Other is the label of a value outside a fixed set (an unknown
	// request type, say), so that no request can create a series.
	Other = "other"
)

// Reload subjects: what a SIGHUP (or the policy poll) reloads.
const (
	ReloadPolicy   = "policy"
	ReloadNodeKeys = "tss_node_keys"
	ReloadServer   = "server_key"
	ReloadTLS      = "tls_certificate"
)

// ReloadSubjects lists every reload subject, each with a series per result
// from the start.
var ReloadSubjects = []string{ReloadPolicy, ReloadNodeKeys, ReloadServer, ReloadTLS}

// Reload results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// DecisionBuckets are the decision latency buckets, in seconds: fine below
// a second, where decisions live, and on past the TSS Node's 10 s
// request_timeout, so a stuck decision is seen as one.
var DecisionBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 30}

// CommitBuckets are the store commit latency buckets, in seconds.
var CommitBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15}

// BatchBuckets are the group-commit size buckets, in decisions.
var BatchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}

// Build identifies the running binary for the build-info metric.
type Build struct {
	Version, Revision, GoVersion, Crypto string
}

// Options configures New.
type Options struct {
	// NodeKeys are the configured TSS Node key names; each gets its series
	// at start (more can be added by SetNodeKeys after a reload).
	NodeKeys []string
	// Limits are the policy's velocity limit names (SetLimits after a
	// reload).
	Limits []string
	// Rules are the policy's rules (and "default") with their actions; each
	// gets its decisions series at start (SetRules after a reload).
	Rules []Rule
	// PolicyVersion is the policy in force ("" without a policy file).
	PolicyVersion string
	// Build labels the build-info metric.
	Build Build
	// Ready reports readiness for the readiness gauge, at each scrape; nil
	// means always ready.
	Ready func() bool
}

// Rule is a rule name and the action it decides, for SetRules.
type Rule struct {
	Name   string
	Action protocol.Action
}

// Metrics holds every family. It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	replies   *prometheus.CounterVec
	replyFast [2][numTypes][2][numStatus]prometheus.Counter
	decisions *prometheus.CounterVec
	// ruleCache holds, per action index, the counters by rule name:
	// copy-on-write maps, so the hot path is one atomic load and a map
	// lookup, with no allocation.
	ruleCache     [2]atomic.Pointer[map[string]prometheus.Counter]
	limitRejects  *prometheus.CounterVec
	verifyFails   *prometheus.CounterVec
	tokenFails    *prometheus.CounterVec
	lastVerified  *prometheus.GaugeVec
	latency       prometheus.Histogram
	commitLatency prometheus.Histogram
	storeErrors   *prometheus.CounterVec
	batchSize     prometheus.Histogram
	reloads       *prometheus.CounterVec
	policyInfo    *prometheus.GaugeVec
	frozen        prometheus.Gauge
	frozenRejects prometheus.Counter

	mu       sync.Mutex
	keys     map[string]*keyState // by key name; replaced whole under mu
	keysSnap atomic.Pointer[map[string]*keyState]
	policy   string
}

// keyState is one TSS Node key's last verification, for the gauge and for
// /readyz.
type keyState struct {
	gauge prometheus.Gauge
	last  atomic.Int64 // unix nanoseconds; 0: never since start
}

var (
	versions = [2]protocol.Version{protocol.V1, protocol.V2}
	actions  = [2]protocol.Action{protocol.ActionApprove, protocol.ActionReject}
	types    = [...]string{"PING", "KEYGEN", "KEYSIGN", "KEYRESHARE", "KEYSHARESIGN", None, Other}
	statuses = [...]string{"0", "10", "20", "30", Other}
)

const (
	numTypes  = len(types)
	numStatus = len(statuses)
)

func typeIndex(t string) int {
	switch t {
	case "PING":
		return 0
	case "KEYGEN":
		return 1
	case "KEYSIGN":
		return 2
	case "KEYRESHARE":
		return 3
	case "KEYSHARESIGN":
		return 4
	case "":
		return 5
	}
	return 6
}

func statusIndex(s protocol.Status) int {
	switch s {
	case protocol.StatusOK:
		return 0
	case protocol.StatusInvalidRequest:
		return 1
	case protocol.StatusInvalidToken:
		return 2
	case protocol.StatusInternalError:
		return 3
	}
	return 4
}

// keyedReasons are the token failures found after a key verified the
// signature: the ones a key-named series can carry.
var keyedReasons = []string{
	token.FailExpRequired, token.FailExpired, token.FailExpTooFar, token.FailNotYetValid,
	token.FailIssuedFuture, token.FailClaims, token.FailPayload,
}

// New registers every family in a registry of its own (with the Go runtime
// and process collectors) and initialises the series of opts.
func New(opts Options) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg, keys: map[string]*keyState{}}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }

	m.replies = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "replies_total",
		Help: "Replies to check requests, by protocol version, request type, action and status (invalid and unauthenticated requests included)."},
		[]string{"version", "type", "action", "status"})
	f(m.replies)
	for vi, v := range versions {
		for ti, t := range types {
			for ai, a := range actions {
				for si, s := range statuses {
					m.replyFast[vi][ti][ai][si] = m.replies.WithLabelValues(string(v), t, string(a), s)
				}
			}
		}
	}
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "decisions_total",
		Help: "Evaluated decisions (status 0, not answered from the record), by the rule, limit or builtin that decided and the action."},
		[]string{"rule", "action"})
	f(m.decisions)
	m.limitRejects = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "limit_rejections_total",
		Help: "Approvals turned into REJECT by a velocity limit, by limit."}, []string{"limit"})
	f(m.limitRejects)
	m.verifyFails = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "tx_verification_failures_total",
		Help: "KEYSIGN transactions whose bytes did not verify against the description, by chain decoder and failing field."},
		[]string{"chain", "field"})
	f(m.verifyFails)
	for _, fld := range verifyFields {
		m.verifyFails.WithLabelValues(None, fld)
	}
	m.tokenFails = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "token_failures_total",
		Help: "Request tokens refused (status 20, or 10 for a bad package_data), by reason and by the TSS Node key that verified the signature (none when no key did)."},
		[]string{"reason", "key"})
	f(m.tokenFails)
	for _, r := range token.FailureReasons {
		m.tokenFails.WithLabelValues(r, None)
	}
	m.lastVerified = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "tss_node_key_last_verified_timestamp_seconds",
		Help: "Unix time a TSS Node key last verified a request; 0 when it has not since start."}, []string{"key"})
	f(m.lastVerified)
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "decision_duration_seconds",
		Help: "Time from a check request's arrival to its signed reply (the TSS Node waits 10 s).", Buckets: DecisionBuckets})
	f(m.latency)
	m.commitLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "store_commit_duration_seconds",
		Help: "Time to record one decision in the store, waiting for its group commit included.", Buckets: CommitBuckets})
	f(m.commitLatency)
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "store_errors_total",
		Help: "Store operations that failed (each one a status 30 or a not-ready store), by operation."}, []string{"op"})
	f(m.storeErrors)
	for _, op := range []string{OpCommit, OpCommitUnknown, OpGet, OpProbe} {
		m.storeErrors.WithLabelValues(op)
	}
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "store_group_commit_size",
		Help: "Decisions per SQLite group commit (one transaction).", Buckets: BatchBuckets})
	f(m.batchSize)
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "reloads_total",
		Help: "Reloads of the policy, the TSS Node keys, the server key and the TLS certificate, by subject and result."},
		[]string{"subject", "result"})
	f(m.reloads)
	for _, s := range ReloadSubjects {
		m.reloads.WithLabelValues(s, ResultSuccess)
		m.reloads.WithLabelValues(s, ResultFailure)
	}
	m.policyInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "policy_info",
		Help: "The policy version in force (1), \"none\" without a policy file."}, []string{"version"})
	f(m.policyInfo)
	m.SetPolicyVersion(opts.PolicyVersion)
	m.frozen = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "frozen",
		Help: "1 while an operator freeze is active (every key task but PING is rejected), else 0; polled from the store about once a second."})
	f(m.frozen)
	m.frozenRejects = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "frozen_rejections_total",
		Help: "Key tasks answered REJECT because signing is frozen (new decisions and retries of recorded approvals)."})
	f(m.frozenRejects)
	ready := opts.Ready
	if ready == nil {
		ready = func() bool { return true }
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "ready",
		Help: "1 when /readyz would answer ready, else 0."}, func() float64 {
		if ready() {
			return 1
		}
		return 0
	}))
	b := opts.Build
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "The running build (1): version, VCS revision, Go version and the crypto behind RSA."},
		[]string{"version", "revision", "goversion", "crypto"})
	info.WithLabelValues(b.Version, b.Revision, b.GoVersion, b.Crypto).Set(1)
	f(info)
	m.SetNodeKeys(opts.NodeKeys)
	m.SetLimits(opts.Limits)
	m.SetRules(opts.Rules)
	return m
}

// Store operations of store_errors_total.
const (
	OpCommit        = "commit"
	OpCommitUnknown = "commit_outcome_unknown"
	OpGet           = "get"
	OpProbe         = "probe"
)

// verifyFields are txverify's failure fields (txverify.Result.Field): the
// label set of tx_verification_failures_total.
var verifyFields = []string{"request", "bip32_path_list", "token_id", "chain_id", "destination_type",
	"unsigned_raw_tx", "msg_hash_list", "token", "method", "destination", "amount", "value",
	"calldata", "instruction", "internal"}

// verifyChains are txverify's decoder families.
var verifyChains = map[string]bool{"evm": true, "tron": true, "solana": true}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for tests that gather directly.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetNodeKeys makes names the configured TSS Node keys: each gets its
// last-verified series and keyed token-failure series. A key that goes
// away keeps its series (its counters stay true) but leaves /readyz.
func (m *Metrics) SetNodeKeys(names []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]*keyState, len(names))
	for _, n := range names {
		ks := m.keys[n]
		if ks == nil {
			ks = &keyState{gauge: m.lastVerified.WithLabelValues(n)}
			for _, r := range keyedReasons {
				m.tokenFails.WithLabelValues(r, n)
			}
		}
		next[n] = ks
	}
	m.keys = next
	m.keysSnap.Store(&next)
}

// SetLimits gives the policy's limit names their series.
func (m *Metrics) SetLimits(names []string) {
	for _, n := range names {
		m.limitRejects.WithLabelValues(n)
	}
}

// SetRules gives the policy's rules their decisions series.
func (m *Metrics) SetRules(rules []Rule) {
	for _, r := range rules {
		ai := 1
		if r.Action == protocol.ActionApprove {
			ai = 0
		}
		m.decisionCounter(r.Name, ai)
	}
}

// SetPolicyVersion makes version the one policy_info series at 1.
func (m *Metrics) SetPolicyVersion(version string) {
	if version == "" {
		version = None
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.policy == version {
		return
	}
	if m.policy != "" {
		m.policyInfo.DeleteLabelValues(m.policy)
	}
	m.policy = version
	m.policyInfo.WithLabelValues(version).Set(1)
}

// Reloaded counts one reload of subject (one of ReloadSubjects) by result.
func (m *Metrics) Reloaded(subject string, err error) {
	r := ResultSuccess
	if err != nil {
		r = ResultFailure
	}
	m.reloads.WithLabelValues(subject, r).Inc()
}

// LastVerified returns, for each configured TSS Node key, when it last
// verified a request (RFC 3339, UTC) or nil when it has not since start:
// the per-key detail of /readyz.
func (m *Metrics) LastVerified() map[string]any {
	snap := *m.keysSnap.Load()
	out := make(map[string]any, len(snap))
	for n, ks := range snap {
		if ns := ks.last.Load(); ns != 0 {
			out[n] = time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
		} else {
			out[n] = nil
		}
	}
	return out
}

// ObserveReply implements server.Observer.
func (m *Metrics) ObserveReply(o *gate.Outcome, latency time.Duration) {
	vi := 0
	if o.Version == protocol.V2 {
		vi = 1
	}
	ai := 1
	if o.Approves() {
		ai = 0
	}
	m.replyFast[vi][typeIndex(o.Type)][ai][statusIndex(o.Status)].Inc()
	m.latency.Observe(latency.Seconds())
	if o.KeyName != "" {
		if ks := (*m.keysSnap.Load())[o.KeyName]; ks != nil {
			now := time.Now()
			ks.last.Store(now.UnixNano())
			ks.gauge.Set(float64(now.UnixNano()) / 1e9)
		}
	}
	switch o.Status {
	case protocol.StatusOK:
		if !o.Replayed {
			m.decided(o.Rule, ai)
		}
		if o.Limit != "" {
			m.limitRejects.WithLabelValues(o.Limit).Inc()
		}
		if o.Rule == gate.RuleFrozen && !o.Approves() {
			m.frozenRejects.Inc()
		}
	case protocol.StatusInvalidToken, protocol.StatusInvalidRequest:
		if o.Cause != nil && (errors.Is(o.Cause, token.ErrInvalid) || errors.Is(o.Cause, token.ErrPayload)) {
			key := token.FailedKey(o.Cause)
			if key == "" {
				key = None
			}
			m.tokenFails.WithLabelValues(token.FailureReason(o.Cause), key).Inc()
		}
	}
}

func (m *Metrics) decided(rule string, ai int) { m.decisionCounter(rule, ai).Inc() }

// decisionCounter resolves a rule's counter once; the cache keeps the
// label hashing off the hot path.
func (m *Metrics) decisionCounter(rule string, ai int) prometheus.Counter {
	if p := m.ruleCache[ai].Load(); p != nil {
		if c, ok := (*p)[rule]; ok {
			return c
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := map[string]prometheus.Counter{}
	if p := m.ruleCache[ai].Load(); p != nil {
		old = *p
	}
	if c, ok := old[rule]; ok {
		return c
	}
	next := make(map[string]prometheus.Counter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	c := m.decisions.WithLabelValues(rule, string(actions[ai]))
	next[rule] = c
	m.ruleCache[ai].Store(&next)
	return c
}

// SetFrozen sets the freeze gauge: 1 when active freezes exist, else 0.
func (m *Metrics) SetFrozen(active int) {
	if active > 0 {
		m.frozen.Set(1)
		return
	}
	m.frozen.Set(0)
}

// VerificationFailed counts one KEYSIGN whose transaction did not verify:
// chain is the decoder family ("" when nothing decoded), field the failing
// field of txverify.Result.
func (m *Metrics) VerificationFailed(chain, field string) {
	if !verifyChains[chain] {
		if chain == "" {
			chain = None
		} else {
			chain = Other
		}
	}
	known := false
	for _, f := range verifyFields {
		if f == field {
			known = true
			break
		}
	}
	if !known {
		field = Other
	}
	m.verifyFails.WithLabelValues(chain, field).Inc()
}

// GroupCommit observes one group commit of n decisions.
func (m *Metrics) GroupCommit(n int) { m.batchSize.Observe(float64(n)) }

// BuildFromBinary fills Build's revision from the binary's build info.
func BuildFromBinary(version, crypto string) Build {
	b := Build{Version: version, Revision: "unknown", GoVersion: "unknown", Crypto: crypto}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				b.Revision = s.Value
			}
		}
	}
	return b
}
