// Package replay re-decides recorded decisions under a candidate policy
// and reports what would change: the engine behind `tssgate policy
// replay`.
//
// The whole log is read, in Seq (commit) order from its first row, and
// every row must continue the hash chain (chainverify, the check
// Store.Verify runs): a row changed in the database would otherwise be
// trusted as recorded. Since, Until and Type choose what is reported, not
// what is read.
//
// Each recorded request is decided as it was: its package_data is rebuilt
// from the canonical request the decision log keeps (Rebuild, which also
// requires the row's type to be its request's), and run through the
// decision pipeline serve runs (gate: decode, transaction verification
// with the caller's verifier, outpoint claims, the candidate's rules,
// velocity limits), with the record's ReceivedAt as the clock. The
// pipeline's store is an in-memory simulation (internal/store/memledger):
// limits and outpoint claims are counted over the sequence, in Seq order,
// exactly as the stores count them. Nothing is written to the store read
// from: it should be opened read-only. Records received at or after Until
// are decided too, unreported, since one committed before a reported
// record counted toward its limits.
//
// History before Since: every row received before Since is applied, at
// its place in the log, as recorded: an approval counts toward the
// candidate's limits with the candidate's keys and amounts
// (policy.Policy.LimitUses), whatever the candidate's caps say, so its
// transaction counts once per limit and key from then on as the stores
// count it; a request's outpoint claims stand; freezes, their lifting and
// cleared outpoints apply. That is exact, and costs about what replaying
// from the start costs.
//
// Memory: rows stream, and the simulated ledger's entries are pruned
// beyond the candidate's longest window plus pruneSlack, but every counted
// (limit, key, transaction) and every first outpoint claim is kept for the
// whole log (see memledger): they grow with the approvals and the UTXO
// inputs, not with the rest.
//
// Fail closed: a broken chain (ErrChainBroken), a record whose rebuilt
// request does not hash to the recorded request_hash, or a simulation that
// cannot answer exactly, stops the replay with an error: a report is
// either exact or not given.
package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"tssgate/internal/gate"
	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/chainverify"
	"tssgate/internal/store/memledger"
	"tssgate/internal/token"
)

// DefaultExamples is how many examples of each kind of change a Report
// keeps when Config.Examples is zero.
const DefaultExamples = 10

// pruneEvery is how many records pass between two prunes of the
// simulated ledger's entries; pruneSlack is how far out of order (by
// ReceivedAt, against Seq) the log may be and still be replayed after a
// prune (a record further out of order stops the replay with
// memledger.ErrPruned rather than count less).
const (
	pruneEvery = 4096
	pruneSlack = 24 * time.Hour
)

// ErrChainBroken is returned (wrapped, with the row and the problem) when
// a record read does not continue the hash chain: a Seq gap, a PrevHash
// that is not the previous row's Hash, or a Hash or RequestHash that does
// not match the row's content. A row changed in the database (its action,
// its type) would otherwise be trusted as recorded.
var ErrChainBroken = errors.New("the decision log's hash chain is broken")

// Config says what to replay and how.
type Config struct {
	// Store is the decision log to read (opened read-only). Required.
	Store store.Store
	// Candidate is the policy to decide with. Required.
	Candidate *policy.Policy
	// VerifyTx is the transaction verifier serve uses (with the
	// configuration's tokens and ABIs); nil decides every KEYSIGN as
	// unverified, as serve without a verifier would.
	VerifyTx protocol.TxVerifier
	// Since and Until bound the reported records by ReceivedAt (Since
	// inclusive, Until exclusive), when not zero. The whole log is read
	// either way: the records received before Since are applied as
	// recorded (seeds), those received at or after Until are decided
	// under the candidate, unreported.
	Since, Until time.Time
	// Type reports only records of that request type name ("KEYSIGN"),
	// when not empty. Records of other types in the period are still
	// replayed, unreported: their approvals count toward the candidate's
	// limits as they would have.
	Type string
	// Examples bounds the examples kept per kind of change; 0 means
	// DefaultExamples, negative none.
	Examples int
	// Progress, when not nil, is called after every 1000 replayed records
	// with the count so far.
	Progress func(replayed int64)
}

