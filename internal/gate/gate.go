// Package gate is tssgate's decision pipeline, with no HTTP in it: given a
// protocol version and a request token, it returns the Outcome that the
// transport signs and sends back.
//
// The steps run in this order, each returning its result; only run
// writes the Outcome:
//
//	verify  the token against the configured TSS Node keys (token)
//	decode  package_data into a protocol.Request (protocol)
//	prove   a KEYSIGN's transaction bytes (the injected VerifyTx)
//	claim   a verified UTXO KEYSIGN's input amounts against the first
//	        claim of each outpoint (store; a conflict unverifies it)
//	decide  the Decider (a policy, or decision.Default)
//	record  the decision and its limit usage, atomically (store); a
//	        request_id already recorded is answered from its record
//	        instead (replay), and so is one whose evaluation failed
//	freeze  while an operator freeze is active, the store records a new
//	        approval (of anything but a PING) as a REJECT under
//	        RuleFrozen, in the commit's transaction, and a retry of an
//	        approval recorded before the freeze is answered REJECT too
//	        (the record stays; nothing is re-signed)
//
// The rules a custody team reasons about live here: what a request_id
// stands for (canonicalRequest), when a transaction counts once against a
// limit (txKey), how long an approval may be answered again
// (Config.ReplayMaxAge), and that an approval with limits but no store to
// enforce them is a status 30.
//
// Dependencies point inward: gate imports token, protocol, store and the
// leaf package decision, which holds the seam types (Decision, LimitUse,
// ShadowOutcome, Decider) that policy produces and store consumes. gate
// imports neither policy (nor cel-go) nor any chain verifier: the Decider
// and the transaction verifier are injected.
//
// Fail closed: only a complete run whose Decider approves and whose record
// (when there is a store) committed an APPROVE yields status 0 + APPROVE.
// Every error, timeout and panic ends in a non-approving Outcome, and every
// text an Outcome carries has passed text.Clean, so no reason can make an
// evaluated decision unrecordable. One clock (Config.Now) gives the
// received time, which is the policy's `now`, the replay age and the end
// of the store's limit windows.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/text"
	"tssgate/internal/token"
)

// Defaults for Config fields left zero.
const (
	DefaultDecideTimeout = 5 * time.Second
	DefaultReplayMaxAge  = 15 * time.Minute
)

// Built-in rule names the pipeline itself decides by.
const (
	// RuleRequestIDReused rejects a request whose request_id is recorded
	// for different content.
	RuleRequestIDReused = "builtin:request-id-reused"
	// RuleReplayTooOld rejects a retry of an approval older than
	// ReplayMaxAge.
	RuleReplayTooOld = "builtin:replay-too-old"
	// RuleFrozen rejects every key task while an operator freeze is
	// active: a new approval (the store's Commit turns it) and a retry of
	// an approval recorded before the freeze (the gate refuses to re-sign
	// it). A PING still approves.
	RuleFrozen = store.RuleFrozen
)

// Config configures a Gate. Verifier is required; everything else has a
// default.
type Config struct {
	// Verifier checks request tokens against the configured TSS Node keys.
	// A Verifier with an empty key set is allowed: every check is then
	// answered with status 20.
	Verifier *token.Verifier
	// Decider decides decoded requests; nil means decision.Default.
	Decider decision.Decider
	// VerifyTx checks a KEYSIGN's unsigned transaction against its
	// msg_hash_list and description; its result goes to the Decider on
	// Request.Verification. nil means no verification, which a policy
	// treats as unverified (and so, by default, rejects).
	VerifyTx protocol.TxVerifier
	// Store records every decision before it is answered, answers retries
	// of a request_id with the recorded decision, and enforces velocity
	// limits atomically with the record. nil means decisions live only in
	// the transport's log line: no idempotency, and an approval that
	// carries limits is answered with status 30.
	Store store.Store
	// Logger receives the pipeline's warnings and errors; nil means
	// slog.Default(). The one line per decision is the transport's.
	Logger *slog.Logger
	// DecideTimeout bounds one decision (replay lookup, Decider, record).
	// Zero means DefaultDecideTimeout.
	DecideTimeout time.Duration
	// ReplayMaxAge bounds how old a recorded APPROVE may be and still be
	// answered again for a retry of its request_id. A TSS Node retries
	// within about a minute; an approval asked for again much later is
	// answered REJECT instead. Zero means DefaultReplayMaxAge.
	ReplayMaxAge time.Duration
	// Debug logs decoded request payloads at debug level. Payloads can hold
	// business data, so this is off by default.
	Debug bool
	// Now is the pipeline's clock: the received time of every request,
	// hence the policy's `now`, the replay age and the limit windows. nil
	// means time.Now. Tests inject a fake clock instead of sleeping.
	Now func() time.Time
}

