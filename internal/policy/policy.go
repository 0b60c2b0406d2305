// This file holds the seam the server depends on: the Decision a policy
// returns and the Decider interface. The built-in Default decider is what
// runs when no policy file is configured; it approves only PING and rejects
// every key task, so that an unconfigured tssgate can never authorize a key
// operation. The package documentation is in doc.go.

package policy

import (
	"context"

	"tssgate/internal/protocol"
)

// Decision is the outcome of evaluating a request. A Decision is only ever
// an APPROVE or a REJECT with status 0: failures to evaluate are errors, which
// the server turns into non-approving replies with their own status codes.
type Decision struct {
	// Action is APPROVE or REJECT. Any other value is treated as REJECT by
	// the server.
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

// Approves reports whether d authorizes the task. Only an explicit APPROVE
// does; the zero Decision rejects.
func (d Decision) Approves() bool { return d.Action == protocol.ActionApprove }

// Decider evaluates one decoded request. Implementations must be safe for
// concurrent use, must honour ctx (the server bounds evaluation by the
// request's deadline), and must return an error rather than a Decision when
// they could not evaluate completely: the caller never approves on error.
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