// Example is one changed decision, for a human to look at.
type Example struct {
	RequestID  string    `json:"request_id"`
	ReceivedAt time.Time `json:"received_at"`
	Type       string    `json:"type"`
	Token      string    `json:"token,omitempty"`
	Amount     string    `json:"amount,omitempty"`
	OldAction  string    `json:"old_action"`
	OldRule    string    `json:"old_rule"`
	OldStatus  int       `json:"old_status"`
	NewAction  string    `json:"new_action"`
	NewRule    string    `json:"new_rule"`
	NewReason  string    `json:"new_reason,omitempty"`
}

// Transition counts the decisions that went from one (action, rule) to
// another.
type Transition struct {
	OldAction string `json:"old_action"`
	OldRule   string `json:"old_rule"`
	NewAction string `json:"new_action"`
	NewRule   string `json:"new_rule"`
	Count     int64  `json:"count"`
}

// Unevaluated reports the records whose recorded reply was not an
// evaluation (status 10, 20 or 30: the policy never decided them). They
// are replayed too, and kept apart: their "change" is not a policy's, but
// one the candidate would approve is something a human must look at.
type Unevaluated struct {
	Replayed     int64     `json:"replayed"`
	WouldApprove int64     `json:"would_approve"`
	Examples     []Example `json:"examples"`
}

// Report is the outcome of a replay. Seeded counts the approvals
// received within the candidate's longest window before Since (those
// whose usage can reach the reported period; older ones are applied too,
// for their counted transactions), SeedLimitErrors the candidate limits
// that could not be evaluated for them.
type Report struct {
	PolicyName      string       `json:"policy"`
	Policy          string       `json:"policy_version"`
	Since           *time.Time   `json:"since,omitempty"`
	Until           *time.Time   `json:"until,omitempty"`
	Type            string       `json:"type,omitempty"`
	Replayed        int64        `json:"replayed"`
	Unchanged       int64        `json:"unchanged"`
	ApproveToReject int64        `json:"approve_to_reject"`
	RejectToApprove int64        `json:"reject_to_approve"`
	RuleChanged     int64        `json:"rule_changed"`
	Skipped         int64        `json:"skipped"`
	NotDecided      int64        `json:"not_decided"`
	Seeded          int64        `json:"seeded_approvals"`
	SeedLimitErrors int64        `json:"seeded_limit_errors"`
	Transitions     []Transition `json:"transitions"`
	Examples        struct {
		ApproveToReject []Example `json:"approve_to_reject"`
		RejectToApprove []Example `json:"reject_to_approve"`
	} `json:"examples"`
	Unevaluated Unevaluated `json:"unevaluated"`
	Seconds     float64     `json:"seconds"`
	PerSecond   float64     `json:"decisions_per_second"`
}

// Changed reports whether any decision would change: an approval that
// would be rejected, a rejection that would be approved, or an
// unevaluated record the candidate would approve. A rule change with the
// same action is not a change of decision.
func (r *Report) Changed() bool {
	return r.ApproveToReject > 0 || r.Loosens()
}

// Loosens reports whether anything would newly be approved.
func (r *Report) Loosens() bool {
	return r.RejectToApprove > 0 || r.Unevaluated.WouldApprove > 0
}

