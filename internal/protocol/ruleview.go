package protocol

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// RuleDetail returns request_detail as rules read it: Detail with every
// value that typed decoding reads as an integer (an Int or a Curve field)
// spelled as a JSON number in canonical decimal (null as 0, the zero value
// typed decoding leaves).
//
// Typed decoding is lenient: threshold 1, "1" and "01" are all the
// threshold 1 the node will build, and curve 0, "0" and "secp256k1" all
// SECP256K1. The generic tree keeps the spelling sent, so a rule reading
// detail.threshold would see an int for one spelling and a string for
// another, and `detail.threshold == 1` would reject one request and let
// its twin through. RuleDetail gives every spelling the one value typed
// decoding gave it. Detail itself is left as it is: it is what the
// request hash and the decision log record.
//
// The map returned shares every unchanged subtree with Detail (only the
// containers on the way to a respelled value are copied), so the caller
// must not modify it. A request Decode did not type (PING, or one built by
// hand without Wire) gets Detail unchanged.
func (r *Request) RuleDetail() map[string]any {
	if w, ok := r.Wire.(wirePayload); ok && w != nil {
		d, _ := w.parts()
		return viewObject(r.Detail, reflect.TypeOf(d).Elem())
	}
	return r.Detail
}

// RuleExtra is RuleDetail for extra_info.
func (r *Request) RuleExtra() map[string]any {
	if w, ok := r.Wire.(wirePayload); ok && w != nil {
		_, x := w.parts()
		return viewObject(r.Extra, reflect.TypeOf(x).Elem())
	}
	return r.Extra
}

// viewObject applies integerView to a top-level part.
func viewObject(m map[string]any, t reflect.Type) map[string]any {
	if m == nil {
		return nil
	}
	v, changed := integerView(m, t)
	if !changed {
		return m
	}
	return v.(map[string]any)
}

// curveNames are the names Curve's UnmarshalJSON accepts, upper-cased.
var curveNames = map[string]Curve{"SECP256K1": CurveSECP256K1, "ED25519": CurveED25519}

// integerView returns v (a parseJSON value that typed decoding into t
// accepted) with its integer leaves respelled, and whether anything
// changed. It walks v alongside t by the exact member names exactCopy
// reads; a value of a kind t does not take is left alone (Decode would have
// refused it, so it only occurs in hand-built requests).
func integerView(v any, t reflect.Type) (any, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case intType:
		return integerLeaf(v, nil)
	case curveType:
		return integerLeaf(v, curveNames)
	}
	switch v.(type) {
	case map[string]any, []any:
	default:
		return v, false // any other leaf is kept as sent
	}
	if inner, ok := embeddedTypes[t]; ok {
		// JSON sent directly is walked like any other; a string holding
		// JSON (returned above) stays a string to rules, which cannot
		// look inside it.
		t = inner
	}
	if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return v, false // a leaf with rules of its own (Amount, HexString)
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		memberType := func(string) (reflect.Type, bool) { return t.Elem(), true }
		if t.Kind() == reflect.Struct {
			fs := fieldsOf(t)
			memberType = func(key string) (reflect.Type, bool) {
				ft, known := fs.types[key]
				return ft, known
			}
		}
		return integerMembers(obj, memberType)
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return v, false
		}
		var out []any
		for i, el := range arr {
			nv, changed := integerView(el, t.Elem())
			if !changed {
				continue
			}
			if out == nil {
				out = append([]any(nil), arr...)
			}
			out[i] = nv
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// integerMembers is integerView over an object's members, each walked
// with the type memberType gives its name (members it does not know are
// kept as sent); the object is copied only when a member changed.
func integerMembers(obj map[string]any, memberType func(string) (reflect.Type, bool)) (any, bool) {
	var out map[string]any
	for key, val := range obj {
		mt, known := memberType(key)
		if !known {
			continue
		}
		nv, changed := integerView(val, mt)
		if !changed {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(obj))
			for k, e := range obj {
				out[k] = e
			}
		}
		out[key] = nv
	}
	if out == nil {
		return obj, false
	}
	return out, true
}

// integerLeaf respells one Int or Curve value (names, for a Curve, maps the
// curve names it accepts in any case) as the JSON number typed decoding
// read, or leaves v alone when the typed rules would not have read it that
// way (anything Decode refuses). JSON null reads as 0, as typed decoding
// leaves the field at its zero value: otherwise `detail.threshold == 0`
// would see null for one spelling of the threshold 0 and 0 for another.
func integerLeaf(v any, names map[string]Curve) (any, bool) {
	var text string
	switch x := v.(type) {
	case nil:
		return json.Number("0"), true
	case json.Number:
		text = string(x)
	case string:
		if c, ok := names[strings.ToUpper(x)]; ok {
			return json.Number(strconv.Itoa(int(c))), true
		}
		text = x
	default:
		return v, false
	}
	if !isInteger(text) {
		return v, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return v, false
	}
	canon := strconv.FormatInt(n, 10)
	if num, isNumber := v.(json.Number); isNumber && string(num) == canon {
		return v, false
	}
	return json.Number(canon), true
}
