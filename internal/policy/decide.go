package policy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	_ "time/tzdata" // rules name IANA zones; do not depend on the host's zoneinfo

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// errBudget is the error of the rule that used up a request's budget, and
// of any rule after it.
var errBudget = errors.New("the request's evaluation cost budget is used up")

// maxErrorText bounds the error text a rule failure puts in a Decision's
// Reason, which travels to the TSS Node and into logs.
const maxErrorText = 300

// Decide evaluates req against the policy at req.ReceivedAt, the decision
// pipeline's clock, so that `now` is the instant the decision is recorded
// under (and the store's limit windows end at). A request with no
// ReceivedAt (a direct caller, not the pipeline) is decided at the
// policy's own clock, read once. It implements Decider.
//
// Live rules run in file order; the first whose `when` is true decides. A
// live rule whose evaluation fails (missing key, type error, cost limit,
// non-bool result) ends evaluation with a REJECT whose Rule is that rule
// and whose Reason says `rule "X" errored: ...`: that is a Decision, not an
// error. When no live rule matches, the policy's default decides with Rule
// "default". Then every shadow rule runs and its outcome is recorded in
// Decision.Shadow. Every Decision carries the policy's Version.
//
// Decide returns an error, and no Decision, only when it could not
// evaluate at all: ctx was done before or during a live rule (the error
// wraps ctx's error), req is nil, or an internal failure. The server
// answers those with an internal-error reply, which never approves.
func (p *Policy) Decide(ctx context.Context, req *protocol.Request) (Decision, error) {
	if req != nil && !req.ReceivedAt.IsZero() {
		return p.decideAt(ctx, req, req.ReceivedAt)
	}
	now := time.Now
	if p.clock != nil {
		now = p.clock
	}
	return p.decideAt(ctx, req, now())
}

// Policy and Holder are the engine's Deciders.
var (
	_ Decider = (*Policy)(nil)
	_ Decider = (*Holder)(nil)
)

func (p *Policy) decideAt(ctx context.Context, req *protocol.Request, now time.Time) (d Decision, err error) {
	defer func() {
		// Nothing in here should panic; if something does, the request
		// must still fail closed rather than take the server down.
		if r := recover(); r != nil {
			d, err = Decision{}, fmt.Errorf("policy: internal error evaluating request: %v", r)
		}
	}()
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("policy: %w", err)
	}
	if req == nil {
		return Decision{}, errors.New("policy: no request to evaluate")
	}
	act := newActivation(req, now, p.lists)

	d, err = p.decideLive(ctx, act)
	if err != nil {
		return Decision{}, err
	}
	if d.Approves() && len(p.limits) > 0 {
		uses, rejected, err := p.limitUses(ctx, act)
		if err != nil {
			return Decision{}, err
		}
		if rejected != nil {
			d = *rejected
		} else {
			d.Limits = uses
		}
	}
	d.PolicyVersion = p.version
	d.Shadow = p.evalShadow(ctx, act)
	return d, nil
}

// RuleVerify is Decision.Rule when a KEYSIGN is rejected because its
// transaction could not be verified and the policy requires verification.
const RuleVerify = "verify"

// verificationGate rejects a KEYSIGN whose transaction tssgate did not
// verify. The policy's verify section can make verification optional for a
// token_id or chain_id, but that is honoured only for a token tssgate has
// no decoder for (Verification.Unsupported). The verifier decides what
// that covers: a decoder that found the description disagreeing with the
// bytes, malformed derivation paths or hash lists, and a token without a
// decoder that signs on a coin type tssgate verifies (a relabelled
// transaction) are all failures that are not Unsupported, so they are a
// REJECT in every mode. The token and chain the mode is looked up by come
// from the unverified description, which is why optional can never widen
// beyond "no decoder exists".
func (p *Policy) verificationGate(req *protocol.Request) (Decision, bool) {
	if req.Type != protocol.TypeKeySign {
		return Decision{}, false
	}
	v := req.Verification
	if v != nil && v.Verified {
		return Decision{}, false
	}
	reject := func(why string) (Decision, bool) {
		return Decision{Action: protocol.ActionReject, Rule: RuleVerify, Reason: "transaction not verified: " + why}, true
	}
	if v == nil {
		return reject("no transaction verification ran")
	}
	if !v.Unsupported {
		return reject(v.Reason)
	}
	var tokenID, chainID string
	if req.KeySign != nil && req.KeySign.Tx != nil {
		tokenID, chainID = req.KeySign.Tx.TokenID, req.KeySign.Tx.ChainID
	}
	if p.verify.mode(tokenID, chainID) != verifyOptional {
		return reject(v.Reason)
	}
	return Decision{}, false
}