// Gate runs the decision pipeline. It is safe for concurrent use.
type Gate struct {
	cfg     Config
	log     *slog.Logger
	decider decision.Decider
}

// New validates cfg and returns a Gate. It returns an error if Verifier is
// missing.
func New(cfg Config) (*Gate, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("gate: Config.Verifier is required")
	}
	if cfg.DecideTimeout <= 0 {
		cfg.DecideTimeout = DefaultDecideTimeout
	}
	if cfg.ReplayMaxAge <= 0 {
		cfg.ReplayMaxAge = DefaultReplayMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Gate{cfg: cfg, log: cfg.Logger, decider: cfg.Decider}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.decider == nil {
		g.decider = decision.Default{}
	}
	return g, nil
}

// Now reads the pipeline's clock, so that a transport reporting time (the
// /ping endpoint) uses the clock its decisions use.
func (g *Gate) Now() time.Time { return g.cfg.Now() }

// Check runs the whole pipeline for one request token received on the
// endpoint of version v, and returns what to answer. It does not panic: a
// panic in any step (a Decider, a verifier, a store) is recovered into a
// status 30 that keeps the request_id already known. ctx carries the
// caller's deadline; the decision is further bounded by DecideTimeout.
func (g *Gate) Check(ctx context.Context, v protocol.Version, tok string) (o Outcome) {
	o = g.start(v)
	defer g.recoverInto(&o)
	verified, err := g.cfg.Verifier.Verify(tok)
	if err != nil {
		o.RequestID = token.EchoedRequestID(tok, err)
		if errors.Is(err, token.ErrPayload) {
			o.failWith(protocol.StatusInvalidRequest, err.Error(), err)
		} else {
			o.failWith(protocol.StatusInvalidToken, err.Error(), err)
		}
		o.Clean()
		return o
	}
	g.run(ctx, &o, verified.KeyName, verified.PackageData)
	return o
}

// CheckVerified runs the pipeline from decoding on, for package_data that
// the TSS Node key named keyName is taken to have signed. The caller
// vouches for that: serve never calls it (every callback goes through
// Check); `tssgate policy test`, which has requests but no tokens, does, so
// that its cases are decoded, proved, replayed, decided and recorded
// exactly as serve would, and so does `tssgate policy replay`, for requests
// rebuilt from the decision log (whose tokens were verified when they were
// recorded).
func (g *Gate) CheckVerified(ctx context.Context, v protocol.Version, keyName string, packageData []byte) (o Outcome) {
	o = g.start(v)
	defer g.recoverInto(&o)
	g.run(ctx, &o, keyName, packageData)
	return o
}

func (g *Gate) start(v protocol.Version) Outcome {
	return Outcome{Version: v, ReceivedAt: g.cfg.Now(), started: time.Now()}
}

// recoverInto turns a panic in the pipeline into a status 30.
func (g *Gate) recoverInto(o *Outcome) {
	if p := recover(); p != nil {
		g.log.Error("panic while answering a check",
			slog.String("version", string(o.Version)),
			slog.String("request_id", o.RequestID),
			slog.Any("panic", p),
			slog.String("stack", string(debug.Stack())))
		o.failWith(protocol.StatusInternalError, "internal error", fmt.Errorf("panic: %v", p))
		o.Replayed = false
		o.Clean()
	}
}