// Run replays the records cfg selects and returns the report. ctx cancels
// it. Errors: a bad Config, a store that cannot be read, a record that
// cannot be rebuilt exactly, or a simulation that cannot answer exactly.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Store == nil || cfg.Candidate == nil {
		return nil, errors.New("replay: Config.Store and Config.Candidate are required")
	}
	if cfg.Examples == 0 {
		cfg.Examples = DefaultExamples
	}
	e := &engine{cfg: cfg, ledger: memledger.New(), tally: map[Transition]int64{}}
	e.sim = &simStore{ledger: e.ledger}
	var err error
	e.gate, err = gate.New(gate.Config{
		// Records are replayed from their canonical request, whose
		// token was verified when it was recorded.
		Verifier: &token.Verifier{},
		Decider:  cfg.Candidate,
		VerifyTx: cfg.VerifyTx,
		Store:    e.sim,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:      func() time.Time { return e.now },
	})
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Candidate.Windows() {
		e.maxWindow = max(e.maxWindow, w)
	}
	r := &Report{PolicyName: cfg.Candidate.Summary().Name, Policy: cfg.Candidate.Version(), Type: cfg.Type}
	if !cfg.Since.IsZero() {
		r.Since = &cfg.Since
	}
	if !cfg.Until.IsZero() {
		r.Until = &cfg.Until
	}
	e.report = r
	start := time.Now()
	// The whole log, in Seq (commit) order, from its first row: the chain
	// can only be checked from its start, the stores remember counted
	// transactions and outpoint claims from the start, and serve decided
	// each request after the ones committed before it, whatever their
	// received times. Since and Until select what is reported, not what
	// is read.
	var chainCheck chainverify.Verifier
	if err := cfg.Store.List(ctx, store.Filter{}, func(rec *store.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if brk := chainCheck.Add(rec); brk != nil {
			return fmt.Errorf("%w at seq %d (%s): %s; run tssgate audit verify", ErrChainBroken, brk.Seq, brk.RequestID, brk.Problem)
		}
		if e.sincePrune++; e.sincePrune >= pruneEvery && e.maxWindow > 0 {
			e.ledger.Prune(rec.ReceivedAt.Add(-e.maxWindow - pruneSlack))
			e.sincePrune = 0
		}
		if !cfg.Since.IsZero() && rec.ReceivedAt.Before(cfg.Since) {
			return e.seed(ctx, rec)
		}
		return e.replay(ctx, rec)
	}); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	for t, n := range e.tally {
		t.Count = n
		r.Transitions = append(r.Transitions, t)
	}
	sort.Slice(r.Transitions, func(i, j int) bool {
		a, b := r.Transitions[i], r.Transitions[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
	r.Seconds = time.Since(start).Seconds()
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Replayed) / r.Seconds
	}
	return r, nil
}

type engine struct {
	cfg        Config
	gate       *gate.Gate
	sim        *simStore
	ledger     *memledger.Ledger
	now        time.Time
	maxWindow  time.Duration
	report     *Report
	tally      map[Transition]int64
	sincePrune int
}

// seed applies a record received before Since to the simulation as it
// was recorded: an operator record as operator does; a request's outpoint
// claims are claimed (the stores keep a first claim until it is cleared,
// however old); an approval counts toward the candidate's limits with the
// candidate's keys and amounts (policy.Policy.LimitUses), whatever the
// candidate's caps say, so that its usage is in the windows that reach it
// and its transaction counts once per limit and key from then on, as the
// stores count it.
func (e *engine) seed(ctx context.Context, rec *store.Record) error {
	if !replayable(rec) {
		return e.operator(rec)
	}
	req, err := e.decoded(rec)
	if err != nil {
		return err
	}
	if req.Type == protocol.TypeKeySign && e.cfg.VerifyTx != nil {
		req.Verification = e.cfg.VerifyTx(req)
	}
	if v := req.Verification; v != nil && v.Verified && len(v.Inputs) > 0 {
		claims := make([]store.OutpointClaim, len(v.Inputs))
		for i, in := range v.Inputs {
			claims[i] = store.OutpointClaim{Outpoint: in.Outpoint, Amount: in.Amount, RequestID: req.ID, At: req.ReceivedAt}
		}
		if _, err := e.ledger.ClaimOutpoints(claims); err != nil {
			return fmt.Errorf("record %d (%s): outpoint claims: %w", rec.Seq, rec.RequestID, err)
		}
	}
	if rec.Action != store.ActionApprove || e.maxWindow == 0 {
		return nil
	}
	uses, failed, err := e.cfg.Candidate.LimitUses(ctx, req)
	if err != nil {
		return fmt.Errorf("record %d (%s) before --since: the candidate's limits: %w", rec.Seq, rec.RequestID, err)
	}
	inWindow := !rec.ReceivedAt.Before(e.cfg.Since.Add(-e.maxWindow))
	if inWindow {
		// A limit that cannot be evaluated for this request would have
		// rejected it under the candidate: it consumes nothing there.
		e.report.SeedLimitErrors += int64(len(failed))
	}
	if err := e.ledger.Record(rec.ReceivedAt, rec.TxKey, uses); err != nil {
		return fmt.Errorf("record %d (%s) before --since: %w", rec.Seq, rec.RequestID, err)
	}
	if inWindow {
		e.report.Seeded++
	}
	return nil
}

