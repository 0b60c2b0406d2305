package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

// partTypes are the struct types typed decoding fills, detail and extra of
// every version and type.
func partTypes(t testing.TB) []reflect.Type {
	t.Helper()
	var out []reflect.Type
	for _, v := range []Version{V1, V2} {
		for _, typ := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare, TypeKeyShareSign} {
			d, x := newWire(v, typ).parts()
			out = append(out, reflect.TypeOf(d).Elem(), reflect.TypeOf(x).Elem())
		}
	}
	return out
}

// sameTyped decodes obj into a fresh value of type ty both ways and fails
// t if decodeTree succeeds where decodeExact does not, or yields another
// value. It reports whether decodeTree succeeded.
func sameTyped(t *testing.T, obj map[string]any, ty reflect.Type) bool {
	t.Helper()
	fast := reflect.New(ty)
	ok := decodeTree(obj, fast.Elem())
	slow := reflect.New(ty)
	err := decodeExact("part", obj, slow.Interface())
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%v: decodeTree accepted what decodeExact refuses (%v): %#v", ty, err, obj)
	}
	if !reflect.DeepEqual(fast.Interface(), slow.Interface()) {
		t.Fatalf("%v: decodeTree gave\n%#v\ndecodeExact gave\n%#v", ty, fast.Elem().Interface(), slow.Elem().Interface())
	}
	return true
}

// Every sample and fixture decodes on the fast path (one parse), to
// exactly what the re-encoding path gives. A regression that silently sent
// good requests down the slow path fails here, not only in a benchmark.
func TestTreeDecodeSamplesTakeTheFastPath(t *testing.T) {
	packages := map[string][]byte{}
	for _, v := range []Version{V1, V2} {
		for _, typ := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare, TypeKeyShareSign} {
			packages[string(v)+"-"+typ.String()] = samplePackage(t, v, typ, "r")
		}
	}
	packages["v1-keysign-lenient.json"] = readTestdata(t, "v1-keysign-lenient.json")
	packages["v2-keysign-lenient.json"] = readTestdata(t, "v2-keysign-lenient.json")
	for name, data := range packages {
		t.Run(name, func(t *testing.T) {
			v := V2
			if name[:2] == "v1" {
				v = V1
			}
			r := decodeOK(t, v, data)
			d, x := newWire(r.Version, r.Type).parts()
			if !sameTyped(t, r.Detail, reflect.TypeOf(d).Elem()) {
				t.Errorf("request_detail left the fast path")
			}
			if r.Extra != nil && !sameTyped(t, r.Extra, reflect.TypeOf(x).Elem()) {
				t.Errorf("extra_info left the fast path")
			}
		})
	}
}

