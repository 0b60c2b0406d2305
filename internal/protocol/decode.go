package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"

	"tssgate/internal/text"
)

// DecodeError reports that package_data came from a valid token but is not
// an acceptable request. The server answers it with status 10 and REJECT,
// Reason in the error field, and RequestID echoed when it could be read
// (the node matches replies by it).
type DecodeError struct {
	RequestID string // request_id when it was read, else ""
	Reason    string // what is wrong, naming the field; safe to send back
}

// Error returns "invalid request: " followed by the reason.
func (e *DecodeError) Error() string { return "invalid request: " + e.Reason }

// Decode parses package_data (the CallbackRequest JSON, already
// base64-decoded by the token layer) for protocol version v into a Request.
// Every error is a *DecodeError.
//
// The rules, where PROTOCOL.md leaves a choice:
//   - package_data must be one JSON object; unknown keys are ignored and
//     duplicate keys (also case-insensitive ones) are refused at every level.
//   - Member names must match exactly: a member whose name equals a known
//     field's only by case or Unicode folding ("ADDRESS", "addreſs") is
//     refused, at every level, because encoding/json would read it into the
//     typed field while rules, reading the generic maps, would not see it.
//     Typed decoding reads exact names only (see decodeTree and exactCopy).
//   - package_data is parsed once (and each embedded JSON string once):
//     the typed structs are built from the same generic tree rules read.
//   - request_id must be a string when present; absent or null reads as "".
//     It is required for every type but PING. It must be text the decision
//     store can hold and an audit line can show: valid UTF-8, at most
//     MaxRequestIDBytes, no control characters (see requestIDProblem).
//   - request_type must be an integer, or a string of digits; absent or null
//     reads as PING (a Go sender with omitempty drops a zero type). Types
//     other than 0, 1, 2, 3 and 5 are refused.
//   - request_detail and extra_info are normally strings holding serialized
//     JSON; a JSON object sent directly (as events do) is accepted too.
//     Absent, null, "" and {} mean empty. Anything else, such as a string
//     that is not a JSON object, is refused.
//   - PING must be empty: with request_detail or extra_info content it is
//     refused, whether request_type was absent or an explicit 0. Such a
//     request is malformed or disguised, and PING is always approved, so
//     accepting it would approve something unexamined (fail closed).
//   - Every other type needs a non-empty request_detail; extra_info may be
//     empty.
//   - v1 KEYSHARESIGN, which v1 does not document, is read with the v2
//     shapes.
//   - A KEYGEN, KEYSIGN or KEYRESHARE whose request_detail and extra_info
//     carry members only the other version has, and none only this version
//     has (a v1 KEYSIGN at /v2/check, a v2 one at /v1/check), is refused
//     with a reason naming the endpoint and the node's cb_server or
//     cb_server_v2 entry: the typed decoder would otherwise ignore those
//     members as unknown and decide a nearly empty request (see shape.go).
//   - Field rules (strict identifiers, hex msg_hash_list, exact amounts,
//     lenient integers) are on the wire types; transaction amounts must be
//     present and non-negative where the model sums them.
func Decode(v Version, packageData []byte) (*Request, error) {
	if v != V1 && v != V2 {
		return nil, &DecodeError{Reason: fmt.Sprintf("unsupported protocol version %q", truncate(string(v), 20))}
	}
	if len(bytes.TrimSpace(packageData)) == 0 {
		return nil, &DecodeError{Reason: "package_data is empty"}
	}
	// One parser reads package_data and the JSON texts it embeds.
	parser := newJSONParser(len(packageData))
	parsed, err := parser.parse(string(packageData))
	if err != nil {
		return nil, &DecodeError{Reason: "package_data is not JSON: " + err.Error()}
	}
	top, ok := parsed.(map[string]any)
	if !ok {
		return nil, &DecodeError{Reason: "package_data is not a JSON object"}
	}

	id, ok := optString(top["request_id"])
	if !ok {
		return nil, &DecodeError{Reason: "request_id must be a JSON string"}
	}
	if reason := requestIDProblem(id); reason != "" {
		// Echo what was sent, made safe: the node can still correlate, and
		// nothing unstorable travels on.
		return nil, &DecodeError{RequestID: text.Clean(id, MaxRequestIDBytes), Reason: reason}
	}
	fail := func(format string, args ...any) (*Request, error) {
		return nil, &DecodeError{RequestID: id, Reason: fmt.Sprintf(format, args...)}
	}

	if err := exactTopLevel(top); err != nil {
		return fail("%v", err)
	}
	typ, err := requestType(top["request_type"])
	if err != nil {
		return fail("%v", err)
	}
	if !typ.Known() {
		return fail("unknown request_type %d", int(typ))
	}
	detailMap, err := embeddedObject(parser, top["request_detail"])
	if err != nil {
		return fail("request_detail %v", err)
	}
	extraMap, err := embeddedObject(parser, top["extra_info"])
	if err != nil {
		return fail("extra_info %v", err)
	}

	req := &Request{
		Version: v,
		ID:      id,
		Type:    typ,
		Detail:  detailMap,
		Extra:   extraMap,
		Raw:     bytes.Clone(packageData),
	}
	switch {
	case typ == TypePing:
		if detailMap != nil || extraMap != nil {
			return fail("PING (request_type 0 or absent) must not carry request_detail or extra_info")
		}
		return req, nil
	case id == "":
		return fail("request_id is required for %s", typ)
	case detailMap == nil:
		return fail("request_detail is empty for %s", typ)
	}
	if reason := wrongVersion(v, typ, detailMap, extraMap); reason != "" {
		return fail("%s", reason)
	}
	if err := req.decodeTyped(); err != nil {
		return nil, &DecodeError{RequestID: id, Reason: err.Error()}
	}
	return req, nil
}