// replayable reports whether rec is a request the pipeline decided (v1 or
// v2), as opposed to an operator action recorded in the log.
func replayable(rec *store.Record) bool {
	return rec.Version == string(protocol.V1) || rec.Version == string(protocol.V2)
}

// operator applies an operator record to the simulation: a cleared
// outpoint claim is cleared in the simulated claims too, and a freeze or
// its lifting freezes or thaws the simulated store from that point of the
// log on.
func (e *engine) operator(rec *store.Record) error {
	var act struct {
		Outpoint string `json:"outpoint"`
		FreezeID string `json:"freeze_id"`
		Reason   string `json:"reason"`
		Operator string `json:"operator"`
	}
	switch rec.Type {
	case "CLEAR_OUTPOINT", "FREEZE", "UNFREEZE":
	default:
		return nil
	}
	if err := json.Unmarshal(rec.Request, &act); err != nil {
		return fmt.Errorf("record %d (%s): the %s record does not read: %w", rec.Seq, rec.RequestID, rec.Type, err)
	}
	switch rec.Type {
	case "CLEAR_OUTPOINT":
		if act.Outpoint != "" {
			e.ledger.ClearOutpoint(act.Outpoint) // not found: nothing to clear
		}
	case "FREEZE":
		if store.ValidFreezeID(act.FreezeID) != nil {
			return fmt.Errorf("record %d (%s): a FREEZE record without a valid freeze_id", rec.Seq, rec.RequestID)
		}
		e.ledger.Freeze(store.Freeze{ID: act.FreezeID, Reason: act.Reason, By: act.Operator, At: rec.ReceivedAt, Seq: rec.Seq})
	case "UNFREEZE":
		e.ledger.Unfreeze(act.FreezeID)
	}
	return nil
}

func (e *engine) decoded(rec *store.Record) (*protocol.Request, error) {
	v, pd, err := Rebuild(rec)
	if err != nil {
		return nil, err
	}
	// Before --since nothing is recorded through the pipeline, whose
	// commit checks the rebuilt request against the record: check here
	// that the record is intact and names the request it rebuilt.
	if store.RequestHashOf(rec.Request) != rec.RequestHash {
		return nil, fmt.Errorf("record %d (%s): its request does not hash to its request_hash (run tssgate audit verify)", rec.Seq, rec.RequestID)
	}
	req, err := protocol.Decode(v, pd)
	if err != nil {
		return nil, fmt.Errorf("record %d (%s): the recorded request no longer decodes: %w", rec.Seq, rec.RequestID, err)
	}
	if req.ID != rec.RequestID {
		return nil, fmt.Errorf("record %d (%s): its request names request_id %q", rec.Seq, rec.RequestID, req.ID)
	}
	req.NodeKey, req.ReceivedAt = rec.NodeKey, rec.ReceivedAt
	return req, nil
}

