// Package decision holds the seam between the decision pipeline and the
// parts it orchestrates: the Decision a Decider returns, the LimitUse an
// approval would consume, the ShadowOutcome of a rule that did not decide,
// and the Decider interface itself, with the built-in Default decider.
//
// It is a leaf (it imports only protocol and decimal) so that every side of
// the seam can share one set of types without an import cycle: policy
// produces Decisions, store records LimitUses, and gate (the pipeline)
// passes one to the other. None of them copies a LimitUse field by field.
//
// Fail closed: the zero Decision rejects, and a Decider that could not
// evaluate completely returns an error, never a Decision.
package decision

import (
	"context"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// Decision is the outcome of evaluating a request. A Decision is only ever
// an APPROVE or a REJECT with status 0: failures to evaluate are errors, which
// the pipeline turns into non-approving replies with their own status codes.
type Decision struct {
	// Action is APPROVE or REJECT. Any other value is treated as REJECT by
	// the pipeline.
	Action protocol.Action
	// Rule names what decided: a policy rule name, "default" when a
	// policy's default decided, or a built-in name such as
	// "builtin:no-policy".
	Rule string
	// Reason explains a REJECT to the TSS Node (it goes on the wire in the
	// reply's error field). Empty for approvals.
	Reason string
	// PolicyVersion identifies the policy that decided ("builtin" for the
	// default).
	PolicyVersion string
	// Shadow holds the would-be outcome of every shadow rule of the policy,
	// in file order. Shadow rules never change Action, Rule or Reason; they
	// are recorded so a risk team can see what a rule would do before it
	// goes live. Empty for the built-in default.
	Shadow []ShadowOutcome
	// Limits are the velocity limits this approval would consume. The
	// caller must check and record them atomically with the decision (the
	// store does) and must not approve when it cannot: an APPROVE with
	// Limits is conditional on them. Empty for rejections.
	Limits []LimitUse
}

// Approves reports whether d authorizes the task. Only an explicit APPROVE
// does; the zero Decision rejects.
func (d Decision) Approves() bool { return d.Action == protocol.ActionApprove }

// ShadowOutcome is what one shadow rule would have done.
type ShadowOutcome struct {
	// Rule is the shadow rule's name.
	Rule string
	// Action is the rule's action: what it would decide if it were live
	// and matched.
	Action protocol.Action
	// Matched reports whether the rule's condition was true. False when
	// Error is set.
	Matched bool
	// Error says why the rule could not be evaluated (a missing field, a
	// type error, a cost limit, an expired request context); "" otherwise.
	// A live rule failing this way would have rejected.
	Error string
}

// LimitUse is one velocity limit an APPROVE would consume. The policy says
// which limits apply; the store checks and records them atomically with the
// decision, because only the store knows what earlier approvals used.
type LimitUse struct {
	// Limit is the limit's name from the policy file; it becomes the Rule of
	// a REJECT when the limit is exceeded. Unique within one Commit.
	Limit string
	// Key identifies the running total: the JSON array of the limit's key
	// expression values.
	Key string
	// Window is the rolling window; it must be positive.
	Window time.Duration
	// Amount is what this transaction adds (token units, exact); it must
	// not be negative.
	Amount decimal.Decimal
	// MaxAmount caps the sum of amounts in the window; nil means no cap.
	MaxAmount *decimal.Decimal
	// MaxCount caps the number of transactions in the window; 0 means no
	// cap, negative is invalid.
	MaxCount int64
}

// Decider evaluates one decoded request. Implementations must be safe for
// concurrent use, must honour ctx (the pipeline bounds evaluation by the
// request's deadline), and must return an error rather than a Decision when
// they could not evaluate completely: the caller never approves on error.
// The decision time is req.ReceivedAt, set by the pipeline from its clock,
// so that rules reading `now` and the store's limit windows agree.
type Decider interface {
	Decide(ctx context.Context, req *protocol.Request) (Decision, error)
}

// Rule names and the version string used by the built-in default.
const (
	RuleDefaultPing     = "builtin:ping"
	RuleDefaultNoPolicy = "builtin:no-policy"
	BuiltinVersion      = "builtin"
)

// Default is the decider used when no policy file is configured: it approves
// PING (a PING approval authorizes nothing: the node matches answers to its
// own request_id) and rejects every other request type, saying that no policy
// is configured.
type Default struct{}

// Decide implements Decider.
func (Default) Decide(ctx context.Context, req *protocol.Request) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	if req.Type == protocol.TypePing {
		return Decision{Action: protocol.ActionApprove, Rule: RuleDefaultPing, PolicyVersion: BuiltinVersion}, nil
	}
	return Decision{
		Action:        protocol.ActionReject,
		Rule:          RuleDefaultNoPolicy,
		Reason:        "no policy is configured: tssgate rejects every " + req.Type.String() + " until a policy file approves it",
		PolicyVersion: BuiltinVersion,
	}, nil
}