func (p *Policy) decideLive(ctx context.Context, act *activation) (Decision, error) {
	if d, rejected := p.verificationGate(act.req); rejected {
		return d, nil
	}
	budget := p.budget
	for _, r := range p.live {
		// CEL itself only checks ctx inside comprehensions; checking here
		// bounds a long policy of simple rules too.
		if err := ctx.Err(); err != nil {
			return Decision{}, fmt.Errorf("policy: before rule %q: %w", r.name, err)
		}
		matched, evalErr := r.eval(ctx, act, &budget)
		if evalErr != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return Decision{}, fmt.Errorf("policy: evaluating rule %q: %w", r.name, ctxErr)
			}
			return Decision{
				Action: protocol.ActionReject,
				Rule:   r.name,
				Reason: fmt.Sprintf("rule %q errored: %s", r.name, truncate(evalErr.Error(), maxErrorText)),
			}, nil
		}
		if !matched {
			continue
		}
		if r.action == protocol.ActionApprove {
			return Decision{Action: protocol.ActionApprove, Rule: r.name}, nil
		}
		return Decision{Action: protocol.ActionReject, Rule: r.name, Reason: r.reason}, nil
	}
	if p.defaultAction == protocol.ActionApprove {
		return Decision{Action: protocol.ActionApprove, Rule: RuleDefault}, nil
	}
	return Decision{
		Action: protocol.ActionReject,
		Rule:   RuleDefault,
		Reason: "no policy rule matched and the policy's default is reject",
	}, nil
}

// evalShadow runs every shadow rule with a budget of its own. Nothing here
// can change the decision: errors, including an expired context, are
// recorded in the outcome.
func (p *Policy) evalShadow(ctx context.Context, act *activation) []ShadowOutcome {
	if len(p.shadow) == 0 {
		return nil
	}
	out := make([]ShadowOutcome, len(p.shadow))
	budget := p.budget
	for i, r := range p.shadow {
		out[i] = ShadowOutcome{Rule: r.name, Action: r.action}
		if err := ctx.Err(); err != nil {
			out[i].Error = "not evaluated: " + err.Error()
			continue
		}
		matched, err := r.eval(ctx, act, &budget)
		if err != nil {
			out[i].Error = truncate(err.Error(), maxErrorText)
			continue
		}
		out[i].Matched = matched
	}
	return out
}

// eval runs the rule's program under ctx, charges its cost to budget, and
// requires a bool result.
func (r *rule) eval(ctx context.Context, act *activation, budget *uint64) (bool, error) {
	if *budget == 0 {
		return false, errBudget
	}
	out, det, err := r.prog.ContextEval(ctx, act)
	if det != nil {
		if cost := det.ActualCost(); cost != nil {
			if *cost > *budget {
				*budget = 0
				if err == nil {
					err = errBudget
				}
			} else {
				*budget -= *cost
			}
		}
	}
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("when evaluated to %s, not bool", out.Type().TypeName())
	}
	return bool(b), nil
}

// activation resolves the variables rules see. It is built per request and
// used by one goroutine: detail and extra are converted on first use.
type activation struct {
	req     *protocol.Request
	request ref.Val
	tx      ref.Val // an object, or an error value when there is no tx
	now     ref.Val
	lists   ref.Val
	detail  ref.Val
	extra   ref.Val
}

