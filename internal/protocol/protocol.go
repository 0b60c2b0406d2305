// Package protocol owns the Cobo TSS Node callback wire format, v1 (WaaS 1.0,
// /v1/check) and v2 (WaaS 2.0, /v2/check): the endpoint paths and the form
// field (PathV1, PathV2, FormField), request types, reply status codes
// and actions, the CallbackRequest and CallbackResponse carried in a JWT's
// package_data, typed structs for every documented request_detail and
// extra_info field, and one normalized Request model that policy, storage
// and transaction verification consume. PROTOCOL.md sections 3 and 4 are the
// specification; the choices it leaves open are made and documented here.
//
// The package sees package_data only after the token layer has verified the
// JWT signature and base64-decoded it; it trusts nothing inside. Decoding is
// lenient where Cobo is loose (unknown keys ignored, unknown enum strings kept
// verbatim, integers as numbers or strings) and strict where a lax reading
// could change a decision: identifiers must be strings, msg_hash_list must be
// hex, amounts must parse exactly, duplicate keys are refused, member names
// must match exactly (not by case or Unicode folding, which encoding/json
// would allow), and unknown request types are errors. package_data is
// parsed once, by a strict reader of this package, and the typed structs
// are filled from that same tree, so the two views cannot come from two
// readings. Every decode failure is a *DecodeError, which the
// server answers with status 10 and REJECT. Nothing here approves anything.
//
// It imports only the standard library, tssgate/internal/decimal and
// tssgate/internal/text.
package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is the callback protocol version, chosen by the endpoint the
// request arrived on (/v1/check or /v2/check); package_data does not say.
type Version string

// The two protocol versions.
const (
	V1 Version = "v1"
	V2 Version = "v2"
)

// The endpoint paths a TSS Node POSTs to: its cb_server entries name
// PathV1, its cb_server_v2 entries PathV2 (PROTOCOL.md 1.1). They are the
// only place the version is stated, so the server routes and the simulator
// posts by these constants and nothing else spells them.
const (
	PathV1 = "/v1/check"
	PathV2 = "/v2/check"
)

// FormField is the one form field of a callback POST: it carries the
// request JWT (PROTOCOL.md 1.1).
const FormField = "TSS_JWT_MSG"

// Path returns the endpoint path for v, PathV1 or PathV2, and "" for any
// other value, which callers must treat as an error.
func (v Version) Path() string {
	switch v {
	case V1:
		return PathV1
	case V2:
		return PathV2
	default:
		return ""
	}
}

// RequestType is CallbackRequest.request_type (PROTOCOL.md 3.2). It is an
// int on the wire. Values other than the constants below are unknown: the
// Decode step rejects them, and String names them "UNKNOWN(<n>)".
type RequestType int

// The request types Cobo defines. 4 is defined nowhere.
const (
	TypePing         RequestType = 0
	TypeKeyGen       RequestType = 1
	TypeKeySign      RequestType = 2
	TypeKeyReshare   RequestType = 3
	TypeKeyShareSign RequestType = 5
)

var typeNames = map[RequestType]string{
	TypePing:         "PING",
	TypeKeyGen:       "KEYGEN",
	TypeKeySign:      "KEYSIGN",
	TypeKeyReshare:   "KEYRESHARE",
	TypeKeyShareSign: "KEYSHARESIGN",
}

