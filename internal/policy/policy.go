// This file names the seam types of package decision in policy's terms.
// They are aliases, not copies: a Decision the policy returns is the
// decision.Decision the pipeline records, and a LimitUse is the one the
// store checks, with no field-by-field conversion anywhere. The built-in
// Default decider (approve PING, reject every key task) lives in decision,
// so that the pipeline can fall back to it without importing the CEL
// engine. The package documentation is in doc.go.

package policy

import "tssgate/internal/decision"

// Decision is the outcome of evaluating a request: decision.Decision.
type Decision = decision.Decision

// ShadowOutcome is what one shadow rule would have done:
// decision.ShadowOutcome.
type ShadowOutcome = decision.ShadowOutcome

// LimitUse is one limit an approval would consume: decision.LimitUse.
type LimitUse = decision.LimitUse

// Decider evaluates one decoded request: decision.Decider.
type Decider = decision.Decider

// Default is the decider used when no policy file is configured:
// decision.Default.
type Default = decision.Default

// Rule names and the version string used by the built-in default.
const (
	RuleDefaultPing     = decision.RuleDefaultPing
	RuleDefaultNoPolicy = decision.RuleDefaultNoPolicy
	BuiltinVersion      = decision.BuiltinVersion
)