// Edge cases of the leaf rules: each is decoded both ways into every part
// type; whatever decodeTree accepts must equal decodeExact's result, and
// the cases marked fast must be accepted.
var treeCases = []struct {
	name string
	json string
	fast bool // decodeTree must accept it
}{
	{"nulls everywhere", `{"threshold":null,"node_ids":null,"curve":null,"transaction":null,"amount":null,"msg_hash_list":null,"org":null,"is_loop":null}`, true},
	{"empty arrays", `{"node_ids":[],"msg_hash_list":[],"source_addresses":[],"raw_tx":[]}`, true},
	{"ints as strings", `{"threshold":"2","signature_type":"-1","decimal":"18"}`, true},
	{"int as fraction", `{"threshold":1.0}`, false},
	{"int with plus", `{"threshold":"+1"}`, false},
	{"int overflow", `{"threshold":99999999999999999999}`, false},
	{"curve names", `{"curve":"ed25519"}`, true},
	{"curve number string", `{"curve":"2"}`, true},
	{"curve out of int32", `{"curve":4294967296}`, false},
	{"curve unknown name", `{"curve":"P256"}`, false},
	{"amounts", `{"amount":"0.0001","fee":12,"gas_price":""}`, true},
	{"amount exponent", `{"amount":"1e5"}`, false},
	{"amount bool", `{"amount":true}`, false},
	{"hash list", `{"msg_hash_list":["0xAA","bb"]}`, true},
	{"hash null entry", `{"msg_hash_list":[null]}`, false},
	{"hash odd", `{"msg_hash_list":["abc"]}`, false},
	{"string null entries", `{"node_ids":[null,"a"]}`, true},
	{"string number", `{"group_id":5}`, false},
	{"bool string", `{"extra":{"is_loop":"true"}}`, true},
	{"raw messages", `{"transaction":{"destination":{"contract_param":{"b":[1,"<&>"],"a":null},"structured_data":null}}}`, true},
	{"pointer null", `{"transaction":{"destination":{"account_output":null,"calldata_info":{"proxy":true}}}}`, true},
	{"embedded details string", `{"to_address_details":"[{\"to_address\":\"a\",\"amount\":\"1\"}]"}`, true},
	{"embedded details spaced", `{"to_address_details":" [ ] "}`, true},
	{"embedded details empty", `{"to_address_details":"","extra_parameters":"null"}`, true},
	{"embedded details bare null", `{"to_address_details":" null "}`, false},
	{"embedded details array", `{"to_address_details":[{"to_address":"a"}]}`, true},
	{"embedded details object", `{"to_address_details":"{\"to_address\":\"a\"}"}`, false},
	{"embedded details bad", `{"to_address_details":"nope"}`, false},
	{"embedded details folded", `{"to_address_details":"[{\"TO_ADDRESS\":\"a\"}]"}`, false},
	{"embedded params object", `{"extra_parameters":{"inputs_to_spend":[{"tx_hash":"h","vout_n":"1"}]}}`, true},
	{"embedded params string", `{"extra_parameters":"{\"inputs_to_exclude\":[]}"}`, true},
	{"embedded params number", `{"extra_parameters":3}`, false},
	{"folded name", `{"GROUP_ID":"g"}`, false},
	{"folded nested", `{"org":{"Org_ID":"o"}}`, false},
	{"unknown members", `{"zzz":[1,{"a":2}],"threshold":3}`, true},
	// Known members are read field by field; the others are looked at
	// only for names that fold to a field's, wherever they stand.
	{"folded beside known", `{"group_id":"g","Root_Pub_Key":"r","task_id":"t"}`, false},
	{"folded beside unknown", `{"zzz":1,"group_id":"g","TASK_ID":"t"}`, false},
	{"unknown beside all known", `{"org":{"org_id":"o","name":"n","biz_org_id":1,"created_timestamp":2,"zzz":3}}`, true},
	{"folded beside the rest known", `{"org":{"org_id":"o","biz_org_id":1,"created_timestamp":2,"NAME":"n"}}`, false},
	{"wrong kinds", `{"org":[],"node_ids":{},"transaction":"x"}`, false},
}

func TestTreeDecodeMatchesExact(t *testing.T) {
	types := partTypes(t)
	for _, tc := range treeCases {
		t.Run(tc.name, func(t *testing.T) {
			parsed, err := parseJSON([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			obj := parsed.(map[string]any)
			anyFast := false
			for _, ty := range types {
				if sameTyped(t, obj, ty) {
					anyFast = true
				}
			}
			if tc.fast && !anyFast {
				t.Errorf("no part type took the fast path")
			}
		})
	}
}

func FuzzTreeDecode(f *testing.F) {
	for _, tc := range treeCases {
		f.Add([]byte(tc.json))
	}
	for _, v := range []Version{V1, V2} {
		for _, typ := range []RequestType{TypeKeyGen, TypeKeySign, TypeKeyReshare, TypeKeyShareSign} {
			detail, extra, err := Sample(v, typ)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(detail)
			f.Add(extra)
		}
	}
	types := partTypes(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := parseJSON(data)
		if err != nil {
			return
		}
		obj, ok := parsed.(map[string]any)
		if !ok {
			return
		}
		for _, ty := range types {
			sameTyped(t, obj, ty)
		}
	})
}

// The premise of the raw-message rule: json.Unmarshal into a RawMessage
// field keeps "null" for null, as decodeTree does.
func TestRawMessageNull(t *testing.T) {
	var v struct {
		R json.RawMessage `json:"r"`
	}
	if err := json.Unmarshal([]byte(`{"r":null}`), &v); err != nil || string(v.R) != "null" {
		t.Fatalf("RawMessage from null = %q, %v", v.R, err)
	}
}

// Requirement 3 of issue 10: decoding a full KEYSIGN parses once. Before
// the one-pass reader and decodeTree, a v2 KEYSIGN took about 2,540
// allocations and a v1 one about 790; the budgets leave room for the
// race detector and small changes, not for a second decode.
func TestDecodeAllocationBudget(t *testing.T) {
	cases := []struct {
		name   string
		v      Version
		budget float64
	}{
		{"v2 KEYSIGN", V2, 250},
		{"v1 KEYSIGN", V1, 140},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := samplePackage(t, tc.v, TypeKeySign, "budget-1")
			allocs := testing.AllocsPerRun(20, func() {
				if _, err := Decode(tc.v, data); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > tc.budget {
				t.Errorf("Decode allocates %.0f times, budget %.0f", allocs, tc.budget)
			}
			t.Logf("%.0f allocations", allocs)
		})
	}
}