func newActivation(req *protocol.Request, now time.Time, lists *objectVal) *activation {
	return &activation{
		req: req,
		request: requestObject.newValue(
			types.String(req.ID),
			types.String(req.Type.String()),
			types.String(string(req.Version)),
			types.String(req.NodeKey),
		),
		tx:    txValue(req),
		now:   types.Timestamp{Time: now},
		lists: lists,
	}
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "request":
		return a.request, true
	case "tx":
		return a.tx, true
	case "now":
		return a.now, true
	case "lists":
		return a.lists, true
	// RuleDetail and RuleExtra, not Detail and Extra: an integer field
	// reads as an int however the node spelled it (1 or "1"), as typed
	// decoding reads it, so one request cannot decide two ways.
	case "detail":
		if a.detail == nil {
			a.detail = jsonObject(a.req.RuleDetail())
		}
		return a.detail, true
	case "extra":
		if a.extra == nil {
			a.extra = jsonObject(a.req.RuleExtra())
		}
		return a.extra, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

func jsonObject(m map[string]any) ref.Val {
	if m == nil {
		m = map[string]any{}
	}
	return jsonToCEL(m)
}

// txValue builds tx for KEYSIGN requests that describe a transaction. For
// anything else tx is an error value: reading it makes the rule error, and
// so reject, instead of yielding empty fields a rule could mistake for a
// harmless transaction.
func txValue(req *protocol.Request) ref.Val {
	if req.Type != protocol.TypeKeySign {
		return types.NewErr("tx is only set for KEYSIGN requests, and this is a %s", req.Type)
	}
	if req.KeySign == nil || req.KeySign.Tx == nil {
		return types.NewErr("tx is not set: this KEYSIGN request describes no transaction")
	}
	tx := req.KeySign.Tx
	v := req.Verification
	verified := v != nil && v.Verified
	// When the bytes verified, recipients and amount come from them, and
	// token_id and chain_id from the token table entry they verified
	// against, not from Cobo's description: the description agrees, or
	// verification would have failed, but it may spell the same facts in
	// several ways ("eth", a token account for its owner), and a rule or a
	// limit must see one spelling. Unverified (an optional token without a
	// decoder), they are the description's.
	described, amount := tx.Destinations, tx.Amount
	tokenID, chainID := tx.TokenID, tx.ChainID
	if verified {
		// The verifier always sets both; only a policy test's assumed
		// verification of a v1 case (no chain_id to assume) lacks one.
		if v.Token == "" || (v.CoboChainID == "" && req.Version != protocol.V1) {
			return types.NewErr("tx is not set: the verified transaction carries no token table entry")
		}
		tokenID, chainID = v.Token, v.CoboChainID
		described, amount = v.Destinations, decimal.Decimal{}
		for _, d := range v.Destinations {
			amount = amount.Add(d.Amount)
		}
	}
	return transactionObject.newValue(
		types.String(tx.ID),
		types.String(tx.CoboID),
		types.String(chainID),
		types.String(tokenID),
		newDec(amount),
		destinationList(described),
		stringList(tx.SourceAddresses, true),
		types.String(tx.WalletID),
		types.String(tx.Type),
		types.String(tx.Initiator),
		types.String(tx.InitiatorType),
		stringList(canonicalHashes(req.KeySign.MsgHashes), false),
		types.String(tx.DestinationType),
		types.Bool(verified),
		decodedValue(v),
		messageValue(v),
		callValue(v),
	)
}

func destinationList(ds []protocol.Destination) ref.Val {
	out := make([]ref.Val, len(ds))
	for i, d := range ds {
		out[i] = destinationObject.newValue(types.String(normalizeAddress(d.Address)), newDec(d.Amount), types.String(d.TokenAccount))
	}
	return types.NewRefValList(types.DefaultTypeAdapter, out)
}

// canonicalHashes spells msg_hash_list one way, lower-case hex without 0x:
// verification compares them in that form with what the bytes produce, so
// a rule or list written for one spelling must match every other.
func canonicalHashes(hs []string) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		if strings.HasPrefix(h, "0x") || strings.HasPrefix(h, "0X") {
			h = h[2:]
		}
		out[i] = strings.ToLower(h)
	}
	return out
}

// decodedValue is tx.decoded: the facts decoding established, as far as it
// got. Without a verification every field is empty; nonce is -1 when the
// transaction has none, and an error to read when it exceeds an int64.
func decodedValue(v *protocol.Verification) ref.Val {
	if v == nil {
		v = &protocol.Verification{}
	}
	// An unknown fee is an error to read, not zero: a fee cap must never
	// pass because the fee could not be established.
	var maxFee ref.Val = types.NewErr("tx.decoded.max_fee is unknown: the transaction was not decoded, or its chain has no fee bound in the bytes (TRON)")
	if v.MaxFeeKnown {
		maxFee = newDec(v.MaxFee)
	}
	// -1 means "the chain has none". A nonce the bytes carry but a CEL int
	// cannot hold (2^63 or more; RLP allows any uint64) is an error to
	// read, never -1: a nonce cap must not pass on "none" for bytes that
	// carry one.
	var nonce ref.Val = types.Int(-1)
	if v.Nonce != nil {
		if *v.Nonce > math.MaxInt64 {
			nonce = types.NewErr("tx.decoded.nonce %d does not fit an int (at most %d)", *v.Nonce, int64(math.MaxInt64))
		} else {
			nonce = types.Int(int64(*v.Nonce))
		}
	}
	// The UTXO fee likewise: known only when every input's amount is
	// signed, so that a fee cap never passes on amounts nobody signed.
	var fee ref.Val = types.NewErr("tx.decoded.fee is unknown: it is set only for UTXO transactions whose every input amount is signed (segwit, taproot, BCH)")
	if v.FeeKnown {
		fee = newDec(v.Fee)
	}
	locktime := types.Int(-1)
	if v.LockTime != nil {
		locktime = types.Int(int64(*v.LockTime))
	}
	inputs := make([]ref.Val, len(v.Inputs))
	for i, in := range v.Inputs {
		inputs[i] = inputObject.newValue(types.String(in.Outpoint), types.String(in.Address), newDec(in.Amount), types.String(in.ScriptType), types.Bool(in.AmountSigned))
	}
	outputs := make([]ref.Val, len(v.Outputs))
	for i, o := range v.Outputs {
		outputs[i] = outputObject.newValue(types.String(o.Address), newDec(o.Amount), types.Bool(o.Change), types.String(o.OpReturn))
	}
	return decodedObject.newValue(
		types.String(v.Chain),
		types.String(v.TxType),
		types.String(v.Method),
		types.String(v.Selector),
		types.String(normalizeAddress(v.TokenContract)),
		destinationList(v.Destinations),
		nonce,
		types.String(v.ChainID),
		types.String(v.Reason),
		maxFee,
		types.NewRefValList(types.DefaultTypeAdapter, inputs),
		types.NewRefValList(types.DefaultTypeAdapter, outputs),
		locktime,
		types.Bool(v.RBF),
		fee,
	)
}