// MaxRequestIDBytes bounds request_id. A TSS Node's ids are short (UUIDs,
// task ids); the bound keeps every id storable in the decision log's
// unique index (PostgreSQL refuses B-tree entries over about 2.7 KB) and
// echoable in a reply.
const MaxRequestIDBytes = 256

// requestIDProblem says why id cannot be accepted as a request_id, or "".
// Control characters, line separators and bidirectional formatting
// characters are refused rather than escaped: an id is an idempotency key,
// so it is stored exactly as sent or not at all.
func requestIDProblem(id string) string {
	switch {
	case len(id) > MaxRequestIDBytes:
		return fmt.Sprintf("request_id is %d bytes, more than %d", len(id), MaxRequestIDBytes)
	case !utf8.ValidString(id):
		return "request_id is not valid UTF-8"
	case text.Clean(id, 0) != id:
		return "request_id contains a control or formatting character"
	}
	return ""
}

// requestType reads request_type from a parseJSON value.
func requestType(v any) (RequestType, error) {
	var text string
	switch x := v.(type) {
	case nil:
		return TypePing, nil
	case json.Number:
		text = string(x)
		if !isInteger(text) {
			return 0, fmt.Errorf("request_type must be an integer, got %s", truncate(text, 20))
		}
	case string:
		text = x
		if !isInteger(text) {
			return 0, fmt.Errorf("request_type must be an integer, got %s", quoteShort(text))
		}
	default:
		return 0, fmt.Errorf("request_type must be an integer, got %s", jsonKind(x))
	}
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("unknown request_type %s", truncate(text, 20))
	}
	return RequestType(n), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	}
	return fmt.Sprintf("%T", v)
}

// embeddedObject reads request_detail or extra_info: the object, or nil
// when the part is empty. The error text follows the part's name. p
// parses the embedded text.
func embeddedObject(p *jsonParser, v any) (map[string]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if len(x) == 0 {
			return nil, nil
		}
		return x, nil
	case string:
		if x == "" {
			return nil, nil
		}
		parsed, err := p.parse(x)
		if err != nil {
			return nil, fmt.Errorf("is not JSON: %v (%s)", err, quoteShort(x))
		}
		obj, _ := parsed.(map[string]any)
		if obj == nil {
			return nil, fmt.Errorf("is not a JSON object: %s", quoteShort(x))
		}
		if len(obj) == 0 {
			return nil, nil
		}
		return obj, nil
	}
	return nil, fmt.Errorf("must be a string holding a JSON object, got %s", jsonKind(v))
}