// run is the pipeline after token verification. The steps return their
// results; run alone writes o, and o ends clean.
func (g *Gate) run(ctx context.Context, o *Outcome, keyName string, packageData []byte) {
	defer o.Clean()
	o.KeyName = keyName
	if g.cfg.Debug {
		g.log.Debug("request payload", slog.String("version", string(o.Version)),
			slog.String("key", keyName), slog.String("package_data", string(packageData)))
	}

	req, err := protocol.Decode(o.Version, packageData)
	if err != nil {
		var de *protocol.DecodeError
		if errors.As(err, &de) {
			o.RequestID = de.RequestID
		}
		o.failWith(protocol.StatusInvalidRequest, err.Error(), err)
		return
	}
	req.NodeKey = keyName
	req.ReceivedAt = o.ReceivedAt
	o.RequestID = req.ID
	o.Type = req.Type.String()

	g.prove(req)

	ctx, cancel := context.WithTimeout(ctx, g.cfg.DecideTimeout)
	defer cancel()

	// A request is recorded when there is a store and an id to record it
	// under (only a PING may lack one).
	recordable := g.cfg.Store != nil && req.ID != ""
	var canonical []byte
	if recordable {
		canonical, err = canonicalRequest(req)
		if err != nil {
			g.log.Error("canonical request", slog.String("request_id", req.ID), slog.Any("error", err))
			o.failWith(protocol.StatusInternalError, "internal error", err)
			return
		}
	}

	if err := g.claimOutpoints(ctx, req, recordable); err != nil {
		g.log.Error("outpoint claims", slog.String("request_id", req.ID), slog.Any("error", err))
		o.failWith(protocol.StatusInternalError, "outpoint-claim memory unavailable", err)
		return
	}

	// The policy decides before the decision log is read: Commit finds a
	// recorded request_id itself, in the same transaction that would
	// record it, so a retry costs an evaluation but a new request saves a
	// lookup (record answers a retry from its record, as replay does).
	d, err := g.decider.Decide(ctx, req)
	if err != nil {
		if recordable {
			// A retry is answered from its record even when the policy
			// cannot decide now.
			if answer, ok := g.replay(ctx, req, canonical); ok {
				o.answer(answer)
				return
			}
		}
		g.log.Error("decision failed", slog.String("request_id", req.ID), slog.Any("error", err))
		o.failWith(protocol.StatusInternalError, "policy evaluation failed", err)
		return
	}
	if d.Approves() && len(d.Limits) > 0 && !recordable {
		// An approval with limits is conditional on them; with nothing to
		// check and record them atomically it must not be answered.
		g.log.Error("velocity limits apply but no decision store enforces them", slog.String("request_id", req.ID))
		o.failWith(protocol.StatusInternalError, "velocity limits are configured but not enforced by this server",
			errors.New("an approval carries velocity limits and no decision store enforces them"))
		return
	}
	o.decided(d)
	if recordable {
		o.Clean()
		o.answer(g.record(ctx, *o, req, canonical, d))
	}
}

// prove sets req.Verification for a KEYSIGN from the injected verifier.
func (g *Gate) prove(req *protocol.Request) {
	if req.Type != protocol.TypeKeySign || g.cfg.VerifyTx == nil {
		return
	}
	req.Verification = g.cfg.VerifyTx(req)
	if v := req.Verification; v != nil && !v.Verified {
		g.log.Info("transaction not verified", slog.String("request_id", req.ID), slog.String("reason", v.Reason))
	}
}