func (e *engine) replay(ctx context.Context, rec *store.Record) error {
	r := e.report
	// Records received at or after Until are decided too, unreported:
	// one committed before a reported record counted toward its limits.
	reported := (e.cfg.Type == "" || rec.Type == e.cfg.Type) && (e.cfg.Until.IsZero() || rec.ReceivedAt.Before(e.cfg.Until))
	if !replayable(rec) {
		if reported {
			r.Skipped++
		}
		return e.operator(rec)
	}
	v, pd, err := Rebuild(rec)
	if err != nil {
		return err
	}
	e.now = rec.ReceivedAt
	e.sim.expect(rec)
	o := e.gate.CheckVerified(ctx, v, rec.NodeKey, pd)
	if err := e.sim.failure(); err != nil {
		return fmt.Errorf("record %d (%s): %w", rec.Seq, rec.RequestID, err)
	}
	if o.Status == protocol.StatusInvalidRequest {
		return fmt.Errorf("record %d (%s): the recorded request no longer decodes: %s", rec.Seq, rec.RequestID, o.Reason)
	}
	if !reported {
		return nil
	}
	r.Replayed++
	if e.cfg.Progress != nil && r.Replayed%1000 == 0 {
		e.cfg.Progress(r.Replayed)
	}
	newAction, newRule := string(o.Action), o.Rule
	if o.Status != protocol.StatusOK {
		// The candidate could not decide (an evaluation error): serve
		// would answer a status, which never approves.
		r.NotDecided++
		newAction, newRule = store.ActionReject, fmt.Sprintf("status %d", o.Status)
	}
	if newAction != store.ActionApprove {
		newAction = store.ActionReject
	}
	example := func() Example {
		ex := Example{RequestID: rec.RequestID, ReceivedAt: rec.ReceivedAt, Type: rec.Type, OldAction: rec.Action,
			OldRule: rec.Rule, OldStatus: rec.Status, NewAction: newAction, NewRule: newRule, NewReason: o.Reason}
		if req, err := protocol.Decode(v, pd); err == nil && req.KeySign != nil && req.KeySign.Tx != nil {
			ex.Token, ex.Amount = req.KeySign.Tx.TokenID, req.KeySign.Tx.Amount.String()
		}
		return ex
	}
	keep := func(list *[]Example) {
		if len(*list) < e.cfg.Examples {
			*list = append(*list, example())
		}
	}
	if rec.Status != 0 {
		r.Unevaluated.Replayed++
		if newAction == store.ActionApprove {
			r.Unevaluated.WouldApprove++
			keep(&r.Unevaluated.Examples)
		}
		return nil
	}
	oldAction := rec.Action
	switch {
	case oldAction == newAction && rec.Rule == newRule:
		r.Unchanged++
		return nil
	case oldAction == newAction:
		r.RuleChanged++
	case oldAction == store.ActionApprove:
		r.ApproveToReject++
		keep(&r.Examples.ApproveToReject)
	default:
		r.RejectToApprove++
		keep(&r.Examples.RejectToApprove)
	}
	e.tally[Transition{OldAction: oldAction, OldRule: rec.Rule, NewAction: newAction, NewRule: newRule}]++
	return nil
}