func quoteShort(s string) string { return strconv.Quote(truncate(s, 40)) }

// decodeTyped fills the typed wire payload and the normalized view for the
// request's version and type, which Decode has checked are known. It
// decodes from the generic Detail and Extra (decodePart), so that typed
// fields are read under exactly the member names rules see and the JSON
// is parsed once. On error the request is discarded, so a half-filled one
// never escapes.
func (r *Request) decodeTyped() error {
	w := newWire(r.Version, r.Type)
	if w == nil { // unreachable: Decode checked Known()
		return fmt.Errorf("unknown request_type %d", int(r.Type))
	}
	d, x := w.parts()
	if err := decodePart("request_detail", r.Detail, d); err != nil {
		return err
	}
	if r.Extra != nil {
		if err := decodePart("extra_info", r.Extra, x); err != nil {
			return err
		}
	}
	if err := w.fill(r, r.Extra != nil); err != nil {
		return err
	}
	r.Wire = w
	return nil
}

// decodePart decodes the generic object obj, part of the request named
// part, into the struct dst points to: from the tree directly when
// decodeTree understands all of it (the common case, no second parse),
// else from scratch by decodeExact, whose result and reasons are the
// reference (see treedecode.go).
func decodePart(part string, obj map[string]any, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	if decodeTree(obj, rv) {
		return nil
	}
	rv.SetZero()
	return decodeExact(part, obj, dst)
}

// decodeExact decodes the generic object obj, part of the request named
// part, into the struct dst points to, reading exact member names only.
func decodeExact(part string, obj map[string]any, dst any) error {
	exact, err := exactCopy(obj, reflect.TypeOf(dst), part)
	if err != nil {
		return err
	}
	// json.Number text and strings survive re-encoding exactly.
	text, err := json.Marshal(exact)
	if err != nil {
		return fmt.Errorf("%s cannot be re-encoded: %v", part, err)
	}
	if err := json.Unmarshal(text, dst); err != nil {
		return errors.New(reasonFor(part, err))
	}
	return nil
}

// wirePayload is a typed request payload (*V1KeyGen, *V2KeySign, ...).
type wirePayload interface {
	// parts returns pointers to the detail and extra structs to decode into.
	parts() (detail, extra any)
	// fill sets r's normalized view from the decoded payload; hasExtra
	// reports whether extra_info had content.
	fill(r *Request, hasExtra bool) error
}

// newWire returns an empty payload for version v and type t, or nil for
// PING and unknown types. v1 has no KEYSHARESIGN shapes; the v2 ones serve.
func newWire(v Version, t RequestType) wirePayload {
	switch t {
	case TypeKeyGen:
		if v == V1 {
			return &V1KeyGen{}
		}
		return &V2KeyGen{}
	case TypeKeySign:
		if v == V1 {
			return &V1KeySign{}
		}
		return &V2KeySign{}
	case TypeKeyReshare:
		if v == V1 {
			return &V1KeyReshare{}
		}
		return &V2KeyReshare{}
	case TypeKeyShareSign:
		return &V2KeyShareSign{}
	}
	return nil
}

func (w *V1KeyGen) parts() (any, any)       { return &w.Detail, &w.Extra }
func (w *V1KeySign) parts() (any, any)      { return &w.Detail, &w.Extra }
func (w *V1KeyReshare) parts() (any, any)   { return &w.Detail, &w.Extra }
func (w *V2KeyGen) parts() (any, any)       { return &w.Detail, &w.Extra }
func (w *V2KeySign) parts() (any, any)      { return &w.Detail, &w.Extra }
func (w *V2KeyReshare) parts() (any, any)   { return &w.Detail, &w.Extra }
func (w *V2KeyShareSign) parts() (any, any) { return &w.Detail, &w.Extra }