// claimOutpoints applies the outpoint-claim memory to a verified UTXO
// KEYSIGN: every input's claimed amount is checked against (and, when
// new, recorded as) the first amount claimed for its outpoint, so that two
// signing sessions cannot claim different amounts for one coin (the
// segwit fee attack). A conflict, or a verified UTXO KEYSIGN with no store
// to remember claims in, makes the transaction unverified, naming the
// outpoint, and the policy rejects it; a store that cannot answer is a
// status 30. Claims are recorded whatever the policy then decides.
func (g *Gate) claimOutpoints(ctx context.Context, req *protocol.Request, recordable bool) error {
	v := req.Verification
	if v == nil || !v.Verified || len(v.Inputs) == 0 {
		return nil
	}
	unverify := func(reason string) {
		req.Verification = &protocol.Verification{Reason: reason, Chain: v.Chain, TxType: v.TxType, Method: v.Method,
			Inputs: v.Inputs, Outputs: v.Outputs, LockTime: v.LockTime, RBF: v.RBF}
		g.log.Info("transaction not verified", slog.String("request_id", req.ID), slog.String("reason", reason))
	}
	if !recordable {
		unverify("selected_utxos: no decision store remembers outpoint claims, so the amounts claimed for this transaction's inputs cannot be checked against earlier requests")
		return nil
	}
	claims := make([]store.OutpointClaim, len(v.Inputs))
	for i, in := range v.Inputs {
		claims[i] = store.OutpointClaim{Outpoint: in.Outpoint, Amount: in.Amount, RequestID: req.ID, At: req.ReceivedAt}
	}
	conflicts, err := g.cfg.Store.ClaimOutpoints(ctx, claims)
	if err != nil {
		return err
	}
	if len(conflicts) > 0 {
		c := conflicts[0]
		unverify(fmt.Sprintf("selected_utxos: outpoint %s was first claimed at %s by request %s; this request claims %s (the first claim stands until an operator clears it with tssgate audit clear-outpoint)",
			c.Claim.Outpoint, c.First.Amount, text.Clean(c.First.RequestID, 80), c.Claim.Amount))
	}
	return nil
}

// replay answers a request_id that is already recorded, and reports
// whether it did: the same request gets the recorded decision again (as
// recorded), different content under a used request_id is rejected, and a
// store that cannot tell is a status 30. run calls it only when the
// Decider failed: otherwise record finds the request_id in the commit.
func (g *Gate) replay(ctx context.Context, req *protocol.Request, canonical []byte) (answer, bool) {
	rec, err := g.cfg.Store.Get(ctx, req.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The common case: no hash needed (Commit computes it once).
		return answer{}, false
	case err != nil:
		g.log.Error("reading the decision log", slog.String("request_id", req.ID), slog.Any("error", err))
		return failure(protocol.StatusInternalError, "decision log unavailable", err), true
	}
	if hash := store.RequestHashOf(canonical); rec.RequestHash != hash {
		return g.reusedID(req.ID, slog.String("recorded_hash", rec.RequestHash), slog.String("request_hash", hash)), true
	}
	return g.unlessFrozen(ctx, req, g.recorded(req, rec)), true
}

// unlessFrozen answers a retry whose record approves (a the recorded
// answer) with a REJECT while a freeze is active: the record stays an
// APPROVE, but nothing is signed again until the freeze is lifted. Only
// this rare path reads the freezes; a new decision is turned by Commit,
// in its transaction. A store that cannot tell is a status 30.
func (g *Gate) unlessFrozen(ctx context.Context, req *protocol.Request, a answer) answer {
	if a.action != protocol.ActionApprove || req.Type == protocol.TypePing {
		return a
	}
	active, err := g.cfg.Store.ActiveFreezes(ctx)
	if err != nil {
		g.log.Error("reading active freezes for a retry of an approval; not re-signing it", slog.String("request_id", req.ID), slog.Any("error", err))
		return failure(protocol.StatusInternalError, "freeze state unavailable", err)
	}
	if len(active) == 0 {
		return a
	}
	f := active[0]
	g.log.Warn("retry of an approval refused: signing is frozen", slog.String("request_id", req.ID), slog.String("freeze_id", f.ID))
	a.action, a.rule = protocol.ActionReject, RuleFrozen
	a.reason = fmt.Sprintf("request_id %s was approved before freeze %s (by %s: %s); it is not re-signed while signing is frozen",
		req.ID, f.ID, f.By, f.Reason)
	if len(active) > 1 {
		a.reason += fmt.Sprintf(" (and %d more active freezes)", len(active)-1)
	}
	return a
}

