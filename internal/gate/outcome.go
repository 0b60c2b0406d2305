package gate

import (
	"encoding/json"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/text"
)

// Outcome is everything one check produced: what the transport signs as
// the reply (Status, RequestID, Action, Reason) and what it logs. Whatever
// its fields say, only Status 0 with Action APPROVE approves; a transport
// must answer anything else as a REJECT.
type Outcome struct {
	// Version is the endpoint's protocol version.
	Version protocol.Version
	// RequestID is the request_id to echo: from the decoded request, or,
	// when decoding or verification failed, the best guess at it.
	RequestID string
	// Type is the request type's name, "" before decoding.
	Type string
	// KeyName names the TSS Node key that verified the token.
	KeyName string
	// Status is the reply status (protocol.Status*).
	Status protocol.Status
	// Action is the reply action; APPROVE only with Status 0.
	Action protocol.Action
	// Reason goes on the wire in the reply's error field.
	Reason string
	// Rule names what decided: a policy rule, "default", or a builtin:*
	// name; "" for failures.
	Rule string
	// PolicyVersion identifies the policy that decided.
	PolicyVersion string
	// Shadow holds the shadow-rule outcomes of a new evaluation, for the
	// log (the record has them too).
	Shadow []decision.ShadowOutcome
	// ReceivedAt is the pipeline clock's reading when the request arrived:
	// the decision time.
	ReceivedAt time.Time
	// Replayed reports that the answer is a recorded decision, not a new
	// evaluation.
	Replayed bool
	// Cause is the error behind a non-zero Status, for logs and for
	// `policy test` output; it never goes on the wire (Reason does).
	Cause error
	// Limit names the velocity limit that turned this evaluation's
	// approval into a REJECT (then Rule names it too); "" otherwise, and
	// for replayed answers. Metrics count limit rejections by it.
	Limit string

	// started is the real (monotonic) time the check began, for latency.
	started time.Time
}

// Approves reports whether o authorizes the task: status 0 and APPROVE.
func (o Outcome) Approves() bool {
	return o.Status == protocol.StatusOK && o.Action == protocol.ActionApprove
}

// Bounds on the text of a reply and its record. A reason explains; it need
// not carry a whole hostile value, and a signed reply should stay small.
const (
	// MaxReasonBytes bounds a Reason and a shadow rule's Error.
	MaxReasonBytes = 1024
	// MaxNameBytes bounds rule names, policy versions and key names.
	MaxNameBytes = 256
)

// Clean makes every text field of o storable and safe to sign and log
// (text.Clean: valid UTF-8, control characters escaped, bounded), whatever
// produced it: a verifier that cut a value mid-character, a CEL error that
// quotes a NUL, an id from an unverified token. The pipeline runs it
// before the record and before returning; a transport runs it again before
// signing, as a last line of defence. Clean is idempotent.
func (o *Outcome) Clean() {
	o.RequestID = text.Clean(o.RequestID, protocol.MaxRequestIDBytes)
	o.KeyName = text.Clean(o.KeyName, MaxNameBytes)
	o.Reason = text.Clean(o.Reason, MaxReasonBytes)
	o.Rule = text.Clean(o.Rule, MaxNameBytes)
	o.PolicyVersion = text.Clean(o.PolicyVersion, MaxNameBytes)
	for i := range o.Shadow {
		o.Shadow[i].Rule = text.Clean(o.Shadow[i].Rule, MaxNameBytes)
		o.Shadow[i].Error = text.Clean(o.Shadow[i].Error, MaxReasonBytes)
	}
}

// Fail makes o a non-approving answer with status and reason; a transport
// uses it for failures around the pipeline (wrong method, bad form, a
// panic of its own).
func (o *Outcome) Fail(status protocol.Status, reason string) {
	o.failWith(status, reason, nil)
}

func (o *Outcome) failWith(status protocol.Status, reason string, cause error) {
	o.Status = status
	o.Action = protocol.ActionReject
	o.Reason = reason
	o.Rule = ""
	o.Cause = cause
	o.Limit = ""
}

// decided makes o answer an evaluated Decision: status 0, APPROVE only if
// d approves, and a REJECT always gives a reason.
func (o *Outcome) decided(d decision.Decision) {
	o.Status = protocol.StatusOK
	o.Rule = d.Rule
	o.PolicyVersion = d.PolicyVersion
	o.Shadow = d.Shadow
	o.Action = protocol.ActionReject
	o.Reason = ""
	if d.Approves() {
		o.Action = protocol.ActionApprove
	} else {
		o.Reason = d.Reason
		if o.Reason == "" {
			o.Reason = "rejected by " + d.Rule
		}
	}
}

// answer is the result of the replay and record steps: what to answer in
// place of the evaluation so far.
type answer struct {
	status   protocol.Status
	action   protocol.Action
	rule     string
	reason   string
	policy   string
	replayed bool
	// limit names the velocity limit that rejected a new evaluation.
	limit string
	// shadow replaces the Outcome's shadow outcomes when keepShadow.
	shadow     []decision.ShadowOutcome
	keepShadow bool
	// failed: a failure to replay or record. It keeps the policy version
	// and shadow outcomes of what was evaluated, for the log.
	failed bool
	cause  error
}

func failure(status protocol.Status, reason string, cause error) answer {
	return answer{status: status, action: protocol.ActionReject, reason: reason, failed: true, cause: cause}
}

// fromRecord is the answer a recorded decision gives.
func fromRecord(rec *store.Record) answer {
	return answer{
		status: protocol.Status(rec.Status),
		action: protocol.Action(rec.Action),
		rule:   rec.Rule,
		reason: rec.Reason,
		policy: rec.PolicyVersion,
	}
}

// answer makes o say what a says, keeping what identifies the request.
func (o *Outcome) answer(a answer) {
	if a.failed {
		o.failWith(a.status, a.reason, a.cause)
		o.Replayed = false
		return
	}
	o.Status, o.Action, o.Rule, o.Reason = a.status, a.action, a.rule, a.reason
	o.PolicyVersion, o.Replayed, o.Cause = a.policy, a.replayed, nil
	o.Limit = a.limit
	o.Shadow = nil
	if a.keepShadow {
		o.Shadow = a.shadow
	}
}

// ShadowFields is the shape shadow outcomes take in the decision log line
// and in the record: rule, action, matched and, when set, error.
func ShadowFields(sh []decision.ShadowOutcome) []map[string]any {
	out := make([]map[string]any, len(sh))
	for i, x := range sh {
		m := map[string]any{"rule": x.Rule, "action": string(x.Action), "matched": x.Matched}
		if x.Error != "" {
			m["error"] = x.Error
		}
		out[i] = m
	}
	return out
}

// shadowRecord is the record's Shadow column: ShadowFields as JSON, nil
// when there are none.
func shadowRecord(sh []decision.ShadowOutcome) []byte {
	if len(sh) == 0 {
		return nil
	}
	b, _ := json.Marshal(ShadowFields(sh))
	return b
}
