package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestRuleView: RuleDetail and RuleExtra spell every integer typed decoding
// read as a JSON number, leave every other value (strings, unknown members,
// JSON embedded in a string) as sent, and never change Detail and Extra,
// which the request hash is computed from.
func TestRuleView(t *testing.T) {
	tests := []struct {
		name string
		v    Version
		typ  RequestType
		edit func(d, x map[string]any)
		// check gets the rule views and the request.
		check func(t *testing.T, d, x map[string]any, r *Request)
	}{
		{
			name: "quoted threshold and a curve name",
			v:    V2, typ: TypeKeyGen,
			edit: func(d, x map[string]any) {
				d["threshold"], d["curve"], d["task_id"], d["unknown"] = "02", "ed25519", "7", "5"
			},
			check: func(t *testing.T, d, x map[string]any, r *Request) {
				equal(t, "threshold", d["threshold"], any(json.Number("2")))
				equal(t, "curve", d["curve"], any(json.Number("2")))
				equal(t, "task_id (a string field)", d["task_id"], any("7"))
				equal(t, "unknown member", d["unknown"], any("5"))
				equal(t, "Detail threshold", r.Detail["threshold"], any("02"))
				equal(t, "Detail curve", r.Detail["curve"], any("ed25519"))
			},
		},
		{
			// Typed decoding leaves a null Int or Curve at 0: rules see 0.
			name: "null threshold and curve read as 0",
			v:    V2, typ: TypeKeyGen,
			edit: func(d, x map[string]any) { d["threshold"], d["curve"], d["task_id"] = nil, nil, nil },
			check: func(t *testing.T, d, x map[string]any, r *Request) {
				equal(t, "threshold", d["threshold"], any(json.Number("0")))
				equal(t, "curve", d["curve"], any(json.Number("0")))
				equal(t, "task_id (a string field)", d["task_id"], nil)
				equal(t, "Detail threshold", r.Detail["threshold"], nil)
			},
		},
		{
			name: "nothing to respell shares the maps",
			v:    V2, typ: TypeKeyGen,
			check: func(t *testing.T, d, x map[string]any, r *Request) {
				if reflect.ValueOf(d).UnsafePointer() != reflect.ValueOf(r.Detail).UnsafePointer() ||
					reflect.ValueOf(x).UnsafePointer() != reflect.ValueOf(r.Extra).UnsafePointer() {
					t.Error("RuleDetail or RuleExtra copied a part with nothing to respell")
				}
			},
		},
		{
			name: "v1 extra: quoted integers, embedded JSON string kept",
			v:    V1, typ: TypeKeySign,
			edit: func(d, x map[string]any) {
				x["transaction_type"], x["decimal"] = "102", "-0"
				x["extra_parameters"] = `{"inputs_to_spend":[{"tx_hash":"ab","vout_n":"1"}]}`
			},
			check: func(t *testing.T, d, x map[string]any, r *Request) {
				equal(t, "transaction_type", x["transaction_type"], any(json.Number("102")))
				equal(t, "decimal", x["decimal"], any(json.Number("0")))
				equal(t, "extra_parameters", x["extra_parameters"], any(`{"inputs_to_spend":[{"tx_hash":"ab","vout_n":"1"}]}`))
				equal(t, "Extra transaction_type", r.Extra["transaction_type"], any("102"))
			},
		},
		{
			name: "v1 extra: extra_parameters sent as an object",
			v:    V1, typ: TypeKeySign,
			edit: func(d, x map[string]any) {
				x["extra_parameters"] = map[string]any{"inputs_to_spend": []any{
					map[string]any{"tx_hash": "ab", "vout_n": 1},
					map[string]any{"tx_hash": "cd", "vout_n": "3"},
				}}
			},
			check: func(t *testing.T, d, x map[string]any, r *Request) {
				in := x["extra_parameters"].(map[string]any)["inputs_to_spend"].([]any)
				equal(t, "vout_n 1", in[0].(map[string]any)["vout_n"], any(json.Number("1")))
				equal(t, "vout_n 3", in[1].(map[string]any)["vout_n"], any(json.Number("3")))
				orig := r.Extra["extra_parameters"].(map[string]any)["inputs_to_spend"].([]any)
				equal(t, "Extra vout_n 3", orig[1].(map[string]any)["vout_n"], any("3"))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			edit := tc.edit
			if edit == nil {
				edit = func(d, x map[string]any) {}
			}
			data := mutated(t, tc.v, tc.typ, edit)
			r := decodeOK(t, tc.v, data)
			tc.check(t, r.RuleDetail(), r.RuleExtra(), r)
			// Detail and Extra are still what package_data says.
			again := decodeOK(t, tc.v, data)
			if !reflect.DeepEqual(r.Detail, again.Detail) || !reflect.DeepEqual(r.Extra, again.Extra) {
				t.Error("RuleDetail or RuleExtra changed Detail or Extra")
			}
		})
	}
}

// TestRuleViewUntyped: a request without a typed payload is returned as it
// is.
func TestRuleViewUntyped(t *testing.T) {
	ping := decodeOK(t, V2, []byte(`{"request_type":0}`))
	if ping.RuleDetail() != nil || ping.RuleExtra() != nil {
		t.Errorf("PING views %v %v, want nil", ping.RuleDetail(), ping.RuleExtra())
	}
	byHand := &Request{Type: TypeKeyGen, Detail: map[string]any{"threshold": "1"}}
	equal(t, "hand-built threshold", byHand.RuleDetail()["threshold"], any("1"))
}