// Rebuild returns the protocol version and a package_data that decodes to
// the request rec records: request_detail and extra_info are the recorded
// canonical trees, sent as JSON objects (which protocol.Decode accepts as
// it accepts the node's JSON strings), with numbers as recorded. The
// replayed pipeline checks that the request it decodes hashes to
// rec.RequestHash. Errors name the record.
func Rebuild(rec *store.Record) (protocol.Version, []byte, error) {
	if pd, ok := rebuildCanonical(rec); ok {
		return protocol.Version(rec.Version), pd, nil
	}
	var c struct {
		Version     string          `json:"version"`
		RequestID   string          `json:"request_id"`
		RequestType string          `json:"request_type"`
		Detail      json.RawMessage `json:"request_detail"`
		Extra       json.RawMessage `json:"extra_info"`
	}
	bad := func(format string, args ...any) (protocol.Version, []byte, error) {
		return "", nil, fmt.Errorf("record %d (%s): the recorded request cannot be rebuilt: %s", rec.Seq, rec.RequestID, fmt.Sprintf(format, args...))
	}
	if err := json.Unmarshal(rec.Request, &c); err != nil {
		return bad("%v", err)
	}
	if c.Version != rec.Version || c.RequestID != rec.RequestID {
		return bad("its version %q and request_id %q are not the record's", c.Version, c.RequestID)
	}
	typ, err := protocol.ParseRequestType(c.RequestType)
	if err != nil {
		return bad("request_type: %v", err)
	}
	if typ.String() != rec.Type {
		return bad("its request_type %q is not the record's type %q", c.RequestType, rec.Type)
	}
	id, _ := json.Marshal(c.RequestID)
	var b strings.Builder
	b.Grow(len(rec.Request) + 64)
	b.WriteString(`{"request_id":`)
	b.Write(id)
	fmt.Fprintf(&b, `,"request_type":%d`, int(typ))
	for _, part := range []struct {
		name string
		raw  json.RawMessage
	}{{"request_detail", c.Detail}, {"extra_info", c.Extra}} {
		if len(part.raw) == 0 || string(part.raw) == "null" {
			continue
		}
		b.WriteString(`,"` + part.name + `":`)
		b.Write(part.raw)
	}
	b.WriteByte('}')
	return protocol.Version(c.Version), []byte(b.String()), nil
}

// rebuildCanonical is Rebuild's fast path for a request recorded in the
// canonical form the pipeline writes (gate.canonicalRequest: json.Marshal
// of the object, keys sorted, so it ends with request_type and then
// version): the recorded bytes are a package_data already, but for
// request_type, which is its name there and a number on the wire. The
// request_type member it replaces is the last `"request_type":` in the
// text followed by exactly `"NAME","version":"VERSION"}`, which only the
// top-level member can be (a nested one is inside request_detail or
// extra_info, which sort before it). Anything else takes the general
// path; either way the pipeline then checks the rebuilt request against
// the recorded hash.
func rebuildCanonical(rec *store.Record) ([]byte, bool) {
	b := rec.Request
	const member = `,"request_type":"`
	if !bytes.HasPrefix(b, []byte(`{"extra_info":`)) {
		return nil, false
	}
	i := bytes.LastIndex(b, []byte(member))
	if i < 0 {
		return nil, false
	}
	name, tail, ok := strings.Cut(string(b[i+len(member):]), `"`)
	if !ok || tail != `,"version":"`+rec.Version+`"}` {
		return nil, false
	}
	typ, err := protocol.ParseRequestType(name)
	if err != nil || typ.String() != name || name != rec.Type {
		return nil, false
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:i]...)
	out = append(out, `,"request_type":`...)
	out = strconv.AppendInt(out, int64(typ), 10)
	return append(out, '}'), true
}

// simStore is the pipeline's store during a replay: Commit decides limits
// in the simulated ledger, ClaimOutpoints claims in the simulated claims,
// and nothing is kept per request (each record is replayed once, so
// idempotency has nothing to answer). It checks that the request the
// pipeline rebuilt is the one recorded, and keeps the first failure for
// the engine: a replay that could not simulate exactly stops.
type simStore struct {
	ledger *memledger.Ledger
	rec    *store.Record
	err    error
}

func (s *simStore) expect(rec *store.Record) { s.rec, s.err = rec, nil }

func (s *simStore) failure() error { return s.err }

func (s *simStore) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return err
}