// recorded is the answer to a retry of the same request: the recorded
// decision again (whatever a new evaluation said, not counted again), except that an
// APPROVE recorded more than ReplayMaxAge before (or after) this request
// arrived becomes a REJECT.
func (g *Gate) recorded(req *protocol.Request, rec *store.Record) answer {
	a := fromRecord(rec)
	a.replayed = true
	age := req.ReceivedAt.Sub(rec.ReceivedAt)
	switch {
	case a.action != protocol.ActionApprove:
	case age > g.cfg.ReplayMaxAge:
		g.log.Warn("retry of an old approval refused", slog.String("request_id", req.ID), slog.Duration("age", age))
		a.action, a.rule = protocol.ActionReject, RuleReplayTooOld
		a.reason = fmt.Sprintf("request_id %s was approved %s ago; approvals are re-signed for retries within %s only", req.ID, age.Round(time.Second), g.cfg.ReplayMaxAge)
	case age < -g.cfg.ReplayMaxAge:
		// Recorded "in the future": a replica whose clock ran fast, or a
		// clock stepped back. Its real age is unknown, so the window
		// cannot be enforced: refuse rather than re-sign indefinitely.
		g.log.Warn("retry of a future-dated approval refused: clocks disagree", slog.String("request_id", req.ID), slog.Duration("age", age))
		a.action, a.rule = protocol.ActionReject, RuleReplayTooOld
		a.reason = fmt.Sprintf("request_id %s was approved with a receive time %s ahead of this server's clock; approvals are re-signed for retries within %s only, and the clocks disagree", req.ID, (-age).Round(time.Second), g.cfg.ReplayMaxAge)
	}
	return a
}

// reusedID answers a request whose request_id is already recorded for
// different content: a REJECT that leaves the record alone.
func (g *Gate) reusedID(id string, attrs ...any) answer {
	g.log.Warn("request_id reused with different content", append([]any{slog.String("request_id", id)}, attrs...)...)
	return answer{
		status: protocol.StatusOK,
		action: protocol.ActionReject,
		rule:   RuleRequestIDReused,
		reason: "request_id " + id + " was already decided for a different request",
	}
}

// record commits the decision in o before it is answered and returns what
// to answer: only what the store committed. An approval turned into a
// REJECT by a limit is answered as that REJECT, and a failure to record is
// a status 30.
func (g *Gate) record(ctx context.Context, o Outcome, req *protocol.Request, canonical []byte, d decision.Decision) answer {
	rec := store.Record{
		RequestID:     req.ID,
		Version:       string(req.Version),
		Type:          req.Type.String(),
		NodeKey:       o.KeyName,
		ReceivedAt:    o.ReceivedAt,
		Request:       canonical,
		Action:        string(o.Action),
		Status:        int(o.Status),
		Rule:          o.Rule,
		Reason:        o.Reason,
		PolicyVersion: o.PolicyVersion,
		// Latency is real elapsed time, never the injectable clock.
		LatencyMicros: time.Since(o.started).Microseconds(),
		TxKey:         txKey(req),
		Shadow:        shadowRecord(o.Shadow),
	}
	var uses []decision.LimitUse
	if d.Approves() {
		uses = d.Limits
	}
	stored, existed, err := g.cfg.Store.Commit(ctx, rec, uses)
	switch {
	case errors.Is(err, store.ErrConflict):
		return g.reusedID(req.ID)
	case errors.Is(err, store.ErrOutcomeUnknown):
		// Unlike any other failure, the row (an APPROVE, with its limit
		// usage) may exist. The reply is still a status 30; the operator
		// must be told that the record, not this reply, is the truth.
		g.log.Error("decision commit outcome unknown: answered status 30, but the decision may be recorded; `tssgate audit show` tells, and a retry of the request is answered from the record",
			slog.String("request_id", req.ID), slog.String("action", string(o.Action)), slog.Any("error", err))
		return failure(protocol.StatusInternalError, "recording the decision failed: outcome unknown", err)
	case err != nil:
		g.log.Error("recording the decision failed; not signing it", slog.String("request_id", req.ID), slog.Any("error", err))
		return failure(protocol.StatusInternalError, "recording the decision failed", err)
	}
	if existed {
		// A retry: the record answers, under the replay rules, and not
		// with a signature while frozen.
		return g.unlessFrozen(ctx, req, g.recorded(req, stored))
	}
	a := fromRecord(stored)
	a.shadow, a.keepShadow = o.Shadow, true
	if a.action == protocol.ActionReject {
		for _, u := range uses {
			if u.Limit == a.rule {
				a.limit = u.Limit
				break
			}
		}
	}
	return a
}