// String returns "PING", "KEYGEN", "KEYSIGN", "KEYRESHARE", "KEYSHARESIGN",
// or "UNKNOWN(<n>)" for any other value.
func (t RequestType) String() string {
	if name, ok := typeNames[t]; ok {
		return name
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// Known reports whether t is one of the five defined request types.
func (t RequestType) Known() bool {
	_, ok := typeNames[t]
	return ok
}

// ParseRequestType reads a request type name as CLIs and policy tests spell
// it: "ping", "keygen", "keysign", "keyreshare" or "keysharesign", in any
// case. Any other text is an error; numbers are not accepted, so a typo
// cannot silently select a type.
func ParseRequestType(s string) (RequestType, error) {
	for t, name := range typeNames {
		if strings.EqualFold(s, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("protocol: unknown request type %q (want ping, keygen, keysign, keyreshare or keysharesign)", truncate(s, 40))
}

// Status is CallbackResponse.status. The protocol only tells 0 from non-zero;
// the non-zero codes are the ones every Cobo template uses (README, "What
// each status means"). Every non-zero reply also carries REJECT.
type Status int

// Reply status codes.
const (
	StatusOK             Status = 0  // evaluated: APPROVE, or REJECT with a reason in error
	StatusInvalidRequest Status = 10 // package_data is not an acceptable request (a *DecodeError)
	StatusInvalidToken   Status = 20 // the request JWT did not verify
	StatusInternalError  Status = 30 // the server failed; the task must not run
)

// Action is CallbackResponse.action. WAIT, which old examples used, is never
// sent (PROTOCOL.md 3.3).
type Action string

// The two actions.
const (
	ActionApprove Action = "APPROVE"
	ActionReject  Action = "REJECT"
)

// CallbackRequest is the JSON inside a request's package_data (PROTOCOL.md
// 3.1). RequestDetail and ExtraInfo hold serialized JSON, so the JSON is
// encoded twice. Marshalling emits all four keys, zero or not, because the
// receiving templates do not all tolerate absent keys. Servers do not
// unmarshal into this struct: Decode reads package_data with stricter rules.
type CallbackRequest struct {
	RequestID     string      `json:"request_id"`     // unique per callback; echoed in the reply
	RequestType   RequestType `json:"request_type"`   // what the node is about to do
	RequestDetail string      `json:"request_detail"` // serialized JSON, shape per type and version
	ExtraInfo     string      `json:"extra_info"`     // serialized JSON, shape per type and version
}

// CallbackResponse is the JSON inside a reply's package_data (PROTOCOL.md
// 3.3). Marshalling always emits status (a Go omitempty would drop 0, which
// old nodes read as 0 but others may not), request_id and action, and error
// only when it is non-empty, in that key order. Parsers must not depend on
// key order.
type CallbackResponse struct {
	Status    Status `json:"status"`          // 0 when the request was evaluated
	RequestID string `json:"request_id"`      // the request's request_id, "" when unreadable
	Action    Action `json:"action"`          // APPROVE or REJECT
	Error     string `json:"error,omitempty"` // the reject reason or the error
}

// ErrInvalidResponse is wrapped by every error ParseResponse returns.
var ErrInvalidResponse = errors.New("protocol: invalid callback response")

// ParseResponse reads a CallbackResponse the way a TSS-Node-side client (the
// simulator) must: leniently where shipped callback servers differ (a
// missing status is 0, since Go examples with omitempty drop it; action and
// error may be absent, null or ""; unknown keys are ignored; key order does
// not matter) and strictly on types (status must be an integer, request_id,
// action and error strings). Duplicate keys are rejected. Errors wrap
// ErrInvalidResponse. A parsed response approves nothing by itself: see
// Approves, and compare RequestID with the request's.
func ParseResponse(data []byte) (*CallbackResponse, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidResponse)
	}
	r := &CallbackResponse{}
	if s := obj["status"]; s != nil {
		n, ok := integerValue(s)
		if !ok || n != int64(int(n)) {
			return nil, fmt.Errorf("%w: status is not an integer", ErrInvalidResponse)
		}
		r.Status = Status(n)
	}
	var action string
	for _, f := range []struct {
		key string
		dst *string
	}{{"request_id", &r.RequestID}, {"action", &action}, {"error", &r.Error}} {
		if *f.dst, ok = optString(obj[f.key]); !ok {
			return nil, fmt.Errorf("%w: %s is not a string", ErrInvalidResponse, f.key)
		}
	}
	r.Action = Action(action)
	return r, nil
}

// Approves reports whether r authorizes the task: status 0 and action
// exactly "APPROVE". Every other combination, including a nil response, is
// a refusal (PROTOCOL.md 9.3).
func (r *CallbackResponse) Approves() bool {
	return r != nil && r.Status == StatusOK && r.Action == ActionApprove
}

// optString reads an optional JSON string from a parseJSON value: absent or
// null is "", a string is itself, anything else is not ok.
func optString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	}
	return "", false
}

// integerValue reads a JSON number from a parseJSON value that is an
// integer in int64 range, written without fraction or exponent.
func integerValue(v any) (int64, bool) {
	num, ok := v.(json.Number)
	if !ok || !isInteger(string(num)) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	return n, err == nil
}