// Commit implements store.Store for the pipeline.
func (s *simStore) Commit(_ context.Context, rec store.Record, uses []store.LimitUse) (*store.Record, bool, error) {
	if got := store.RequestHashOf(rec.Request); s.rec == nil || got != s.rec.RequestHash {
		return nil, false, s.fail(fmt.Errorf("the rebuilt request hashes to %s, the record says %s: replay would not decide the recorded request", got, s.rec.RequestHash))
	}
	// A decision made while signing was frozen is frozen in the
	// simulation too (the freezes and their lifting are in the log).
	s.ledger.Frozen(&rec)
	if rec.Action == store.ActionApprove {
		limit, reason, err := s.ledger.Decide(rec.ReceivedAt, rec.TxKey, uses)
		if err != nil {
			return nil, false, s.fail(fmt.Errorf("simulated limits: %w", err))
		}
		if limit != "" {
			rec.Action, rec.Rule, rec.Reason = store.ActionReject, limit, reason
		}
	}
	return &rec, false, nil
}

// ClaimOutpoints implements store.Store for the pipeline.
func (s *simStore) ClaimOutpoints(_ context.Context, claims []store.OutpointClaim) ([]store.OutpointConflict, error) {
	c, err := s.ledger.ClaimOutpoints(claims)
	if err != nil {
		return nil, s.fail(fmt.Errorf("simulated outpoint claims: %w", err))
	}
	return c, nil
}

var errSim = errors.New("replay: not available in the replay simulation")

// Get implements store.Store: nothing is recorded in the simulation.
func (s *simStore) Get(context.Context, string) (*store.Record, error) {
	return nil, fmt.Errorf("%w (replay simulation)", store.ErrNotFound)
}

// List, Verify, LimitUsage, Probe and ClearOutpoint are not used by the
// pipeline; they fail.
func (s *simStore) List(context.Context, store.Filter, func(*store.Record) error) error {
	return errSim
}

// Verify implements store.Store; it fails.
func (s *simStore) Verify(context.Context) (*store.VerifyReport, error) { return nil, errSim }

// LimitUsage implements store.Store; it fails.
func (s *simStore) LimitUsage(context.Context, time.Time, map[string]time.Duration) ([]store.Usage, error) {
	return nil, errSim
}

// Probe implements store.Store; it fails.
func (s *simStore) Probe(context.Context) error { return errSim }

// ClearOutpoint implements store.Store; it fails.
func (s *simStore) ClearOutpoint(context.Context, string) (*store.OutpointClaim, error) {
	return nil, errSim
}

// ActiveFreezes implements store.Store: the freezes active at the
// replayed decision's time, as the log recorded them.
func (s *simStore) ActiveFreezes(context.Context) ([]store.Freeze, error) {
	return s.ledger.ActiveFreezes(), nil
}

// Freeze, GetFreeze, AddLiftSignature, LiftSignatures, Unfreeze,
// Governance and AdoptGovernance are not used by the pipeline; they fail.
func (s *simStore) Freeze(context.Context, store.Record, store.Freeze) (*store.Freeze, *store.Record, error) {
	return nil, nil, errSim
}

// GetFreeze implements store.Store; it fails.
func (s *simStore) GetFreeze(context.Context, string) (*store.Freeze, error) { return nil, errSim }

// AddLiftSignature implements store.Store; it fails.
func (s *simStore) AddLiftSignature(context.Context, string, string, string) error { return errSim }

// LiftSignatures implements store.Store; it fails.
func (s *simStore) LiftSignatures(context.Context, string) ([]store.LiftSignature, error) {
	return nil, errSim
}

// Unfreeze implements store.Store; it fails.
func (s *simStore) Unfreeze(context.Context, store.Record, string, []string) (*store.Freeze, *store.Record, error) {
	return nil, nil, errSim
}

// Governance implements store.Store; it fails.
func (s *simStore) Governance(context.Context) (*store.GovernanceState, error) { return nil, errSim }

// AdoptGovernance implements store.Store; it fails.
func (s *simStore) AdoptGovernance(context.Context, string, store.GovernanceState, store.Record) (*store.Record, error) {
	return nil, errSim
}

// Close implements store.Store.
func (s *simStore) Close() error { return nil }
